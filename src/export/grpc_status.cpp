#include "export/grpc_status.h"

#include <algorithm>
#include <cctype>

#include "protocol/grpc_codes.h"
#include "protocol/otlp.h"
#include "protocol/wire.h"

namespace mg::exporter {

namespace {

namespace pr = protocol;

// grpc::StatusCode's numbers, fixed by the gRPC protocol.
enum : int {
    k_ok = 0,
    k_cancelled = 1,
    k_deadline_exceeded = 4,
    k_resource_exhausted = 8,
    k_aborted = 10,
    k_out_of_range = 11,
    k_unavailable = 14,
    k_data_loss = 15,
};

bool retryable(int code) {
    return code == k_cancelled || code == k_deadline_exceeded || code == k_aborted ||
           code == k_out_of_range || code == k_unavailable || code == k_data_loss;
}

bool contains_nocase(std::string_view text, std::string_view what) {
    return std::search(text.begin(), text.end(), what.begin(), what.end(), [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) == b;
           }) != text.end();
}

// The messages gRPC servers give a message over their receive limit (see the header).
bool says_too_large(std::string_view message) {
    return contains_nocase(message, "larger than max") ||
           contains_nocase(message, "exceeds maximum size");
}

// google.protobuf.Duration {int64 seconds = 1; int32 nanos = 2;}
std::optional<std::chrono::nanoseconds> read_duration(pr::bytes_view bytes) {
    pr::wire_reader r(bytes);
    pr::wire_field f;
    std::int64_t seconds = 0;
    std::int64_t nanos = 0;
    while (r.next(f)) {
        if (f.type != pr::wire_type::varint) continue;
        if (f.number == 1) seconds = f.as_int64();
        if (f.number == 2) nanos = static_cast<std::int32_t>(f.value);
    }
    if (r.error() != nullptr) return std::nullopt;
    // Bounded before multiplying: delivery caps any delay at minutes anyway.
    constexpr std::int64_t k_max_seconds = 365LL * 24 * 3600;
    seconds = std::clamp<std::int64_t>(seconds, 0, k_max_seconds);
    const auto d = std::chrono::seconds(seconds) + std::chrono::nanoseconds(nanos);
    return std::max<std::chrono::nanoseconds>(d, std::chrono::nanoseconds(0));
}

}  // namespace

std::optional<std::chrono::nanoseconds> grpc_retry_delay(std::string_view status_details) {
    // google.rpc.Status {int32 code = 1; string message = 2; repeated google.protobuf.Any
    // details = 3;} and Any {string type_url = 1; bytes value = 2;}
    pr::wire_reader status(status_details);
    pr::wire_field f;
    while (status.next(f)) {
        if (f.number != 3 || f.type != pr::wire_type::len) continue;
        pr::wire_reader any(f.bytes);
        pr::wire_field a;
        std::string_view type_url;
        std::string_view value;
        while (any.next(a)) {
            if (a.type != pr::wire_type::len) continue;
            if (a.number == 1) type_url = a.bytes;
            if (a.number == 2) value = a.bytes;
        }
        if (any.error() != nullptr) return std::nullopt;
        constexpr std::string_view k_retry_info = "google.rpc.RetryInfo";
        const auto slash = type_url.rfind('/');
        if (type_url.substr(slash == std::string_view::npos ? 0 : slash + 1) != k_retry_info)
            continue;
        // RetryInfo {google.protobuf.Duration retry_delay = 1;}
        pr::wire_reader info(value);
        pr::wire_field d;
        while (info.next(d)) {
            if (d.number == 1 && d.type == pr::wire_type::len) return read_duration(d.bytes);
        }
        if (info.error() != nullptr) return std::nullopt;
        return std::chrono::nanoseconds(0);  // RetryInfo without a delay: retry at once
    }
    return std::nullopt;
}

send_outcome classify_grpc(int code, std::string_view message, std::string_view status_details,
                           std::string_view response) {
    send_outcome r;
    r.code = pr::grpc_code_name(code);
    r.message = std::string(message);
    if (code == k_ok) {
        r.what = send_outcome::verdict::delivered;
        pr::otlp_partial_success partial;
        if (!response.empty() && pr::decode_otlp_response_protobuf(response, partial).ok()) {
            // A negative count (a broken backend) would run the logged total backwards.
            r.rejected_points = std::max<std::int64_t>(0, partial.rejected_data_points);
            r.rejected_message = std::move(partial.error_message);
        }
        return r;
    }
    std::string reason = r.code;
    std::transform(reason.begin(), reason.end(), reason.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    r.error_reason = "grpc_" + reason;
    const auto delay = grpc_retry_delay(status_details);
    if (retryable(code)) {
        r.what = send_outcome::verdict::retry;
        r.retry_after = delay;
    } else if (code == k_resource_exhausted && delay) {
        r.what = send_outcome::verdict::retry;
        r.retry_after = delay;
    } else if (code == k_resource_exhausted && says_too_large(message)) {
        r.what = send_outcome::verdict::too_large;
    } else {
        r.what = send_outcome::verdict::rejected;
    }
    return r;
}

}  // namespace mg::exporter
