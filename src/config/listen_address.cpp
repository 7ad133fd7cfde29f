#include "config/listen_address.h"

#include <algorithm>
#include <cctype>

namespace mg::config {

namespace {

error not_an_address(std::string_view text, std::string_view why) {
    return make_error("\"" + std::string(text) + "\" is not a listen address; want " +
                      std::string(k_listen_address_forms) + " (" + std::string(why) + ")");
}

bool is_host_char(char c) {
    auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) != 0 || c == '.' || c == '-' || c == '_';
}

bool is_ipv6_char(char c) {
    // Hex groups, ':' and '.', and a zone after '%' (fe80::1%eth0).
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '.' || c == '%';
}

}  // namespace

result<host_port> parse_listen_address(std::string_view text) {
    std::string_view host;
    std::string_view port;
    host_port out;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos) return not_an_address(text, "unclosed '['");
        host = text.substr(1, close - 1);
        if (host.empty() || !std::all_of(host.begin(), host.end(), is_ipv6_char)) {
            return not_an_address(text, "bad IPv6 address");
        }
        if (close + 1 >= text.size() || text[close + 1] != ':') {
            return not_an_address(text, "missing port");
        }
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return not_an_address(text, "missing port");
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) {
            return not_an_address(text, "an IPv6 host needs brackets, e.g. [::1]:9090");
        }
        if (!std::all_of(host.begin(), host.end(), is_host_char)) {
            return not_an_address(text, "bad host");
        }
    }
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c)) != 0;
        })) {
        return not_an_address(text, "the port must be a number from 0 to 65535");
    }
    unsigned long value = std::stoul(std::string(port));
    if (value > 65535) return not_an_address(text, "the port must be a number from 0 to 65535");
    out.host = std::string(host);
    out.port = static_cast<std::uint16_t>(value);
    return out;
}

}  // namespace mg::config
