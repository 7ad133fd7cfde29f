#include "protocol/otlp_json.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "otlp_fixtures.h"
#include "protocol/encode_kept.h"
#include "protocol/otlp.h"
#include "protocol/otlp_builder.h"
#include "test_util.h"

using namespace mg::protocol;
using mg::protocol::test::otlp_sample;
using mg::protocol::test::series_snapshot;
using mg::protocol::test::snapshot;

TEST_CASE("OTLP/JSON yields the same series as OTLP protobuf", "[otlp_json]") {
    const auto sample = otlp_sample();
    std::string pb;
    encode_otlp_protobuf(sample, pb);
    const std::string js = encode_otlp_json(sample);
    series_batch from_pb, from_js;
    otlp_json_document doc;
    REQUIRE(decode_otlp_protobuf(pb, from_pb).ok());
    auto s = decode_otlp_json(js, doc, from_js);
    REQUIRE(s.ok());
    CHECK(from_js.protocol() == source_protocol::otlp_json);
    CHECK(snapshot(from_js) == snapshot(from_pb));
    for (std::size_t i = 0; i < from_js.size(); ++i) CHECK(from_js[i].kind == from_pb[i].kind);
}

TEST_CASE("OTLP/JSON: a hand-written request with the spec's encodings", "[otlp_json]") {
    const std::string body = R"({
      "resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
        "scopeMetrics": [{
          "scope": {"name": "lib", "version": "2"},
          "metrics": [{
            "name": "temp",
            "unit": "Cel",
            "gauge": {"dataPoints": [
              {"attributes": [{"key": "n", "value": {"intValue": "42"}},
                              {"key": "b", "value": {"bytesValue": "AQI="}},
                              {"key": "d", "value": {"doubleValue": "Infinity"}}],
               "timeUnixNano": "1700000000000000000", "asDouble": 21.5},
              {"attributes": [{"key": "n", "value": {"intValue": 7}}], "asInt": "3"}
            ]}
          }, {
            "name": "snake",
            "exponential_histogram": {"data_points": [{"count": "1"}]}
          }]
        }]
      }]
    })";
    otlp_json_document doc;
    series_batch b;
    REQUIRE(decode_otlp_json(body, doc, b).ok());
    const std::vector<std::pair<std::string, std::string>> base{
        {"otel_scope_name", "lib"}, {"otel_scope_version", "2"}, {"service.name", "svc"}};
    auto with = [&](std::vector<std::pair<std::string, std::string>> extra) {
        auto l = base;
        l.insert(l.end(), extra.begin(), extra.end());
        std::sort(l.begin(), l.end());
        return l;
    };
    CHECK(snapshot(b) == std::vector<series_snapshot>{
                             {"temp", with({{"n", "42"}, {"b", "AQI="}, {"d", "+Inf"}}), 1, 0, 0},
                             {"temp", with({{"n", "7"}}), 1, 0, 0},
                             {"snake", base, 0, 1, 0}});
}

