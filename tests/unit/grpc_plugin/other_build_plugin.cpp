// A gRPC plugin "of another build": the entry point, with another abi (plugin_loader_test.cpp).
#include "grpc_plugin/plugin_api.h"

extern "C" __attribute__((visibility("default"))) const mg::grpc_plugin::api*
metrics_governor_grpc_plugin() {
    static const mg::grpc_plugin::api api{.abi = mg::grpc_plugin::k_abi + 1,
                                          .layout = mg::grpc_plugin::k_layout};
    return &api;
}
