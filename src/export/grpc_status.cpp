#include "export/grpc_status.h"

#include <algorithm>
#include <cctype>

#include "protocol/grpc_codes.h"
#include "protocol/otlp.h"
#include "protocol/rpc_status.h"
#include "protocol/wire.h"

namespace mg::exporter {

namespace {

namespace pr = protocol;

// grpc::StatusCode's numbers, fixed by the gRPC protocol.
constexpr int code_of(pr::grpc_code c) {
    return static_cast<int>(c);
}
constexpr int k_ok = code_of(pr::grpc_code::ok);
constexpr int k_cancelled = code_of(pr::grpc_code::cancelled);
constexpr int k_deadline_exceeded = code_of(pr::grpc_code::deadline_exceeded);
constexpr int k_resource_exhausted = code_of(pr::grpc_code::resource_exhausted);
constexpr int k_aborted = code_of(pr::grpc_code::aborted);
constexpr int k_out_of_range = code_of(pr::grpc_code::out_of_range);
constexpr int k_unavailable = code_of(pr::grpc_code::unavailable);
constexpr int k_data_loss = code_of(pr::grpc_code::data_loss);

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

}  // namespace

std::optional<std::chrono::nanoseconds> grpc_retry_delay(std::string_view status_details) {
    pr::retry_status st;
    if (!pr::decode_retry_status(status_details, st) || !st.has_retry_info) return std::nullopt;
    return st.retry_delay;
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
