#include "grpc_ingest/grpc_logs.h"

#include <grpc/support/log.h>

#include <string>

#include "logging/log.h"

namespace mg::grpc_ingest {

namespace {

void on_grpc_log(gpr_log_func_args* args) {
    const std::string where =
        std::string(args->file ? args->file : "?") + ":" + std::to_string(args->line);
    const char* msg = args->message ? args->message : "";
    if (args->severity == GPR_LOG_SEVERITY_ERROR) {
        // Not an error of ours: a peer's failed handshake or a dropped connection lands here.
        logging::warn("grpc", {{"message", msg}, {"source", where}});
    } else {
        logging::debug("grpc", {{"message", msg}, {"source", where}});
    }
}

}  // namespace

void route_grpc_logs() {
    gpr_set_log_function(on_grpc_log);
}

}  // namespace mg::grpc_ingest
