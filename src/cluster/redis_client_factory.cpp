// Cluster mode's Redis client from its settings (see redis_client_factory.h).
#include "cluster/redis_client_factory.h"

#include <charconv>

namespace mg::cluster {

result<redis_address> parse_redis_address(std::string_view s) {
    redis_address a;
    std::string_view host = s;
    std::string_view port;
    bool has_port = false;
    if (!s.empty() && s.front() == '[') {
        const auto close = s.find(']');
        if (close == std::string_view::npos) {
            return make_error("redis address \"" + std::string(s) + "\": no ']' after '['");
        }
        host = s.substr(1, close - 1);
        const auto rest = s.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') {
                return make_error("redis address \"" + std::string(s) +
                                  "\": ':' expected after ']'");
            }
            port = rest.substr(1);
            has_port = true;
        }
    } else if (const auto colon = s.rfind(':'); colon != std::string_view::npos) {
        if (s.find(':') != colon) {
            return make_error("redis address \"" + std::string(s) +
                              "\": write an IPv6 address in brackets, [::1]:6379");
        }
        host = s.substr(0, colon);
        port = s.substr(colon + 1);
        has_port = true;
    }
    if (host.empty()) return make_error("redis address \"" + std::string(s) + "\": no host");
    a.host.assign(host);
    if (has_port) {
        unsigned p = 0;
        const auto r = std::from_chars(port.data(), port.data() + port.size(), p);
        if (r.ec != std::errc{} || r.ptr != port.data() + port.size() || p == 0 || p > 65535) {
            return make_error("redis address \"" + std::string(s) +
                              "\": the port is not a number from 1 to 65535");
        }
        a.port = static_cast<std::uint16_t>(p);
    }
    return a;
}

result<std::shared_ptr<redis_client>> make_redis_client(redis_client::strand s,
                                                        const redis_client_options& o) {
    std::string problems;
    const auto problem = [&](const std::string& p) {
        problems += (problems.empty() ? "" : "; ") + p;
    };
    std::vector<redis_address> addresses;
    for (const auto& text : o.addresses) {
        auto a = parse_redis_address(text);
        if (a) {
            addresses.push_back(std::move(*a));
        } else {
            problem(a.error_message());
        }
    }
    if (o.addresses.empty()) problem("no redis address");
    if (!o.cluster && o.addresses.size() > 1) {
        problem("more than one redis address: several are seeds of a Redis Cluster (cluster mode)");
    }
    if (o.cluster && o.connection.db != 0) problem("db must be 0 with a Redis Cluster");
    auto conn = o.connection;
    if (conn.tls.enabled && !conn.tls_context) {
        auto ctx = make_redis_tls_context(conn.tls);
        if (ctx) {
            conn.tls_context = std::move(*ctx);
        } else {
            problem(ctx.error_message());
        }
    }
    if (!problems.empty()) return make_error(problems);
    if (!o.cluster) {
        conn.host = addresses.front().host;
        conn.port = addresses.front().port;
        return std::shared_ptr<redis_client>(redis_connection::create(std::move(s), conn));
    }
    auto co = o.cluster_options;
    co.seeds = std::move(addresses);
    co.node = std::move(conn);
    return std::shared_ptr<redis_client>(redis_cluster::create(std::move(s), std::move(co)));
}

}  // namespace mg::cluster
