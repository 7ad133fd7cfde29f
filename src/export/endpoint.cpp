#include "export/endpoint.h"

#include <algorithm>
#include <charconv>

#include "common/redact.h"
#include "common/strings.h"

namespace mg::exporter {

namespace {

bool has_control(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    });
}

}  // namespace

result<endpoint> parse_endpoint(std::string_view url, std::string_view default_path) {
    endpoint ep;
    // Never the user info in a message: it may hold a password.
    // Appended piecewise: `"\"" + std::string(...)` trips GCC 12's -Wrestrict false positive at
    // -O3.
    std::string quoted(1, '"');
    quoted.append(redact_url_userinfo(url)).push_back('"');
    std::string_view rest;
    if (url.rfind("http://", 0) == 0) {
        rest = url.substr(7);
    } else if (url.rfind("https://", 0) == 0) {
        ep.tls = true;
        rest = url.substr(8);
    } else {
        return make_error(quoted + " is not an http:// or https:// URL");
    }
    if (has_control(url) || url.find(' ') != std::string_view::npos) {
        return make_error(quoted + " contains spaces or control characters");
    }
    if (rest.find('#') != std::string_view::npos) return make_error(quoted + " has a fragment");
    const auto slash = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, slash);
    std::string_view path =
        slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
    if (authority.find('@') != std::string_view::npos) {
        return make_error(quoted +
                          " has user info; use -exporter-basic-auth-username and -password");
    }
    if (authority.empty()) return make_error(quoted + " has no host");
    ep.host_header = std::string(authority);
    std::string_view port;
    if (authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return make_error(quoted + " has an unclosed '['");
        ep.host = std::string(authority.substr(1, close - 1));
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return make_error(quoted + " has junk after the IPv6 host");
            port = after.substr(1);
        }
    } else {
        const auto colon = authority.rfind(':');
        ep.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    }
    if (ep.host.empty()) return make_error(quoted + " has no host");
    if (port.empty()) {
        ep.port = ep.tls ? "443" : "80";
    } else {
        unsigned value = 0;
        auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535) {
            return make_error(quoted + " has a bad port \"" + std::string(port) + "\"");
        }
        ep.port = std::string(port);
    }
    if (path.empty() || path == "/") {
        ep.target = std::string(default_path);
    } else if (path.front() == '?') {
        ep.target = std::string(default_path) + std::string(path);
    } else {
        ep.target = std::string(path);
    }
    return ep;
}

result<header_list> parse_headers(std::string_view text) {
    header_list out;
    if (trim(text, k_http_whitespace).empty()) return out;
    // Messages name a header by its position, never by its text: values are often credentials
    // (and "Authorization: Bearer x", with a colon, would be all value).
    std::size_t index = 0;
    while (true) {
        ++index;
        const std::string which = "header " + std::to_string(index) + " (values not shown)";
        const auto comma = text.find(',');
        const std::string_view item = text.substr(0, comma);
        const auto eq = item.find('=');
        if (eq == std::string_view::npos) return make_error(which + " is not Name=value");
        const std::string_view name = trim(item.substr(0, eq), k_http_whitespace);
        const std::string_view value = trim(item.substr(eq + 1), k_http_whitespace);
        if (name.empty()) return make_error(which + " has no name");
        if (has_control(name) || has_control(value) || name.find(':') != std::string_view::npos ||
            name.find(' ') != std::string_view::npos) {
            return make_error(which + " has invalid characters");
        }
        out.emplace_back(std::string(name), std::string(value));
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return out;
}

}  // namespace mg::exporter
