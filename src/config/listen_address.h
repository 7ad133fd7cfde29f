// Listen addresses as operators write them in -stats-addr and friends. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace mg::config {

// host is empty for "all interfaces"; an IPv6 host is kept without its brackets.
struct host_port {
    std::string host;
    std::uint16_t port = 0;
};

// Accepts ":9090", "127.0.0.1:0", "[::1]:9090", "localhost:80". Port 0 means "any free port".
// Fails, with the accepted form in the message, on a missing or non-numeric port, a port above
// 65535, an unbracketed IPv6 host or a host with characters no host name or address has.
result<host_port> parse_listen_address(std::string_view text);

inline constexpr std::string_view k_listen_address_forms =
    "host:port, e.g. :9090 or 127.0.0.1:9090";

}  // namespace mg::config
