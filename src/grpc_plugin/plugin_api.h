// plugin_api: the one symbol of the gRPC plugin (metrics-governor-grpc.so) and what it gives the
// daemon. OTLP/gRPC (the listener, src/grpc_ingest; the exporter's transport, src/grpc_export)
// lives in this plugin, which the daemon loads (plugin_loader.h) only when -grpc-listen or
// -exporter-protocol=otlp-grpc asks for it: gRPC and its ~30 libraries then cost a process that
// does not use them nothing, neither start-up nor resident memory (docs/architecture.md, "The gRPC
// plugin").
//
// The edge: the plugin links none of the daemon's code, and the daemon none of gRPC. Across it go
// only plain values, std types and objects behind virtual interfaces made on one side and called
// from the other (grpc_ingest_port, grpc_listener, transport), so neither side's Asio, allocator
// state or globals are shared or duplicated. Both are built from one tree by one compiler, so the
// C++ types agree; `abi` and `layout` refuse a plugin of another build.
//
// Threading: get the api once at start-up; its functions are thread-safe as their results say.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/result.h"
#include "export/grpc_transport_options.h"
#include "grpc_ingest/grpc_listener.h"
#include "grpc_ingest/grpc_logs.h"
#include "ingest/grpc_port.h"

namespace mg::grpc_plugin {

// Raised when a function's signature or meaning changes.
inline constexpr std::uint32_t k_abi = 1;

// A fingerprint of the types that cross the edge: a plugin of another build that changed one of
// them is refused rather than misread.
inline constexpr std::size_t k_layout =
    sizeof(grpc_ingest::grpc_options) * 1000003 + sizeof(exporter::grpc_transport_options) * 1009 +
    sizeof(ingest::grpc_answer) * 31 + sizeof(exporter::send_outcome);

struct api {
    std::uint32_t abi = 0;
    std::size_t layout = 0;
    // gRPC's own log lines to `sink` (grpc_logs.h); before any listener or transport.
    void (*route_logs)(grpc_ingest::grpc_log_sink sink) = nullptr;
    // The OTLP/gRPC listener (grpc_listener.h); `port` must outlive it.
    std::unique_ptr<grpc_ingest::grpc_listener> (*make_listener)(
        grpc_ingest::grpc_options options, ingest::grpc_ingest_port& port) = nullptr;
    // The OTLP/gRPC exporter's transport (export/grpc_transport_options.h).
    result<std::unique_ptr<exporter::transport>> (*make_transport)(
        exporter::grpc_transport_options options) = nullptr;
};

}  // namespace mg::grpc_plugin

// The plugin's entry point (plugin_entry.cpp); the loader looks it up by this name.
extern "C" const mg::grpc_plugin::api* metrics_governor_grpc_plugin();
inline constexpr const char* k_grpc_plugin_entry = "metrics_governor_grpc_plugin";
