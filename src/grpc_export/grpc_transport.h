// grpc_transport: the transport (export/transport.h) of -exporter-protocol=otlp-grpc, built into
// the gRPC plugin (src/grpc_plugin); the exporter gets it through a grpc_transport_factory
// (export/grpc_transport_options.h). Each payload (an OTLP ExportMetricsServiceRequest in
// protobuf, the bytes the otlp protocol sends over HTTP) is one unary call of
// /opentelemetry.proto.collector.metrics.v1.MetricsService/Export through grpc::GenericStub, on one
// gRPC channel (HTTP/2: every lane's call in flight shares it, and gRPC reconnects within it). Each
// call has a deadline of -exporter-timeout, gzip message compression (as OTLP/HTTP always gzips),
// the upstream's metadata (auth, -exporter-headers) and the payload's tenant under tenant_key (a
// tenant that is not printable ASCII cannot be metadata: such a payload is rejected, reason
// tenant).
//
// Endpoint and TLS: http://host:port is plaintext, https://host:port TLS with
// grpc::SslCredentials (the CA file, else gRPC's default roots; the client certificate and key
// for mutual TLS). insecure_skip_verify uses gRPC's experimental TLS credentials with server
// certificate verification off.
//
// Threading: gRPC completes calls on its own threads; each completion is posted to the strand
// (options.post), where the callback runs, so the transport's set of calls in flight is
// strand-only. The answer is classified by options.classify (export/grpc_status.h).
// Ownership: as transport.h. gRPC types stay inside grpc_transport.cpp.
#pragma once

#include <memory>

#include "common/result.h"
#include "export/grpc_transport_options.h"

namespace mg::exporter {

// Fails when a TLS file cannot be read (the message names the flag and the path).
result<std::unique_ptr<transport>> make_grpc_transport(grpc_transport_options options);

}  // namespace mg::exporter
