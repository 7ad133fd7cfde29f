// endpoint: the parsed -exporter-endpoint URL and the request headers every upstream request
// carries (auth and -exporter-headers), built once at startup.
//
// Pure functions over strings; the values are immutable after creation and safe to share.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace mg::exporter {

struct endpoint {
    bool tls = false;         // https://
    std::string host;         // without brackets for IPv6 ("::1")
    std::string port;         // "80", "443" or the URL's
    std::string target;       // path and query, never empty ("/api/v1/write")
    std::string host_header;  // Host header value: host[:port] as written in the URL
};

// Parses "http://host[:port][/path]" or "https://...". A URL without a path (or with "/") gets
// default_path. Fails with a message for another scheme, a missing host, user info (put
// credentials in -exporter-basic-auth-*), a bad port or a fragment.
result<endpoint> parse_endpoint(std::string_view url, std::string_view default_path);

using header_list = std::vector<std::pair<std::string, std::string>>;

// "K1=V1,K2=V2" -> {{"K1","V1"},{"K2","V2"}}; spaces around names and values are trimmed.
// Empty text gives an empty list. Fails for an item without '=' or with an empty name, and for
// names or values with control characters (no header injection).
result<header_list> parse_headers(std::string_view text);

}  // namespace mg::exporter
