// gRPC's log lines to the daemon's logger (grpc_logs.h).
#include "grpc_ingest/grpc_logs.h"

#include <grpc/support/log.h>

#include <atomic>
#include <string>

namespace mg::grpc_ingest {

namespace {

// gRPC's hook is a plain function pointer without a user argument.
std::atomic<grpc_log_sink> g_sink{nullptr};

void on_grpc_log(gpr_log_func_args* args) {
    const auto sink = g_sink.load(std::memory_order_acquire);
    if (sink == nullptr) return;
    const std::string where =
        std::string(args->file ? args->file : "?") + ":" + std::to_string(args->line);
    sink(args->severity == GPR_LOG_SEVERITY_ERROR, args->message ? args->message : "", where);
}

}  // namespace

void route_grpc_logs(grpc_log_sink sink) {
    g_sink.store(sink, std::memory_order_release);
    gpr_set_log_function(on_grpc_log);
}

}  // namespace mg::grpc_ingest
