// The gRPC plugin's entry point (plugin_api.h): built into metrics-governor-grpc.so only.
#include "grpc_export/grpc_transport.h"
#include "grpc_ingest/grpc_logs.h"
#include "grpc_ingest/grpc_receiver.h"
#include "grpc_plugin/plugin_api.h"

namespace {

std::unique_ptr<mg::grpc_ingest::grpc_listener> make_listener(mg::grpc_ingest::grpc_options options,
                                                              mg::ingest::grpc_ingest_port& port) {
    return std::make_unique<mg::grpc_ingest::grpc_receiver>(std::move(options), port);
}

}  // namespace

extern "C" __attribute__((visibility("default"))) const mg::grpc_plugin::api*
metrics_governor_grpc_plugin() {
    static const mg::grpc_plugin::api api{
        .abi = mg::grpc_plugin::k_abi,
        .layout = mg::grpc_plugin::k_layout,
        .route_logs = mg::grpc_ingest::route_grpc_logs,
        .make_listener = make_listener,
        .make_transport = mg::exporter::make_grpc_transport,
    };
    return &api;
}
