#include "limits/tenant_escape.h"

#include "limits/cluster_port.h"

namespace mg::limits {

namespace {

constexpr char k_hex[] = "0123456789ABCDEF";

bool plain(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;  // lowercase is not canonical
}

}  // namespace

std::string escape_tenant(std::string_view tenant) {
    std::string out;
    out.reserve(tenant.size());
    for (const char ch : tenant) {
        const auto c = static_cast<unsigned char>(ch);
        if (plain(c)) {
            out += ch;
        } else {
            out += '%';
            out += k_hex[c >> 4];
            out += k_hex[c & 0xF];
        }
    }
    return out;
}

std::optional<std::string> unescape_tenant(std::string_view escaped) {
    std::string out;
    out.reserve(escaped.size());
    for (std::size_t i = 0; i < escaped.size(); ++i) {
        const auto c = static_cast<unsigned char>(escaped[i]);
        if (plain(c)) {
            out += escaped[i];
            continue;
        }
        if (c != '%' || i + 2 >= escaped.size()) return std::nullopt;
        const int hi = hex_value(escaped[i + 1]);
        const int lo = hex_value(escaped[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        const auto byte = static_cast<unsigned char>(hi << 4 | lo);
        if (plain(byte)) return std::nullopt;  // one spelling per tenant
        out += static_cast<char>(byte);
        i += 2;
    }
    return out;
}

std::string tenant_tracker_name(std::string_view tenant, std::string name) {
    if (tenant.empty()) return name;
    std::string out = "\x1e";
    out += escape_tenant(tenant);
    out += '\x1e';
    out += name;
    return out;
}

}  // namespace mg::limits
