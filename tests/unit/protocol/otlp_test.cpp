#include "protocol/otlp.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "otlp_fixtures.h"
#include "protocol/encode_kept.h"
#include "protocol/otlp_builder.h"
#include "protocol/wire.h"
#include "test_util.h"

using namespace mg::protocol;
using mg::protocol::test::bytes;
using mg::protocol::test::kv;
using mg::protocol::test::otlp_sample;
using mg::protocol::test::series_snapshot;
using mg::protocol::test::snapshot;

namespace {
using labels = std::vector<std::pair<std::string, std::string>>;

const labels k_scope_labels = {{"env", "prod"},
                               {"host.name", "h1"},
                               {"lib.flag", "true"},
                               {"otel_scope_name", "io.opentelemetry.http"},
                               {"otel_scope_version", "1.2.0"},
                               {"service.name", "checkout"}};

labels with(labels base, std::vector<std::pair<std::string, std::string>> extra) {
    for (auto& [k, v] : extra) {
        auto it = std::find_if(base.begin(), base.end(), [&](auto& p) { return p.first == k; });
        if (it != base.end()) {
            it->second = v;
        } else {
            base.emplace_back(k, v);
        }
    }
    std::sort(base.begin(), base.end());
    return base;
}

std::vector<series_snapshot> expected_sample() {
    return {
        {"queue_depth", with(k_scope_labels, {{"queue", "a"}, {"env", "staging"}}), 1, 0, 0},
        {"queue_depth", with(k_scope_labels, {{"queue", "b"}}), 1, 0, 1},
        {"requests",
         with(k_scope_labels, {{"code", "200"}, {"tags", "[\"a\\\"b\",-3,false,null]"}}), 1, 0, 2},
        {"latency", with(k_scope_labels, {{"route", "/x"}, {"ratio", "0.1"}}), 0, 1, 1},
        {"size", with(k_scope_labels, {{"m", "{\"a\":\"AQI=\",\"z\":0.5}"}}), 0, 1, 0},
        {"gc", with(k_scope_labels, {{"id", "3q2+7w=="}}), 0, 1, 0},
        {"queue_depth",
         {{"env", "prod"}, {"host.name", "h1"}, {"queue", "a"}, {"service.name", "checkout"}},
         1,
         0,
         0},
        {"queue_depth",
         {{"otel_scope_name", "x"}, {"queue", "c"}, {"service.name", "billing"}},
         1,
         0,
         0},
    };
}

}  // namespace

TEST_CASE("OTLP protobuf: every metric type yields one series per point", "[otlp]") {
    std::string body;
    encode_otlp_protobuf(otlp_sample(), body);
    series_batch b;
    auto s = decode_otlp_protobuf(body, b);
    REQUIRE(s.ok());
    const auto got = snapshot(b);
    const auto want = expected_sample();
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        INFO(i);
        CHECK(got[i] == want[i]);
    }
    CHECK(b[0].kind == metric_kind::gauge);
    CHECK(b[2].kind == metric_kind::sum);
    CHECK(b[3].kind == metric_kind::histogram);
    CHECK(b[4].kind == metric_kind::exponential_histogram);
    CHECK(b[5].kind == metric_kind::summary);
    CHECK(b.total_points() == 8);
    // The raw span of a point is a data_points field inside the body.
    wire_reader r(b.entry(0).raw);
    wire_field f;
    REQUIRE(r.next(f));
    CHECK(f.number == 1);
    CHECK(r.at_end());
}

TEST_CASE("OTLP protobuf: a kept subset drops empty metrics, scopes and resources", "[otlp]") {
    std::string body;
    encode_otlp_protobuf(otlp_sample(), body);
    series_batch b;
    REQUIRE(decode_otlp_protobuf(body, b).ok());
    const auto all = snapshot(b);
    SECTION("some points") {
        const std::vector<std::uint8_t> keep{0, 1, 0, 1, 0, 0, 0, 1};
        std::string out;
        REQUIRE(encode_kept(b, keep, out).ok());
        series_batch sub;
        REQUIRE(decode_otlp_protobuf(out, sub).ok());
        CHECK(snapshot(sub) == std::vector<series_snapshot>{all[1], all[3], all[7]});
        // Dropped metrics leave no trace; kept metrics keep description and unit.
        CHECK(out.find("requests") == std::string::npos);
        CHECK(out.find("Queue depth.") != std::string::npos);
        CHECK(out.size() < body.size());
    }
    SECTION("everything") {
        std::string out;
        REQUIRE(encode_kept(b, std::vector<std::uint8_t>(8, 1), out).ok());
        CHECK(out == body);
    }
    SECTION("nothing") {
        std::string out;
        REQUIRE(encode_kept(b, std::vector<std::uint8_t>(8, 0), out).ok());
        CHECK(out.empty());
    }
}

