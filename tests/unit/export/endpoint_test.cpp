#include "export/endpoint.h"

#include <catch2/catch.hpp>

namespace ex = mg::exporter;

TEST_CASE("endpoint URLs: scheme host port default path", "[export][endpoint]") {
    auto a = ex::parse_endpoint("http://vm:8428", "/api/v1/write");
    REQUIRE(a.ok());
    CHECK_FALSE(a->tls);
    CHECK(a->host == "vm");
    CHECK(a->port == "8428");
    CHECK(a->target == "/api/v1/write");
    CHECK(a->host_header == "vm:8428");

    auto b = ex::parse_endpoint("https://mimir.example/api/v1/push?tenant=a", "/api/v1/write");
    REQUIRE(b.ok());
    CHECK(b->tls);
    CHECK(b->port == "443");
    CHECK(b->target == "/api/v1/push?tenant=a");

    auto c = ex::parse_endpoint("http://[::1]:9090/", "/v1/metrics");
    REQUIRE(c.ok());
    CHECK(c->host == "::1");
    CHECK(c->port == "9090");
    CHECK(c->target == "/v1/metrics");
    CHECK(c->host_header == "[::1]:9090");

    CHECK(ex::parse_endpoint("http://h", "/x")->port == "80");
}

TEST_CASE("bad endpoint URLs are refused with a reason", "[export][endpoint]") {
    CHECK_FALSE(ex::parse_endpoint("ftp://h/", "/").ok());
    CHECK_FALSE(ex::parse_endpoint("vm:8428", "/").ok());
    CHECK_FALSE(ex::parse_endpoint("http://", "/").ok());
    CHECK_FALSE(ex::parse_endpoint("http://:80/", "/").ok());
    CHECK_FALSE(ex::parse_endpoint("http://h:0/", "/").ok());
    CHECK_FALSE(ex::parse_endpoint("http://h:99999/", "/").ok());
    CHECK_FALSE(ex::parse_endpoint("http://h:abc/", "/").ok());
    CHECK_FALSE(ex::parse_endpoint("http://[::1/", "/").ok());
    auto user = ex::parse_endpoint("http://u:p@h/", "/");
    REQUIRE_FALSE(user.ok());
    CHECK(user.error_message().find("basic-auth") != std::string::npos);
}

TEST_CASE("extra headers parse as Name=value pairs", "[export][endpoint]") {
    auto h = ex::parse_headers("X-Scope-OrgID=tenant-1, X-A = b=c");
    REQUIRE(h.ok());
    REQUIRE(h->size() == 2);
    CHECK((*h)[0] == std::pair<std::string, std::string>{"X-Scope-OrgID", "tenant-1"});
    CHECK((*h)[1] == std::pair<std::string, std::string>{"X-A", "b=c"});
    CHECK(ex::parse_headers("")->empty());
    CHECK_FALSE(ex::parse_headers("novalue").ok());
    CHECK_FALSE(ex::parse_headers("=v").ok());
    CHECK_FALSE(ex::parse_headers("A=b\r\nInjected: x").ok());
    CHECK_FALSE(ex::parse_headers("A: b=c").ok());
}
