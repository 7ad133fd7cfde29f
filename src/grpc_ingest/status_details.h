// status_details: the bytes of gRPC's `grpc-status-details-bin` trailer for an OTLP/gRPC answer
// that asks the sender to come back later: a google.rpc.Status holding one google.rpc.RetryInfo
// (the OTLP spec's "OTLP/gRPC Throttling": RESOURCE_EXHAUSTED is retried only when the server
// says how long to wait). Encoded with our own protobuf writer (protocol/wire.h), so no
// generated code. Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace mg::grpc_ingest {

inline constexpr std::string_view k_retry_info_type = "type.googleapis.com/google.rpc.RetryInfo";

// google.rpc.Status{code, message, details: [Any{RetryInfo{retry_delay}}]}.
std::string encode_retry_status(int code, std::string_view message,
                                std::chrono::nanoseconds retry_delay);

// What a google.rpc.Status says, for tests and clients: its code, message and, when one of its
// details is a RetryInfo, the delay. False when the bytes do not decode.
struct retry_status {
    int code = 0;
    std::string message;
    bool has_retry_info = false;
    std::chrono::nanoseconds retry_delay{0};
};
bool decode_retry_status(std::string_view bytes, retry_status& out);

}  // namespace mg::grpc_ingest
