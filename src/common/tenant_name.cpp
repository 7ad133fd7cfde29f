// The rules of tenant strings and tenant header names (tenant_name.h).
#include "common/tenant_name.h"

#include <array>

#include "common/strings.h"

namespace mg {

namespace {

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing past U+10FFFF.
bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    while (i < s.size()) {
        const unsigned char c = byte(i);
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t n = 0;
        unsigned lo = 0x80, hi = 0xBF;  // bounds of the second byte
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else {
            return false;
        }
        if (i + n >= s.size()) return false;  // truncated sequence
        if (byte(i + 1) < lo || byte(i + 1) > hi) return false;
        for (std::size_t k = 2; k <= n; ++k) {
            if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return false;
        }
        i += n + 1;
    }
    return true;
}

}  // namespace

std::string tenant_problem(std::string_view tenant, std::size_t max_length) {
    if (tenant.empty()) return "the tenant is empty";
    if (tenant.size() > max_length) {
        return "the tenant is " + std::to_string(tenant.size()) + " bytes long; at most " +
               std::to_string(max_length) + " (tenancy.max_tenant_length)";
    }
    if (!valid_utf8(tenant)) return "the tenant is not valid UTF-8";
    for (const char ch : tenant) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7F) return "the tenant has a control character";
        if (c == '/' || c == '\\') return "the tenant has a path separator ('/' or '\\')";
    }
    if (tenant == "." || tenant == "..") return "the tenant cannot be \".\" or \"..\"";
    return {};
}

std::string tenant_header_problem(std::string_view name) {
    if (name.empty()) return "the header name is empty";
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
        if (!ok) return "a header name has only letters, digits, '-', '_' and '.'";
    }
    // Set by the proxy, the HTTP client or gRPC on every request: a tenant there would either be
    // overwritten or break the request.
    static constexpr std::array<std::string_view, 10> k_reserved = {
        "authorization", "content-type",      "content-encoding", "content-length", "host", "te",
        "user-agent",    "transfer-encoding", "connection",       "accept-encoding"};
    const auto l = lower(name);
    for (const auto r : k_reserved) {
        if (l == r) return "\"" + std::string(name) + "\" is a header the proxy sets itself";
    }
    if (l.rfind("grpc-", 0) == 0) return "grpc-* names are gRPC's own";
    return {};
}

}  // namespace mg
