// grpc_codes: gRPC status codes as numbers (grpc_code, gRPC's wire values, the numbers of
// grpc::StatusCode) and by name, as gRPC spells them ("UNAVAILABLE"), for the `code` label of the
// request metrics of both gRPC ends: the OTLP/gRPC receiver (grpc_ingest, through
// ingest/grpc_port.h) and the OTLP/gRPC exporter (export). So neither the daemon nor the gRPC
// plugin needs the other's types to say a status. The enum is header-only: the plugin uses it
// without linking this module.
//
// Pure function; thread-safe.
#pragma once

#include <string>

namespace mg::protocol {

enum class grpc_code : int {
    ok = 0,
    cancelled = 1,
    invalid_argument = 3,
    deadline_exceeded = 4,
    resource_exhausted = 8,
    aborted = 10,
    out_of_range = 11,
    unimplemented = 12,
    internal = 13,
    unavailable = 14,
    data_loss = 15,
    unauthenticated = 16,
};

// "OK" .. "UNAUTHENTICATED" for 0..16; "CODE_<n>" for any other number (a peer's unknown code).
std::string grpc_code_name(int code);

}  // namespace mg::protocol
