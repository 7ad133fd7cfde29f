#include "config/listen_address.h"

#include <algorithm>
#include <cctype>

namespace mg::config {

namespace {

bool is_host_char(char c) {
    auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) != 0 || c == '.' || c == '-' || c == '_';
}

bool is_ipv6_char(char c) {
    // Hex groups, ':' and '.', and a zone after '%' (fe80::1%eth0).
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '.' || c == '%';
}

// The host:port split both forms share. On failure: the reason alone ("missing port"); the
// callers add the text and the form they accept.
result<host_port> split_host_port(std::string_view text) {
    std::string_view host;
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos) return make_error("unclosed '['");
        host = text.substr(1, close - 1);
        if (host.empty() || !std::all_of(host.begin(), host.end(), is_ipv6_char)) {
            return make_error("bad IPv6 address");
        }
        if (close + 1 >= text.size() || text[close + 1] != ':') {
            return make_error("missing port");
        }
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return make_error("missing port");
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) {
            return make_error("an IPv6 host needs brackets, e.g. [::1]:9090");
        }
        if (!std::all_of(host.begin(), host.end(), is_host_char)) {
            return make_error("bad host");
        }
    }
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c)) != 0;
        })) {
        return make_error("the port must be a number from 0 to 65535");
    }
    unsigned long value = std::stoul(std::string(port));
    if (value > 65535) return make_error("the port must be a number from 0 to 65535");
    host_port out;
    out.host = std::string(host);
    out.port = static_cast<std::uint16_t>(value);
    return out;
}

error not_a(std::string_view text, std::string_view what, std::string_view forms,
            std::string_view why) {
    return make_error("\"" + std::string(text) + "\" is not " + std::string(what) + "; want " +
                      std::string(forms) + " (" + std::string(why) + ")");
}

}  // namespace

result<host_port> parse_listen_address(std::string_view text) {
    auto r = split_host_port(text);
    if (!r) return not_a(text, "a listen address", k_listen_address_forms, r.error_message());
    return r;
}

result<host_port> parse_server_address(std::string_view text) {
    constexpr std::string_view what = "a server address";
    auto r = split_host_port(text);
    if (!r) return not_a(text, what, k_server_address_forms, r.error_message());
    if (r->host.empty()) return not_a(text, what, k_server_address_forms, "missing host");
    if (r->port == 0) {
        return not_a(text, what, k_server_address_forms, "the port must be from 1 to 65535");
    }
    return r;
}

}  // namespace mg::config
