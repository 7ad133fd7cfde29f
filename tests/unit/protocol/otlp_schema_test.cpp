// The OTLP schema shared by the codecs (protocol/otlp_schema.h): the OTLP/JSON number readers,
// which the JSON decoder (attribute values) and the remote-write converter (point values) both
// use, so a JSON number means the same in both places; and the metric kinds both ways.
#include "protocol/otlp_schema.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "protocol/otlp_json.h"
#include "protocol/otlp_to_prw.h"

using namespace mg::protocol;
using namespace mg::protocol::otlp_schema;
using json = nlohmann::json;

TEST_CASE(
    "OTLP/JSON 64-bit integers: an integral-valued number such as 3.0 reads as 3, 3.5 is refused",
    "[otlp_schema]") {
    std::int64_t i = 0;
    std::uint64_t u = 0;
    CHECK((json_int64(json(3.0), i) && i == 3));
    CHECK((json_int64(json(-3.0), i) && i == -3));
    CHECK((json_uint64(json(3.0), u) && u == 3));
    CHECK_FALSE(json_int64(json(3.5), i));
    CHECK_FALSE(json_int64(json(-3.5), i));
    CHECK_FALSE(json_uint64(json(3.5), u));
    CHECK_FALSE(json_uint64(json(-1.0), u));
    CHECK_FALSE(json_int64(json(1e19), i));   // past int64
    CHECK_FALSE(json_uint64(json(2e19), u));  // past uint64
    CHECK_FALSE(json_int64(json(std::nan("")), i));

    // Integers as numbers and as decimal strings; a string must be an integer and nothing else.
    CHECK((json_int64(json(-42), i) && i == -42));
    CHECK((json_int64(json("-42"), i) && i == -42));
    CHECK(
        (json_uint64(json(std::uint64_t{18446744073709551615U}), u) && u == 18446744073709551615U));
    CHECK((json_uint64(json("18446744073709551615"), u) && u == 18446744073709551615U));
    CHECK_FALSE(json_int64(json(std::uint64_t{9223372036854775808U}), i));
    CHECK_FALSE(json_uint64(json(-1), u));
    CHECK_FALSE(json_int64(json("3.0"), i));
    CHECK_FALSE(json_int64(json("3 "), i));
    CHECK_FALSE(json_uint64(json("-1"), u));
    CHECK_FALSE(json_int64(json(true), i));
    CHECK_FALSE(json_int64(json(nullptr), i));
}

TEST_CASE("OTLP/JSON doubles: numbers, and NaN and the infinities as strings", "[otlp_schema]") {
    double d = 0;
    CHECK((json_double(json(3), d) && d == 3));
    CHECK((json_double(json(0.25), d) && d == 0.25));
    CHECK((json_double(json("0.25"), d) && d == 0.25));
    CHECK((json_double(json("NaN"), d) && std::isnan(d)));
    CHECK((json_double(json("Infinity"), d) && std::isinf(d) && d > 0));
    CHECK((json_double(json("-Infinity"), d) && std::isinf(d) && d < 0));
    CHECK_FALSE(json_double(json("1x"), d));
    CHECK_FALSE(json_double(json(false), d));
}

TEST_CASE("an attribute intValue and a point's asInt read 3.0 the same way", "[otlp_schema]") {
    const auto body = [](const char* number) {
        return std::string(
                   R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m","gauge":{"dataPoints":[)"
                   R"({"attributes":[{"key":"n","value":{"intValue":)") +
               number + R"(}}],"timeUnixNano":"1700000000123456789","asInt":)" + number +
               "}]}}]}]}]}";
    };
    otlp_json_document doc;
    series_batch batch;
    REQUIRE(decode_otlp_json(body("3.0"), doc, batch).ok());
    REQUIRE(batch.size() == 1);
    REQUIRE(batch[0].labels.size() == 1);
    CHECK(batch[0].labels[0].value == "3");
    const std::vector<std::uint8_t> keep{1};
    std::string out;
    prw_conversion_result r;
    otlp_to_prw_converter conv;
    REQUIRE(conv.convert(batch, keep, {}, out, r).ok());
    CHECK(r.points_converted == 1);
    CHECK(r.samples == 1);

    const decode_status s = decode_otlp_json(body("3.5"), doc, batch);
    CHECK(s.code() == errc::malformed);
    CHECK(s.error_message().find("intValue") != std::string::npos);
}

TEST_CASE("metric kinds: the Metric field of each kind and back", "[otlp_schema]") {
    for (const metric_kind k : {metric_kind::gauge, metric_kind::sum, metric_kind::histogram,
                                metric_kind::exponential_histogram, metric_kind::summary}) {
        CHECK(kind_of(data_field_of(k)) == k);
    }
    CHECK(data_field_of(metric_kind::unknown) == 0);
    CHECK(kind_of(metric_name) == metric_kind::unknown);
    for (const kind_key& k : k_kinds) CHECK(k.kind != metric_kind::unknown);
}
