#include "config/listen_address.h"

#include <catch2/catch.hpp>

using mg::config::parse_listen_address;

TEST_CASE("listen addresses in the accepted forms", "[config][listen_address]") {
    auto all = parse_listen_address(":9090");
    REQUIRE(all.ok());
    CHECK(all->host.empty());
    CHECK(all->port == 9090);

    auto loopback = parse_listen_address("127.0.0.1:0");
    REQUIRE(loopback.ok());
    CHECK(loopback->host == "127.0.0.1");
    CHECK(loopback->port == 0);

    auto v6 = parse_listen_address("[::1]:9090");
    REQUIRE(v6.ok());
    CHECK(v6->host == "::1");
    CHECK(v6->port == 9090);

    auto name = parse_listen_address("localhost:80");
    REQUIRE(name.ok());
    CHECK(name->host == "localhost");
    CHECK(name->port == 80);

    CHECK(parse_listen_address("0.0.0.0:65535").ok());
    CHECK(parse_listen_address("[fe80::1%eth0]:8080").ok());
}

TEST_CASE("bad listen addresses say what is accepted", "[config][listen_address]") {
    for (const char* bad : {"", "abc", "9090", ":", ":http", ":65536", ":-1", "::1:9090",
                            "[::1]9090", "[::1", "[]:80", "bad host:80", "host:80:", ":123456"}) {
        INFO(bad);
        auto r = parse_listen_address(bad);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error_message(),
                   Catch::StartsWith("\"" + std::string(bad) +
                                     "\" is not a listen address; want host:port, e.g. :9090 or "
                                     "127.0.0.1:9090"));
    }
}

TEST_CASE("server addresses need a host and a port from 1", "[config][listen_address]") {
    using mg::config::parse_server_address;
    auto name = parse_server_address("redis:6379");
    REQUIRE(name.ok());
    CHECK(name->host == "redis");
    CHECK(name->port == 6379);
    auto v6 = parse_server_address("[::1]:6380");
    REQUIRE(v6.ok());
    CHECK(v6->host == "::1");
    CHECK(parse_server_address("10.0.0.5:65535").ok());
    CHECK(parse_server_address("a:1").ok());

    for (const char* bad : {"", "redis", ":6379", "redis:0", "redis:65536", "[::1]:0", "::1:6379",
                            "redis:", "bad host:1"}) {
        INFO(bad);
        auto r = parse_server_address(bad);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error_message(),
                   Catch::StartsWith("\"" + std::string(bad) +
                                     "\" is not a server address; want host:port with a port "
                                     "from 1 to 65535, e.g. redis:6379"));
    }
}