TEST_CASE("OTLP protobuf: the more specific attribute level wins", "[otlp]") {
    otlp_resource res;
    res.attributes = {kv("k", "resource"), kv("r", "1")};
    otlp_scope sc;
    sc.attributes = {kv("k", "scope"), kv("s", "1")};
    otlp_metric m{"m", "", "", metric_kind::gauge, {}};
    m.points.push_back({{kv("k", "point")}, 1, 1, 0});
    m.points.push_back({{}, 1, 1, 0});
    sc.metrics = {m};
    res.scopes = {sc};
    std::string body;
    encode_otlp_protobuf(std::vector{res}, body);
    series_batch b;
    REQUIRE(decode_otlp_protobuf(body, b).ok());
    CHECK(snapshot(b) ==
          std::vector<series_snapshot>{{"m", {{"k", "point"}, {"r", "1"}, {"s", "1"}}, 1, 0, 0},
                                       {"m", {{"k", "scope"}, {"r", "1"}, {"s", "1"}}, 1, 0, 0}});
}

TEST_CASE("OTLP protobuf: attribute errors", "[otlp]") {
    auto one_point = [](std::vector<otlp_key_value> attrs) {
        otlp_resource res;
        otlp_scope sc;
        otlp_metric m{"m", "", "", metric_kind::gauge, {}};
        m.points.push_back({std::move(attrs), 1, 1, 0});
        sc.metrics = {m};
        res.scopes = {sc};
        std::string body;
        encode_otlp_protobuf(std::vector{res}, body);
        return body;
    };
    series_batch b;
    CHECK_THAT(decode_otlp_protobuf(one_point({kv("a", "1"), kv("a", "2")}), b).error_message(),
               Catch::Contains("duplicate data point attribute key \"a\""));
    CHECK_THAT(decode_otlp_protobuf(one_point({kv("", "1")}), b).error_message(),
               Catch::Contains("empty attribute key"));
    CHECK_THAT(decode_otlp_protobuf(one_point({kv("a", "\xff")}), b).error_message(),
               Catch::Contains("invalid UTF-8"));
    CHECK_THAT(decode_otlp_protobuf(one_point({kv("\xc3", "x")}), b).error_message(),
               Catch::Contains("invalid UTF-8 in attribute key"));
    otlp_any_value deep = otlp_any_value::str("leaf");
    for (int i = 0; i < 40; ++i) {
        otlp_any_value a;
        a.k = otlp_any_value::kind::array;
        a.array.push_back(deep);
        deep = a;
    }
    auto s = decode_otlp_protobuf(one_point({kv("deep", deep)}), b);
    CHECK(s.code() == errc::malformed);
    CHECK_THAT(s.error_message(), Catch::Contains("nested deeper"));
}

TEST_CASE("OTLP protobuf: truncation at every offset is an error or a strict prefix", "[otlp]") {
    std::string body;
    encode_otlp_protobuf(otlp_sample(), body);
    std::vector<std::size_t> boundaries;
    {
        wire_reader r(body);
        wire_field f;
        while (r.next(f)) boundaries.push_back(r.offset());
    }
    for (std::size_t cut = 1; cut < body.size(); ++cut) {
        INFO(cut);
        series_batch b;
        auto s = decode_otlp_protobuf(body.substr(0, cut), b);
        if (std::find(boundaries.begin(), boundaries.end(), cut) == boundaries.end()) {
            REQUIRE_FALSE(s.ok());
        }
    }
}

TEST_CASE("OTLP protobuf: wrong wire types and bad varints are malformed", "[otlp]") {
    series_batch b;
    CHECK_THAT(decode_otlp_protobuf(bytes({0x08, 0x01}), b).error_message(),
               Catch::Contains("resource_metrics"));
    CHECK_THAT(decode_otlp_protobuf(bytes({0x0a, 0x02, 0x12, 0x80}), b).error_message(),
               Catch::Contains("OTLP"));
    CHECK(decode_otlp_protobuf(bytes({0x0a}) + std::string(11, '\xff'), b).code() ==
          errc::malformed);
    // Unknown fields at every level are skipped.
    REQUIRE(decode_otlp_protobuf(bytes({0x10, 0x01, 0x0a, 0x02, 0x20, 0x01}), b).ok());
    CHECK(b.size() == 0);
}

TEST_CASE("OTLP protobuf: ExportMetricsServiceResponse with partial success", "[otlp]") {
    std::string out;
    encode_otlp_response_protobuf(0, "", out);
    CHECK(out.empty());
    encode_otlp_response_protobuf(3, "3 data points dropped by cardinality limits", out);
    otlp_partial_success ps;
    REQUIRE(decode_otlp_response_protobuf(out, ps).ok());
    CHECK(ps.rejected_data_points == 3);
    CHECK(ps.error_message == "3 data points dropped by cardinality limits");
    REQUIRE(decode_otlp_response_protobuf("", ps).ok());
    CHECK(ps.rejected_data_points == 0);
}
