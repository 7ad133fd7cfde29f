// The authenticator: which requests pass, the 401 challenge, open paths; and the TLS context
// builder's refusals naming the file.
#include "http/access.h"

#include <catch2/catch.hpp>

#include "http/tls.h"
#include "shared/temp_dir.h"

using mg::http::authenticator;
using mg::http::credentials;
namespace bhttp = mg::http::bhttp;

namespace {

mg::http::request get(const std::string& target, const std::string& authorization = {}) {
    mg::http::request req{bhttp::verb::get, target, 11};
    if (!authorization.empty()) req.set(bhttp::field::authorization, authorization);
    return req;
}

}  // namespace

TEST_CASE("without credentials every request passes", "[http][access]") {
    const authenticator open(credentials{});
    CHECK_FALSE(open.enabled());
    CHECK(open.allows(get("/api/v1/write")));
    CHECK(open.allows(get("/x", "Bearer anything")));
}

TEST_CASE("bearer token: exact token, case-insensitive scheme, nothing else", "[http][access]") {
    const authenticator auth(credentials{.bearer_token = "s3cr3t"});
    CHECK(auth.enabled());
    CHECK(auth.allows(get("/api/v1/write", "Bearer s3cr3t")));
    CHECK(auth.allows(get("/api/v1/write", "bearer  s3cr3t")));
    CHECK_FALSE(auth.allows(get("/api/v1/write")));
    CHECK_FALSE(auth.allows(get("/api/v1/write", "Bearer s3cr3")));
    CHECK_FALSE(auth.allows(get("/api/v1/write", "Bearer s3cr3tX")));
    CHECK_FALSE(auth.allows(get("/api/v1/write", "Bearer")));
    CHECK_FALSE(auth.allows(get("/api/v1/write", "Basic s3cr3t")));
    CHECK_FALSE(auth.allows(get("/api/v1/write", "s3cr3t")));

    const auto res = auth.challenge(11);
    CHECK(res.result() == bhttp::status::unauthorized);
    CHECK(res[bhttp::field::www_authenticate] == "Bearer realm=\"metrics-governor\"");
    CHECK(res.body().find("s3cr3t") == std::string::npos);
}

TEST_CASE("basic auth: user and password, base64", "[http][access]") {
    const authenticator auth(
        credentials{.basic_username = "ops", .basic_password = "correct-horse"});
    CHECK(auth.allows(
        get("/api/v1/cardinality", "Basic b3BzOmNvcnJlY3QtaG9yc2U=")));  // ops:correct-horse
    CHECK(auth.allows(get("/api/v1/cardinality", "BASIC b3BzOmNvcnJlY3QtaG9yc2U=")));
    CHECK_FALSE(
        auth.allows(get("/api/v1/cardinality", "Basic b3BzOmNvcnJlY3QtaG9yc2U")));  // no padding
    CHECK_FALSE(auth.allows(get("/api/v1/cardinality", "Basic b3BzOndyb25n")));     // ops:wrong
    CHECK_FALSE(auth.allows(get("/api/v1/cardinality", "Bearer b3BzOmNvcnJlY3QtaG9yc2U=")));
    CHECK(auth.challenge(11)[bhttp::field::www_authenticate] == "Basic realm=\"metrics-governor\"");
}

TEST_CASE("open paths pass without credentials, by path without the query", "[http][access]") {
    const authenticator auth(credentials{.bearer_token = "t"}, {"/live", "/metrics"});
    CHECK(auth.allows(get("/live")));
    CHECK(auth.allows(get("/metrics?x=1")));
    CHECK_FALSE(auth.allows(get("/api/v1/cardinality")));
    CHECK_FALSE(auth.allows(get("/live/x")));
    CHECK(auth.allows(get("/api/v1/cardinality", "Bearer t")));
}

TEST_CASE("the TLS context names the file it cannot use", "[http][tls]") {
    mg::test::temp_dir dir;
    const auto junk = dir.write("junk.pem", "not PEM\n");
    auto missing = mg::http::make_server_tls_context({.cert_file = dir.file("none.pem"),
                                                      .key_file = junk,
                                                      .cert_name = "receiver.tls.cert_file"});
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error_message().find("receiver.tls.cert_file") != std::string::npos);
    CHECK(missing.error_message().find(dir.file("none.pem")) != std::string::npos);
    auto not_pem = mg::http::make_server_tls_context({.cert_file = junk, .key_file = junk});
    REQUIRE_FALSE(not_pem.ok());
    CHECK(not_pem.error_message().find("certificate file") != std::string::npos);
    CHECK(not_pem.error_message().find(junk) != std::string::npos);
}
