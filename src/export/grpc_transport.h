// grpc_transport: the transport (transport.h) of -exporter-protocol=otlp-grpc. Each payload (an
// OTLP ExportMetricsServiceRequest in protobuf, the bytes the otlp protocol sends over HTTP) is
// one unary call of /opentelemetry.proto.collector.metrics.v1.MetricsService/Export through
// grpc::GenericStub, on one gRPC channel (HTTP/2: every lane's call in flight shares it, and gRPC
// reconnects within it). Each call has a deadline of -exporter-timeout, gzip message compression
// (as OTLP/HTTP always gzips), the upstream's metadata (auth, -exporter-headers) and the
// payload's tenant under tenant_key (a tenant that is not printable ASCII cannot be metadata: such
// a payload is rejected, reason tenant). The answer is classified by grpc_status.h.
//
// Endpoint and TLS: http://host:port is plaintext, https://host:port TLS with
// grpc::SslCredentials (the CA file, else gRPC's default roots; the client certificate and key
// for mutual TLS). insecure_skip_verify uses gRPC's experimental TLS credentials with server
// certificate verification off.
//
// Threading: gRPC completes calls on its own threads; each completion is posted to the strand,
// where the callback runs, so the transport's set of calls in flight is strand-only.
// Ownership: as transport.h. gRPC types stay inside grpc_transport.cpp.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/result.h"
#include "export/endpoint.h"
#include "export/http_client.h"
#include "export/transport.h"

namespace mg::exporter {

struct grpc_transport_options {
    client_options client;  // the target (its path unused), the call deadline, the TLS files
    header_list metadata;   // every call's (upstream.h)
    // The metadata key carrying each payload's tenant (lower-cased here); empty: none.
    std::string tenant_key;
    // The channel's own reconnect backoff after a failed connect (gRPC's defaults reach two
    // minutes; the exporter's retry backoff bounds it instead, so a backend back up is seen
    // within -exporter-retry-backoff-max).
    std::chrono::nanoseconds reconnect_base = std::chrono::milliseconds(100);
    std::chrono::nanoseconds reconnect_max = std::chrono::seconds(30);
};

// Fails when a TLS file cannot be read (the message names the flag and the path).
result<std::unique_ptr<transport>> make_grpc_transport(http_client::strand strand,
                                                       grpc_transport_options options);

}  // namespace mg::exporter
