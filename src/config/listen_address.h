// Addresses as operators write them: the daemon's listen addresses (-stats-addr and friends) and
// the addresses of servers it connects to (-cluster-redis-addr). Pure; thread-safe.
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

// A server to connect to: the listen address form, but the host is required (no "all
// interfaces") and the port is 1 to 65535 (no "any free port"). "redis:6379", "[::1]:6379".
result<host_port> parse_server_address(std::string_view text);

inline constexpr std::string_view k_server_address_forms =
    "host:port with a port from 1 to 65535, e.g. redis:6379, 10.0.0.5:6379 or [::1]:6379";

}  // namespace mg::config
