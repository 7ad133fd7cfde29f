// grpc_logs: the gRPC runtime's own log lines (a failed TLS handshake, a refused connection, an
// internal error) as our structured log lines instead of gRPC's plain text on stderr, so a JSON
// log stays one JSON object per line. gRPC's log hook is process-wide: the receiver and the
// OTLP/gRPC exporter's client both write through it. Its errors become warnings ("grpc" with the
// message and gRPC's source location), its info and debug lines debug.
//
// Threading: call once at startup, before any gRPC object exists; the hook itself runs on any
// gRPC thread and only calls the thread-safe logger.
#pragma once

namespace mg::grpc_ingest {

void route_grpc_logs();

}  // namespace mg::grpc_ingest
