// series_samples (a series' float samples read again from its bytes, for the overflow folds)
// and owned_series_encode (the overflow series' own requests), both read back through the
// decoders.
#include "protocol/series_samples.h"

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "protocol/otlp.h"
#include "protocol/otlp_json.h"
#include "protocol/owned_series_encode.h"
#include "protocol/remote_write.h"
#include "protocol/remote_write_builder.h"
#include "protocol/wire.h"
#include "shared/otlp_builder.h"

namespace pr = mg::protocol;
namespace ob = mg::test::otlp;

TEST_CASE("series samples: remote write 1.0 and 2.0, with 2.0's metadata type",
          "[protocol][overflow]") {
    pr::owned_timeseries counter;
    counter.labels = {{"__name__", "jobs_total"}, {"a", "1"}};
    counter.samples = {{1.5, 1000}, {2.5, 2000}};
    pr::owned_timeseries hist;
    hist.labels = {{"__name__", "native"}};
    hist.histograms = {
        pr::owned_histogram{.count = 3, .sum = 0, .schema = 0, .timestamp_ms = 1000}};
    std::vector<pr::owned_timeseries> ts{counter, hist};

    std::string v1;
    pr::encode_remote_write_v1(ts, {}, v1);
    pr::series_batch b;
    REQUIRE(pr::decode_remote_write_v1(v1, b).ok());
    pr::series_samples s;
    pr::read_series_samples(b, 0, s);
    REQUIRE(s.samples.size() == 2);
    CHECK(s.samples[0].value == 1.5);
    CHECK(s.samples[0].timestamp_ms == 1000);
    CHECK(s.samples[1].value == 2.5);
    CHECK(s.type == pr::series_type::unknown);
    CHECK(s.unreadable == 0);
    pr::read_series_samples(b, 1, s);
    CHECK(s.samples.empty());
    CHECK(s.unreadable == 1);  // a native histogram is not folded

    // 2.0: the metadata says gauge, whatever the name says.
    ts[0].metadata_type = 2;
    std::string v2;
    pr::encode_remote_write_v2(ts, v2);
    REQUIRE(pr::decode_remote_write_v2(v2, b).ok());
    pr::read_series_samples(b, 0, s);
    REQUIRE(s.samples.size() == 2);
    CHECK(s.samples[1].timestamp_ms == 2000);
    CHECK(s.type == pr::series_type::gauge);
    ts[0].metadata_type = 1;
    v2.clear();
    pr::encode_remote_write_v2(ts, v2);
    REQUIRE(pr::decode_remote_write_v2(v2, b).ok());
    pr::read_series_samples(b, 0, s);
    CHECK(s.type == pr::series_type::counter);
}

TEST_CASE("series samples: OTLP number points, and none from histograms and JSON",
          "[protocol][overflow]") {
    ob::point p;
    p.time_ns = 5000000000ULL;
    p.as_int = 42;
    ob::point q = p;
    q.as_int.reset();
    q.as_double = 0.25;
    ob::point h;
    h.time_ns = 5000000000ULL;
    h.count = 2;
    h.bounds = {1};
    h.bucket_counts = {1, 1};
    ob::scope sc;
    sc.metrics = {{"requests", ob::metric_kind::sum, 2, true, false, {p}},
                  {"temperature", ob::metric_kind::gauge, 0, false, false, {q}},
                  {"latency", ob::metric_kind::histogram, 2, false, false, {h}}};
    const std::vector<ob::resource> req{{{}, {sc}}};
    const auto body = ob::to_protobuf(req);
    pr::series_batch b;
    REQUIRE(pr::decode_otlp_protobuf(body, b).ok());
    REQUIRE(b.size() == 3);
    pr::series_samples s;
    pr::read_series_samples(b, 0, s);
    REQUIRE(s.samples.size() == 1);
    CHECK(s.samples[0].value == 42);
    CHECK(s.samples[0].timestamp_ms == 5000);
    CHECK(s.type == pr::series_type::counter);
    pr::read_series_samples(b, 1, s);
    REQUIRE(s.samples.size() == 1);
    CHECK(s.samples[0].value == 0.25);
    CHECK(s.type == pr::series_type::gauge);
    pr::read_series_samples(b, 2, s);
    CHECK(s.samples.empty());
    CHECK(s.unreadable == 1);

    pr::otlp_json_document doc;
    const auto json = ob::to_json(req);
    REQUIRE(pr::decode_otlp_json(json, doc, b).ok());
    pr::read_series_samples(b, 0, s);
    CHECK(s.samples.empty());
    CHECK(s.unreadable == 1);
}

