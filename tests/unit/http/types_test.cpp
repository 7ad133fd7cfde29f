#include "http/types.h"

#include <catch2/catch.hpp>

namespace h = mg::http;

TEST_CASE("query parameters are split and percent-decoded", "[http]") {
    const auto q =
        h::query_params("/api/v1/cardinality?limit=10&metric=http%5Frequests+total&flag&limit=99");
    CHECK(q.at("limit") == "10");  // first value wins
    CHECK(q.at("metric") == "http_requests total");
    CHECK(q.at("flag").empty());
    CHECK(h::query_params("/x").empty());
    CHECK(h::query_params("/x?bad=%zz%4").at("bad") == "%zz%4");
}

TEST_CASE("target path drops the query", "[http]") {
    CHECK(h::target_path("/metrics?x=1") == "/metrics");
    CHECK(h::target_path("/metrics") == "/metrics");
}

TEST_CASE("responses mirror version and keep-alive and set the length", "[http]") {
    h::request req{h::bhttp::verb::get, "/", 10};
    req.keep_alive(false);
    const auto res = h::make_response(req, h::bhttp::status::ok, "hello", h::k_json);
    CHECK(res.version() == 10);
    CHECK_FALSE(res.keep_alive());
    CHECK(res[h::bhttp::field::content_length] == "5");
    CHECK(res[h::bhttp::field::content_type] == "application/json");
}

TEST_CASE("a positive integer parameter: the fallback when absent, refused when not one",
          "[http]") {
    const auto q =
        h::query_params("/x?limit=25&zero=0&neg=-3&word=ten&big=99999999999999999999999");
    CHECK(h::positive_param(q, "limit", 5) == 25u);
    CHECK(h::positive_param(q, "absent", 5) == 5u);
    for (const char* bad : {"zero", "neg", "word", "big"}) {
        INFO(bad);
        CHECK_FALSE(h::positive_param(q, bad, 5).has_value());
        CHECK_THAT(h::positive_param_error(q, bad),
                   Catch::StartsWith(std::string(bad) + " must be a positive integer, got \""));
    }
}
