#include "protocol/rpc_status.h"

#include <algorithm>

#include "protocol/wire.h"

namespace mg::protocol {

namespace {

// google.rpc.Status
constexpr std::uint32_t k_status_code = 1, k_status_message = 2, k_status_details = 3;
// google.protobuf.Any
constexpr std::uint32_t k_any_type_url = 1, k_any_value = 2;
// google.rpc.RetryInfo
constexpr std::uint32_t k_retry_delay = 1;
// google.protobuf.Duration
constexpr std::uint32_t k_duration_seconds = 1, k_duration_nanos = 2;

bool decode_duration(std::string_view bytes, std::chrono::nanoseconds& out) {
    wire_reader r(bytes);
    wire_field f;
    std::int64_t seconds = 0, nanos = 0;
    while (r.next(f)) {
        if (f.type != wire_type::varint) continue;
        if (f.number == k_duration_seconds) seconds = f.as_int64();
        if (f.number == k_duration_nanos) nanos = static_cast<std::int32_t>(f.value);
    }
    if (r.error() != nullptr) return false;
    // Bounded before converting (no overflow from a hostile value); no negative wait.
    constexpr std::int64_t k_max_seconds = 365LL * 24 * 3600;
    seconds = std::clamp<std::int64_t>(seconds, 0, k_max_seconds);
    out = std::max<std::chrono::nanoseconds>(
        std::chrono::seconds(seconds) + std::chrono::nanoseconds(nanos),
        std::chrono::nanoseconds(0));
    return true;
}

bool is_retry_info(std::string_view type_url) {
    const auto slash = type_url.rfind('/');
    return type_url.substr(slash == std::string_view::npos ? 0 : slash + 1) ==
           "google.rpc.RetryInfo";
}

}  // namespace

std::string encode_retry_status(int code, std::string_view message,
                                std::chrono::nanoseconds retry_delay) {
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(retry_delay);
    std::string duration;
    wire_writer d(duration);
    if (seconds.count() != 0) d.int64_field(k_duration_seconds, seconds.count());
    if (const auto nanos = (retry_delay - seconds).count(); nanos != 0)
        d.varint_field(k_duration_nanos, static_cast<std::uint64_t>(nanos));
    std::string retry_info;
    wire_writer(retry_info).bytes_field(k_retry_delay, duration);
    std::string any;
    wire_writer a(any);
    a.bytes_field(k_any_type_url, k_retry_info_type);
    a.bytes_field(k_any_value, retry_info);

    std::string out;
    wire_writer w(out);
    if (code != 0) w.varint_field(k_status_code, static_cast<std::uint64_t>(code));
    if (!message.empty()) w.bytes_field(k_status_message, message);
    w.bytes_field(k_status_details, any);
    return out;
}

bool decode_retry_status(std::string_view bytes, retry_status& out) {
    out = retry_status{};
    wire_reader r(bytes);
    wire_field f;
    while (r.next(f)) {
        if (f.number == k_status_code && f.type == wire_type::varint) {
            out.code = static_cast<int>(f.value);
        } else if (f.number == k_status_message && f.type == wire_type::len) {
            out.message = std::string(f.bytes);
        } else if (f.number == k_status_details && f.type == wire_type::len) {
            wire_reader any(f.bytes);
            wire_field g;
            std::string_view type_url, value;
            while (any.next(g)) {
                if (g.type != wire_type::len) continue;
                if (g.number == k_any_type_url) type_url = g.bytes;
                if (g.number == k_any_value) value = g.bytes;
            }
            if (any.error() != nullptr) return false;
            if (out.has_retry_info || !is_retry_info(type_url)) continue;
            wire_reader info(value);
            out.has_retry_info = true;  // a RetryInfo without a delay: retry at once
            while (info.next(g)) {
                if (g.number != k_retry_delay || g.type != wire_type::len) continue;
                if (!decode_duration(g.bytes, out.retry_delay)) return false;
            }
            if (info.error() != nullptr) return false;
        }
    }
    return r.error() == nullptr;
}

}  // namespace mg::protocol
