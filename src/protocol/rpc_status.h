// rpc_status: the bytes of gRPC's `grpc-status-details-bin` trailer, a google.rpc.Status, as far
// as OTLP uses it: RESOURCE_EXHAUSTED is retried only when the server says how long to wait, in a
// google.rpc.RetryInfo detail (the OTLP spec's "OTLP/gRPC Throttling"). The receiver writes one
// (encode_retry_status); the exporter reads the delay from a backend's answer and the tests read
// back what the receiver wrote (decode_retry_status). Our own protobuf reader and writer
// (wire.h): no generated code. Field numbers from googleapis google/rpc/status.proto and
// error_details.proto, protobuf any.proto and duration.proto.
//
// Pure functions; thread-safe. The bytes come from the network: any input decodes or is refused,
// never more.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace mg::protocol {

inline constexpr std::string_view k_retry_info_type = "type.googleapis.com/google.rpc.RetryInfo";

// google.rpc.Status{code, message, details: [Any{RetryInfo{retry_delay}}]}.
std::string encode_retry_status(int code, std::string_view message,
                                std::chrono::nanoseconds retry_delay);

// What a google.rpc.Status says: its code, its message and, when one of its details is a
// RetryInfo (an Any whose type URL ends in "/google.rpc.RetryInfo"; the first one counts), the
// delay: clamped to [0, one year], 0 when the RetryInfo has none (retry at once). False when the
// bytes do not decode.
struct retry_status {
    int code = 0;
    std::string message;
    bool has_retry_info = false;
    std::chrono::nanoseconds retry_delay{0};
};
bool decode_retry_status(std::string_view bytes, retry_status& out);

}  // namespace mg::protocol
