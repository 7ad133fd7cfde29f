#include "protocol/grpc_codes.h"

#include <array>
#include <string_view>

namespace mg::protocol {

namespace {

constexpr std::array<std::string_view, 17> k_names = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

}  // namespace

std::string grpc_code_name(int code) {
    if (code >= 0 && code < static_cast<int>(k_names.size())) {
        return std::string(k_names[static_cast<std::size_t>(code)]);
    }
    return "CODE_" + std::to_string(code);
}

}  // namespace mg::protocol