TEST_CASE("owned series encode: remote write 1.0 and OTLP read back", "[protocol][overflow]") {
    const std::vector<std::pair<std::string, std::string>> labels{{"le", "0.5"},
                                                                  {"overflow", "true"}};
    const std::vector<pr::float_sample> samples{{0, 1000}, {12, 3000}};
    const std::vector<pr::owned_series> series{{"h_bucket", labels, true, samples},
                                               {"g", {}, false, {samples.data() + 1, 1}}};
    std::string rw;
    pr::encode_owned_remote_write_v1(series, rw);
    pr::series_batch b;
    REQUIRE(pr::decode_remote_write_v1(rw, b).ok());
    REQUIRE(b.size() == 2);
    CHECK(b[0].metric_name == "h_bucket");
    REQUIRE(b[0].labels.size() == 2);
    CHECK(b[0].labels[0].name == "le");
    CHECK(b[0].labels[1].value == "true");
    pr::series_samples s;
    pr::read_series_samples(b, 0, s);
    REQUIRE(s.samples.size() == 2);
    CHECK(s.samples[1].value == 12);
    CHECK(b[1].labels.empty());

    std::string otlp;
    pr::encode_owned_otlp(series, otlp);
    REQUIRE(pr::decode_otlp_protobuf(otlp, b).ok());
    REQUIRE(b.size() == 3);  // one per data point
    CHECK(b[0].kind == pr::metric_kind::sum);
    CHECK(b[2].kind == pr::metric_kind::gauge);
    pr::read_series_samples(b, 1, s);
    REQUIRE(s.samples.size() == 1);
    CHECK(s.samples[0].value == 12);
    CHECK(s.samples[0].timestamp_ms == 3000);
    CHECK(s.type == pr::series_type::counter);
}

TEST_CASE("sum shapes: each OTLP Sum point's temporality and monotonicity",
          "[protocol][overflow]") {
    ob::point p;
    p.time_ns = 1000000ULL;
    p.as_double = 1;
    ob::scope sc;
    sc.metrics = {{"cumulative", ob::metric_kind::sum, 2, true, false, {p, p}},
                  {"gauge", ob::metric_kind::gauge, 0, false, false, {p}},
                  {"delta", ob::metric_kind::sum, 1, true, false, {p}},
                  {"updown", ob::metric_kind::sum, 2, false, false, {p}},
                  {"delta_updown", ob::metric_kind::sum, 1, false, false, {p}}};
    const auto body = ob::to_protobuf({ob::resource{{}, {sc}}});
    pr::series_batch b;
    REQUIRE(pr::decode_otlp_protobuf(body, b).ok());
    std::vector<pr::sum_shape> shapes;
    REQUIRE(pr::read_sum_shapes(b, shapes));
    REQUIRE(shapes.size() == 6);
    pr::series_samples s;
    const std::vector<pr::series_type> want{
        pr::series_type::counter,       pr::series_type::counter, pr::series_type::gauge,
        pr::series_type::delta_counter, pr::series_type::gauge,   pr::series_type::delta_other};
    for (std::size_t i = 0; i < b.size(); ++i) {
        INFO(i);
        pr::read_series_samples(b, i, s, &shapes[i]);
        CHECK(s.type == want[i]);
        CHECK(s.samples.size() == 1);
    }
    // Not OTLP protobuf: no shapes.
    std::string rw;
    pr::encode_owned_remote_write_v1({}, rw);
    REQUIRE(pr::decode_remote_write_v1(rw, b).ok());
    CHECK_FALSE(pr::read_sum_shapes(b, shapes));
}

TEST_CASE("owned series encode: an OTLP delta counter's points count from the previous one",
          "[protocol][overflow]") {
    const std::vector<pr::float_sample> samples{{16, 5000}, {2, 10000}};
    std::vector<pr::owned_series> series{{"d_total", {}, true, samples}};
    series[0].delta = true;
    series[0].start_ms = 1000;
    std::string otlp;
    pr::encode_owned_otlp(series, otlp);
    pr::series_batch b;
    REQUIRE(pr::decode_otlp_protobuf(otlp, b).ok());
    REQUIRE(b.size() == 2);
    std::vector<pr::sum_shape> shapes;
    REQUIRE(pr::read_sum_shapes(b, shapes));
    // Each point: delta, monotonic, its start the previous point's time (the first: start_ms).
    const std::uint64_t starts[] = {1000, 5000};
    for (std::size_t i = 0; i < 2; ++i) {
        CHECK(shapes[i].temporality == 1);
        CHECK(shapes[i].monotonic);
        pr::wire_reader outer(b.entry(i).raw);
        pr::wire_field point;
        REQUIRE(outer.next(point));
        pr::wire_reader r(point.bytes);
        pr::wire_field f;
        std::optional<std::uint64_t> start;
        while (r.next(f))
            if (f.number == 2) start = f.value;
        REQUIRE(start);
        CHECK(*start == starts[i] * 1000000U);
    }
    pr::series_samples s;
    pr::read_series_samples(b, 1, s, &shapes[1]);
    REQUIRE(s.samples.size() == 1);
    CHECK(s.samples[0].value == 2);
    CHECK(s.type == pr::series_type::delta_counter);
}
