// grpc_logs: the gRPC runtime's own log lines (a failed TLS handshake, a refused connection, an
// internal error) as the daemon's structured log lines instead of gRPC's plain text on stderr, so
// a JSON log stays one JSON object per line. gRPC's log hook is process-wide: the receiver and the
// OTLP/gRPC exporter's client both write through it. Each line goes to `sink` (the daemon's
// logger, outside the plugin): gRPC's errors with error=true (the daemon logs them as warnings: a
// peer's failed handshake is not an error of ours), its info and debug lines with error=false.
//
// Threading: call once at startup, before any gRPC object exists; the hook runs on any gRPC
// thread, so the sink must be thread-safe.
#pragma once

#include <string_view>

namespace mg::grpc_ingest {

using grpc_log_sink = void (*)(bool error, std::string_view message, std::string_view source);

void route_grpc_logs(grpc_log_sink sink);

}  // namespace mg::grpc_ingest