TEST_CASE("OTLP/JSON: kept subset drops empty containers and keeps the rest", "[otlp_json]") {
    const std::string js = encode_otlp_json(otlp_sample());
    otlp_json_document doc;
    series_batch b;
    REQUIRE(decode_otlp_json(js, doc, b).ok());
    const auto all = snapshot(b);
    const std::vector<std::uint8_t> keep{0, 1, 0, 1, 0, 0, 0, 1};
    std::string out;
    REQUIRE(encode_kept(b, keep, out).ok());
    otlp_json_document doc2;
    series_batch sub;
    REQUIRE(decode_otlp_json(out, doc2, sub).ok());
    CHECK(snapshot(sub) == std::vector<series_snapshot>{all[1], all[3], all[7]});
    const auto j = nlohmann::json::parse(out);
    CHECK(j["resourceMetrics"].size() == 2);
    CHECK(j["resourceMetrics"][0]["scopeMetrics"].size() == 1);  // the scope-less one is gone
    CHECK(j["resourceMetrics"][0]["scopeMetrics"][0]["metrics"].size() == 2);
    CHECK(j["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["description"] ==
          "Queue depth.");
    std::string none;
    REQUIRE(encode_kept(b, std::vector<std::uint8_t>(8, 0), none).ok());
    CHECK(nlohmann::json::parse(none)["resourceMetrics"].empty());
}

TEST_CASE("OTLP/JSON: deep, large and invalid documents are rejected", "[otlp_json]") {
    otlp_json_document doc;
    series_batch b;
    SECTION("nesting past the limit, before parsing") {
        std::string deep = std::string(100000, '[') + std::string(100000, ']');
        auto s = decode_otlp_json(deep, doc, b);
        CHECK(s.code() == errc::malformed);
        CHECK_THAT(s.error_message(), Catch::Contains("nested deeper than 64"));
        // Brackets inside strings do not count.
        std::string in_string =
            R"({"resourceMetrics": [], "x": ")" + std::string(1000, '[') + "\"}";
        CHECK(decode_otlp_json(in_string, doc, b).ok());
    }
    SECTION("too large") {
        otlp_json_limits limits;
        limits.max_bytes = 10;
        auto s = decode_otlp_json(R"({"resourceMetrics": []})", doc, b, limits);
        CHECK(s.code() == errc::too_large);
    }
    SECTION("invalid JSON") {
        for (const char* bad : {"", "{", "{\"resourceMetrics\": [}", "nul", "{\"a\":\"\xff\"}"}) {
            INFO(bad);
            CHECK(decode_otlp_json(bad, doc, b).code() == errc::malformed);
        }
    }
    SECTION("wrong types for known fields") {
        for (
            const char* bad : {
                R"([])",
                R"({"resourceMetrics": {}})",
                R"({"resourceMetrics": [{"scopeMetrics": 3}]})",
                R"({"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": 5}]}]}]})",
                R"({"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"gauge": {"dataPoints": {}}}]}]}]})",
                R"({"resourceMetrics": [{"resource": {"attributes": [{"key": 1}]}}]})",
                R"({"resourceMetrics": [{"resource": {"attributes": [{"key": "a", "value": {"intValue": "x"}}]}}]})",
                R"({"resourceMetrics": [{"resource": {"attributes": [{"key": "a", "value": {"bytesValue": "!!"}}]}}]})",
                R"({"resourceMetrics": [{"resource": {"attributes": [{"key": "a", "value": 3}]}}]})",
                R"({"resourceMetrics": [{"resource": {"attributes": [{"key": "", "value": {}}]}}]})",
                R"({"resourceMetrics": [{"resource": {"attributes": [{"key": "a"}, {"key": "a"}]}}]})",
            }) {
            INFO(bad);
            CHECK(decode_otlp_json(bad, doc, b).code() == errc::malformed);
        }
    }
    SECTION("unknown fields are ignored, an empty request is fine") {
        CHECK(decode_otlp_json(R"({"somethingNew": [1, 2]})", doc, b).ok());
        CHECK(b.size() == 0);
        CHECK(decode_otlp_json("{}", doc, b).ok());
    }
}

TEST_CASE("OTLP/JSON: ExportMetricsServiceResponse", "[otlp_json]") {
    CHECK(encode_otlp_response_json(0, "") == "{}");
    const auto j = nlohmann::json::parse(encode_otlp_response_json(5, "dropped"));
    CHECK(j["partialSuccess"]["rejectedDataPoints"] == "5");
    CHECK(j["partialSuccess"]["errorMessage"] == "dropped");
}

TEST_CASE("OTLP/JSON: ExportMetricsServiceResponse read back, as a backend writes it",
          "[otlp_json]") {
    otlp_partial_success ps;
    REQUIRE(decode_otlp_response_json(encode_otlp_response_json(5, "dropped"), ps).ok());
    CHECK(ps.rejected_data_points == 5);
    CHECK(ps.error_message == "dropped");
    // An int64 as a JSON number is accepted too; no partialSuccess means none rejected.
    REQUIRE(decode_otlp_response_json(R"({"partialSuccess":{"rejectedDataPoints":7}})", ps).ok());
    CHECK(ps.rejected_data_points == 7);
    CHECK(ps.error_message.empty());
    for (const char* none : {"{}", R"({"partialSuccess":null})", R"({"partialSuccess":{}})"}) {
        INFO(none);
        REQUIRE(decode_otlp_response_json(none, ps).ok());
        CHECK(ps.rejected_data_points == 0);
    }
    // What no backend should send is refused, not thrown.
    for (const char* bad : {"", "not json", "[1]", R"({"partialSuccess":3})",
                            R"({"partialSuccess":{"rejectedDataPoints":"7x"}})",
                            R"({"partialSuccess":{"rejectedDataPoints":true}})"}) {
        INFO(bad);
        CHECK_FALSE(decode_otlp_response_json(bad, ps).ok());
    }
}
