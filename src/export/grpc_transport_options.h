// grpc_transport_options: what the exporter hands the OTLP/gRPC transport
// (grpc_export/grpc_transport.h, built into the gRPC plugin) and how it gets one. The transport
// links nothing of the daemon: it reaches the exporter's strand, the answer's classification
// (grpc_status.h) and the gzip decoder through the functions given here, so no Asio and no code of
// the daemon crosses the plugin's edge.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "export/endpoint.h"
#include "export/http_client.h"
#include "export/transport.h"

namespace mg::exporter {

struct grpc_transport_options {
    client_options client;  // the target (its path unused), the call deadline, the TLS files
    header_list metadata;   // every call's (upstream.h)
    // The metadata key carrying each payload's tenant, in lower case; empty: none.
    std::string tenant_key;
    // The channel's own reconnect backoff after a failed connect (gRPC's defaults reach two
    // minutes; the exporter's retry backoff bounds it instead, so a backend back up is seen
    // within -exporter-retry-backoff-max).
    std::chrono::nanoseconds reconnect_base = std::chrono::milliseconds(100);
    std::chrono::nanoseconds reconnect_max = std::chrono::seconds(30);

    // Runs `f` on the exporter's strand (called from gRPC's threads).
    std::function<void(std::function<void()> f)> post;
    // The outcome of one call (grpc_status.h: classify_grpc).
    std::function<send_outcome(int code, std::string_view message, std::string_view details,
                               std::string_view response)>
        classify;
    // Inflates a gzip payload (a forwarded body or a split half) into `out`, bounded.
    std::function<status(std::string_view gzip, std::string& out)> gunzip;
};

// Makes the transport; fails when a TLS file cannot be read (the message names the flag and the
// path). The daemon's comes from the gRPC plugin; tests link make_grpc_transport.
using grpc_transport_factory =
    std::function<result<std::unique_ptr<transport>>(grpc_transport_options)>;

}  // namespace mg::exporter
