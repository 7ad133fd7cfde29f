// grpc_codes: gRPC status codes by name, as gRPC spells them ("UNAVAILABLE"), for the `code`
// label of the request metrics of both gRPC ends: the OTLP/gRPC receiver (grpc_ingest) and the
// OTLP/gRPC exporter (export). The numbers are gRPC's wire values (0..16), so neither side needs
// the other's gRPC types to name them.
//
// Pure function; thread-safe.
#pragma once

#include <string>

namespace mg::protocol {

// "OK" .. "UNAUTHENTICATED" for 0..16; "CODE_<n>" for any other number (a peer's unknown code).
std::string grpc_code_name(int code);

}  // namespace mg::protocol
