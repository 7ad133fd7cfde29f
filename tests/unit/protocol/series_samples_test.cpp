// series_samples (a series' float samples and native histograms read again from its bytes, for
// the overflow folds) and owned_series_encode (the overflow series' own requests, native
// histograms included), both read back through the decoders.
#include "protocol/series_samples.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "protocol/otlp.h"
#include "protocol/otlp_json.h"
#include "protocol/otlp_to_prw.h"
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
    CHECK(s.unreadable == 0);
    REQUIRE(s.histograms.size() == 1);  // a native histogram without buckets
    CHECK(s.histograms[0].histogram.count == 3);
    CHECK(s.histograms[0].histogram.positive.empty());
    CHECK(s.histograms[0].timestamp_ms == 1000);

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

TEST_CASE("series samples: OTLP number points, and none from JSON", "[protocol][overflow]") {
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
    CHECK(s.samples.empty());  // a histogram point: no float sample, an explicit histogram
    CHECK(s.unreadable == 0);
    CHECK(s.explicit_histograms.size() == 1);

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

// The unit an overflow series folded from OTLP carries (issue 21): written as Metric.unit, read
// back by the decoder into each point's entry, and turned into the same suffix by the remote-write
// conversion as the senders' own series get. A unit that is not text is left out of the entry.
TEST_CASE("owned series encode: an OTLP series' unit, decoded and converted to its suffix",
          "[protocol][overflow]") {
    const std::vector<pr::float_sample> samples{{0, 1000}, {12, 3000}};
    std::vector<pr::owned_series> series{{"request_duration", {}, true, samples},
                                         {"queue", {}, false, {samples.data() + 1, 1}},
                                         {"plain", {}, false, {samples.data() + 1, 1}}};
    series[0].unit = "s";
    series[1].unit = "By";
    std::string otlp;
    pr::encode_owned_otlp(series, otlp);
    pr::series_batch b;
    REQUIRE(pr::decode_otlp_protobuf(otlp, b).ok());
    REQUIRE(b.size() == 4);  // one per data point
    CHECK(b.entry(0).unit == "s");
    CHECK(b.entry(1).unit == "s");
    CHECK(b.entry(2).unit == "By");
    CHECK(b.entry(3).unit.empty());

    const std::vector<std::uint8_t> keep(b.size(), 1);
    std::string converted;
    pr::prw_conversion_result r;
    pr::prw_conversion_options o;
    o.target_info = false;
    pr::otlp_to_prw_converter c;
    REQUIRE(c.convert(b, keep, {}, converted, r, o).ok());
    pr::series_batch rw;
    REQUIRE(pr::decode_remote_write_v1(converted, rw).ok());
    std::set<std::string> names;
    for (std::size_t i = 0; i < rw.size(); ++i) names.emplace(rw[i].metric_name);
    CHECK(names == std::set<std::string>{"request_duration_seconds_total", "queue_bytes", "plain"});

    // Not UTF-8: the request is read, the entry has no unit.
    series.resize(1);
    series[0].unit = "\xff";
    otlp.clear();
    pr::encode_owned_otlp(series, otlp);
    REQUIRE(pr::decode_otlp_protobuf(otlp, b).ok());
    REQUIRE(b.size() == 2);
    CHECK(b.entry(0).unit.empty());
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

namespace {

using bucket_map = std::map<std::int32_t, double>;

bucket_map buckets(const std::vector<mg::histogram_bucket>& b) {
    bucket_map out;
    for (const auto& x : b) out[x.index] = x.count;
    return out;
}

// Whether the first Histogram of the first TimeSeries of a 1.0 request has integer counts
// (count_int, field 1) rather than float ones (count_float, field 2).
bool integer_form(const std::string& body) {
    mg::protocol::wire_reader r(body);
    mg::protocol::wire_field f;
    if (!r.next(f)) return false;
    mg::protocol::wire_reader ts(f.bytes);
    while (ts.next(f)) {
        if (f.number != 4) continue;
        mg::protocol::wire_reader h(f.bytes);
        while (h.next(f)) {
            if (f.number == 1) return true;
            if (f.number == 2) return false;
        }
    }
    return false;
}

}  // namespace

TEST_CASE("series samples: native histograms, integer and float forms, 1.0 and 2.0",
          "[protocol][overflow]") {
    pr::owned_histogram ints;
    ints.schema = 1;
    ints.zero_threshold = 0.001;
    ints.zero_count = 2;
    ints.count = 18;
    ints.sum = 42.5;
    // Buckets -1 and 0, then (a gap of 3) bucket 4; counts 5, 3, 7 as deltas 5, -2, +4.
    ints.positive_spans = {{-1, 2}, {3, 1}};
    ints.positive_deltas = {5, -2, 4};
    ints.negative_spans = {{0, 1}};
    ints.negative_deltas = {1};
    ints.reset_hint = 2;
    ints.timestamp_ms = 1234;
    pr::owned_histogram floats;
    floats.schema = -2;
    floats.float_form = true;
    floats.count_float = 2.5;
    floats.zero_count_float = 0.5;
    floats.positive_spans = {{2, 2}};
    floats.positive_counts = {1.25, 0.75};
    floats.reset_hint = 3;
    floats.timestamp_ms = 2000;
    pr::owned_histogram bad = ints;  // spans of 4 buckets, 3 deltas
    bad.positive_spans = {{-1, 3}, {3, 1}};
    pr::owned_timeseries ts;
    ts.labels = {{"__name__", "latency"}};
    ts.histograms = {ints, floats, bad};
    const std::vector<pr::owned_timeseries> req{ts};

    for (const bool v2 : {false, true}) {
        INFO((v2 ? "2.0" : "1.0"));
        std::string body;
        pr::series_batch b;
        if (v2) {
            pr::encode_remote_write_v2(req, body);
            REQUIRE(pr::decode_remote_write_v2(body, b).ok());
        } else {
            pr::encode_remote_write_v1(req, {}, body);
            REQUIRE(pr::decode_remote_write_v1(body, b).ok());
        }
        pr::series_samples s;
        pr::read_series_samples(b, 0, s);
        CHECK(s.samples.empty());
        CHECK(s.unreadable == 1);  // the bad one
        REQUIRE(s.histograms.size() == 2);
        const auto& h = s.histograms[0].histogram;
        CHECK(h.schema == 1);
        CHECK(h.zero_threshold == 0.001);
        CHECK(h.zero_count == 2);
        CHECK(h.count == 18);
        CHECK(h.sum == 42.5);
        CHECK(buckets(h.positive) == bucket_map{{-1, 5}, {0, 3}, {4, 7}});
        CHECK(buckets(h.negative) == bucket_map{{0, 1}});
        CHECK(s.histograms[0].hint == mg::histogram_reset_hint::no);
        CHECK(s.histograms[0].timestamp_ms == 1234);
        const auto& f = s.histograms[1].histogram;
        CHECK(f.schema == -2);
        CHECK(f.count == 2.5);
        CHECK(f.zero_count == 0.5);
        CHECK(buckets(f.positive) == bucket_map{{2, 1.25}, {3, 0.75}});
        CHECK(f.negative.empty());
        CHECK(s.histograms[1].hint == mg::histogram_reset_hint::gauge);
        CHECK(s.histograms[1].timestamp_ms == 2000);
    }
}

TEST_CASE("owned series encode: native histograms read back from remote write and OTLP",
          "[protocol][overflow]") {
    mg::histogram_sample zero;
    zero.histogram.schema = 2;
    zero.timestamp_ms = 1000;
    mg::histogram_sample total;
    total.histogram.schema = 2;
    total.histogram.zero_threshold = 0.25;
    total.histogram.zero_count = 3;
    total.histogram.sum = -7.5;
    // Runs -2..-1 and 5, an empty bucket at 0 (left out), negative bucket 1.
    total.histogram.positive = {{-2, 4}, {-1, 1}, {0, 0}, {5, 2}};
    total.histogram.negative = {{1, 6}};
    total.histogram.count = 3 + 4 + 1 + 2 + 6;
    total.timestamp_ms = 16000;
    const std::vector<mg::histogram_sample> hs{zero, total};
    const std::vector<std::pair<std::string, std::string>> labels{{"overflow", "true"}};
    std::vector<pr::owned_series> series{{"latency", labels, true, {}}};
    series[0].histograms = hs;

    const auto check = [&](const pr::series_samples& s, bool exact) {
        REQUIRE(s.histograms.size() == 2);
        CHECK(s.histograms[0].timestamp_ms == 1000);
        CHECK(s.histograms[0].histogram.count == 0);
        CHECK(s.histograms[0].histogram.positive.empty());
        const auto& h = s.histograms[1].histogram;
        CHECK(s.histograms[1].timestamp_ms == 16000);
        CHECK(s.histograms[1].hint == mg::histogram_reset_hint::unknown);
        CHECK(h.schema == 2);
        CHECK(h.zero_threshold == 0.25);
        CHECK(h.zero_count == 3);
        CHECK(h.count == 16);
        CHECK(h.sum == -7.5);
        bucket_map pos = buckets(h.positive);
        if (!exact) std::erase_if(pos, [](const auto& kv) { return kv.second == 0; });
        CHECK(pos == bucket_map{{-2, 4}, {-1, 1}, {5, 2}});
        CHECK(buckets(h.negative) == bucket_map{{1, 6}});
    };

    std::string rw;
    pr::encode_owned_remote_write_v1(series, rw);
    pr::series_batch b;
    REQUIRE(pr::decode_remote_write_v1(rw, b).ok());
    REQUIRE(b.size() == 1);
    CHECK(b.entry(0).histograms == 2);
    pr::series_samples s;
    pr::read_series_samples(b, 0, s);
    CHECK(s.unreadable == 0);
    check(s, true);

    // OTLP: a cumulative ExponentialHistogram; read back through the remote-write conversion.
    std::string otlp;
    pr::encode_owned_otlp(series, otlp);
    REQUIRE(pr::decode_otlp_protobuf(otlp, b).ok());
    REQUIRE(b.size() == 2);
    CHECK(b[0].kind == pr::metric_kind::exponential_histogram);
    CHECK(b[0].metric_name == "latency");
    const std::vector<std::uint8_t> keep(b.size(), 1);
    std::string converted;
    pr::prw_conversion_result r;
    pr::prw_conversion_options o;
    o.target_info = false;
    o.name_suffixes = false;
    pr::otlp_to_prw_converter c;
    REQUIRE(c.convert(b, keep, {}, converted, r, o).ok());
    CHECK(r.points_dropped() == 0);
    REQUIRE(pr::decode_remote_write_v1(converted, b).ok());
    REQUIRE(b.size() == 2);
    pr::series_samples both;
    for (std::size_t i = 0; i < b.size(); ++i) {
        CHECK(b[i].metric_name == "latency");
        pr::read_series_samples(b, i, s);
        REQUIRE(s.histograms.size() == 1);
        both.histograms.push_back(s.histograms[0]);
    }
    check(both, false);
}

TEST_CASE("series samples: OTLP exponential histogram points as native histograms",
          "[protocol][overflow]") {
    ob::point p;
    p.time_ns = 7000000000ULL;
    p.count = 12;
    p.sum = 30;
    p.scale = 3;
    p.zero_count = 1;
    p.zero_threshold = 0.001;
    p.pos_offset = -2;  // OTLP buckets -2, -1, 0: Prometheus' -1, 0, 1
    p.pos_counts = {4, 0, 5};
    p.neg_offset = 4;
    p.neg_counts = {2};
    ob::point fine = p;  // scale 10: two halvings to schema 8, buckets k -> (k >> 2) + 1
    fine.scale = 10;
    fine.pos_offset = 5;
    fine.pos_counts = {1, 1, 1, 1};  // 5, 6, 7 -> 2 and 8 -> 3
    fine.neg_counts = {};
    fine.count = 5;
    ob::point gap = p;
    gap.flags = 1;  // no recorded value
    ob::point coarse = p;
    coarse.scale = -5;  // below Prometheus' -4: read, but not foldable (the fold says so)
    ob::scope sc;
    sc.metrics = {
        {"cumulative", ob::metric_kind::exponential_histogram, 2, false, false, {p, fine, gap}},
        {"delta", ob::metric_kind::exponential_histogram, 1, false, false, {p, coarse}}};
    const auto body = ob::to_protobuf({ob::resource{{}, {sc}}});
    pr::series_batch b;
    REQUIRE(pr::decode_otlp_protobuf(body, b).ok());
    REQUIRE(b.size() == 5);
    std::vector<pr::sum_shape> shapes;
    REQUIRE(pr::read_sum_shapes(b, shapes));
    pr::series_samples s;

    pr::read_series_samples(b, 0, s, &shapes[0]);
    CHECK(s.type == pr::series_type::counter);
    CHECK(s.unreadable == 0);
    CHECK(s.samples.empty());
    REQUIRE(s.histograms.size() == 1);
    const auto& h = s.histograms[0].histogram;
    CHECK(s.histograms[0].timestamp_ms == 7000);
    CHECK(h.schema == 3);
    CHECK(h.count == 12);
    CHECK(h.sum == 30);
    CHECK(h.zero_count == 1);
    CHECK(h.zero_threshold == 0.001);
    CHECK(buckets(h.positive) == bucket_map{{-1, 4}, {0, 0}, {1, 5}});
    CHECK(buckets(h.negative) == bucket_map{{5, 2}});

    pr::read_series_samples(b, 1, s, &shapes[1]);
    REQUIRE(s.histograms.size() == 1);
    CHECK(s.histograms[0].histogram.schema == 8);
    CHECK(buckets(s.histograms[0].histogram.positive) == bucket_map{{2, 3}, {3, 1}});

    pr::read_series_samples(b, 2, s, &shapes[2]);
    CHECK(s.histograms.empty());  // a gap: nothing to fold, nothing lost
    CHECK(s.unreadable == 0);

    pr::read_series_samples(b, 3, s, &shapes[3]);
    CHECK(s.type == pr::series_type::delta_counter);
    REQUIRE(s.histograms.size() == 1);
    pr::read_series_samples(b, 4, s, &shapes[4]);
    REQUIRE(s.histograms.size() == 1);
    CHECK(s.histograms[0].histogram.schema == -5);
    // Without shapes: cumulative.
    pr::read_series_samples(b, 3, s);
    CHECK(s.type == pr::series_type::counter);
}

TEST_CASE("series samples: OTLP histogram and summary points, encoded and read back",
          "[protocol][overflow]") {
    ob::point h;
    h.time_ns = 9000000000ULL;
    h.count = 6;
    h.sum = 2.5;
    h.bounds = {0.1, 1};
    h.bucket_counts = {1, 2, 3};
    ob::point gap = h;
    gap.flags = 1;
    ob::point q;
    q.time_ns = 9000000000ULL;
    q.count = 4;
    q.sum = 10;
    q.quantiles = {{0.5, 2}, {0.99, 4}};
    ob::scope sc;
    sc.metrics = {{"latency", ob::metric_kind::histogram, 2, false, false, {h, gap}},
                  {"deltas", ob::metric_kind::histogram, 1, false, false, {h}},
                  {"rpc", ob::metric_kind::summary, 0, false, false, {q}}};
    const auto body = ob::to_protobuf({ob::resource{{}, {sc}}});
    pr::series_batch b;
    REQUIRE(pr::decode_otlp_protobuf(body, b).ok());
    REQUIRE(b.size() == 4);
    std::vector<pr::sum_shape> shapes;
    REQUIRE(pr::read_sum_shapes(b, shapes));
    pr::series_samples s;
    pr::read_series_samples(b, 0, s, &shapes[0]);
    CHECK(s.type == pr::series_type::counter);
    CHECK(s.unreadable == 0);
    REQUIRE(s.explicit_histograms.size() == 1);
    CHECK(s.explicit_histograms[0].timestamp_ms == 9000);
    CHECK(s.explicit_histograms[0].histogram.bounds == std::vector<double>{0.1, 1});
    CHECK(s.explicit_histograms[0].histogram.bucket_counts == std::vector<double>{1, 2, 3});
    CHECK(s.explicit_histograms[0].histogram.count == 6);
    CHECK(s.explicit_histograms[0].histogram.sum == 2.5);
    pr::read_series_samples(b, 1, s, &shapes[1]);
    CHECK(s.explicit_histograms.empty());  // a gap
    CHECK(s.unreadable == 0);
    pr::read_series_samples(b, 2, s, &shapes[2]);
    CHECK(s.type == pr::series_type::delta_counter);
    pr::read_series_samples(b, 3, s, &shapes[3]);
    CHECK(s.type == pr::series_type::counter);
    REQUIRE(s.explicit_histograms.size() == 1);
    CHECK(s.explicit_histograms[0].histogram.bucket_counts.empty());
    CHECK(s.explicit_histograms[0].histogram.count == 4);
    CHECK(s.explicit_histograms[0].histogram.sum == 10);

    // The overflow series' own: a cumulative Histogram, a Summary without quantiles; and what a
    // remote-write exporter makes of them (the converter's _bucket, _count and _sum series).
    mg::explicit_histogram_sample zero;
    zero.histogram.bounds = {0.1, 1};
    zero.histogram.bucket_counts = {0, 0, 0};
    zero.timestamp_ms = 1000;
    mg::explicit_histogram_sample total;
    total.histogram.bounds = {0.1, 1};
    total.histogram.bucket_counts = {4, 0, 2};
    total.histogram.count = 6;
    total.histogram.sum = 3.5;
    total.timestamp_ms = 2000;
    const std::vector<mg::explicit_histogram_sample> hs{zero, total};
    mg::explicit_histogram_sample sum_only;
    sum_only.histogram.count = 7;
    sum_only.histogram.sum = 70;
    sum_only.timestamp_ms = 2000;
    const std::vector<mg::explicit_histogram_sample> qs{sum_only};
    const std::vector<std::pair<std::string, std::string>> labels{{"overflow", "true"}};
    std::vector<pr::owned_series> series{{"latency", labels, true, {}}, {"rpc", labels, true, {}}};
    series[0].explicit_histograms = hs;
    series[1].explicit_histograms = qs;
    series[1].summary = true;
    std::string otlp;
    pr::encode_owned_otlp(series, otlp);
    REQUIRE(pr::decode_otlp_protobuf(otlp, b).ok());
    REQUIRE(b.size() == 3);
    CHECK(b[0].kind == pr::metric_kind::histogram);
    CHECK(b[2].kind == pr::metric_kind::summary);
    REQUIRE(pr::read_sum_shapes(b, shapes));
    pr::read_series_samples(b, 1, s, &shapes[1]);
    CHECK(s.type == pr::series_type::counter);
    REQUIRE(s.explicit_histograms.size() == 1);
    CHECK(s.explicit_histograms[0].histogram.bucket_counts == std::vector<double>{4, 0, 2});
    CHECK(s.explicit_histograms[0].histogram.count == 6);
    CHECK(s.explicit_histograms[0].histogram.sum == 3.5);
    CHECK(s.explicit_histograms[0].timestamp_ms == 2000);
    pr::read_series_samples(b, 2, s, &shapes[2]);
    REQUIRE(s.explicit_histograms.size() == 1);
    CHECK(s.explicit_histograms[0].histogram.count == 7);

    const std::vector<std::uint8_t> keep(b.size(), 1);
    std::string converted;
    pr::prw_conversion_result r;
    pr::prw_conversion_options o;
    o.target_info = false;
    o.name_suffixes = false;
    pr::otlp_to_prw_converter c;
    REQUIRE(c.convert(b, keep, {}, converted, r, o).ok());
    CHECK(r.points_dropped() == 0);
    REQUIRE(pr::decode_remote_write_v1(converted, b).ok());
    std::map<std::string, double> last;  // name{le} -> the value at 2000
    for (std::size_t i = 0; i < b.size(); ++i) {
        pr::read_series_samples(b, i, s);
        REQUIRE(s.samples.size() == 1);
        std::string key(b[i].metric_name);
        for (const auto& l : b[i].labels) {
            if (l.name == "le") key += "{" + std::string(l.value) + "}";
        }
        if (s.samples[0].timestamp_ms == 2000) last[key] = s.samples[0].value;
    }
    CHECK(last == std::map<std::string, double>{{"latency_bucket{0.1}", 4},
                                                {"latency_bucket{1}", 4},
                                                {"latency_bucket{+Inf}", 6},
                                                {"latency_count", 6},
                                                {"latency_sum", 3.5},
                                                {"rpc_count", 7},
                                                {"rpc_sum", 70}});
}

TEST_CASE("owned series encode: random sparse native histograms read back bucket for bucket",
          "[protocol][overflow]") {
    std::mt19937_64 rng(21);
    for (int round = 0; round < 200; ++round) {
        INFO("round " << round);
        mg::histogram_sample in;
        auto& h = in.histogram;
        h.schema = static_cast<std::int32_t>(rng() % 13) - 4;
        h.zero_threshold = (rng() % 2 == 0) ? 0 : 0.001;
        h.zero_count = static_cast<double>(rng() % 5);
        h.sum = static_cast<double>(rng() % 1000) / 4;
        for (auto* side : {&h.positive, &h.negative}) {
            std::int32_t index = static_cast<std::int32_t>(rng() % 200) - 100;
            const auto n = rng() % 12;
            for (std::uint64_t k = 0; k < n; ++k) {
                index += 1 + static_cast<std::int32_t>(rng() % 4);  // gaps of 0..3 buckets
                // Some buckets empty (left out of the encoding), some fractional.
                const double c = static_cast<double>(rng() % 4) * ((rng() % 3 == 0) ? 0.5 : 1);
                side->push_back({index, c});
            }
        }
        h.count = h.zero_count;
        for (const auto* side : {&h.positive, &h.negative}) {
            for (const auto& b : *side) h.count += b.count;
        }
        in.timestamp_ms = 1000 + round;
        const std::vector<mg::histogram_sample> hs{in};
        std::vector<pr::owned_series> series{{"h", {}, true, {}}};
        series[0].histograms = hs;
        std::string rw;
        pr::encode_owned_remote_write_v1(series, rw);
        // Whole counts go in the integer form, others as floats.
        bool whole = true;
        for (const auto* side : {&h.positive, &h.negative}) {
            for (const auto& x : *side) whole = whole && std::floor(x.count) == x.count;
        }
        CHECK(integer_form(rw) == whole);
        pr::series_batch b;
        REQUIRE(pr::decode_remote_write_v1(rw, b).ok());
        pr::series_samples s;
        pr::read_series_samples(b, 0, s);
        REQUIRE(s.unreadable == 0);
        REQUIRE(s.histograms.size() == 1);
        const auto& out = s.histograms[0].histogram;
        CHECK(out.schema == h.schema);
        CHECK(out.zero_threshold == h.zero_threshold);
        CHECK(out.zero_count == h.zero_count);
        CHECK(out.count == h.count);
        CHECK(out.sum == h.sum);
        const auto populated = [](const std::vector<mg::histogram_bucket>& v) {
            bucket_map m = buckets(v);
            std::erase_if(m, [](const auto& kv) { return kv.second == 0; });
            return m;
        };
        CHECK(buckets(out.positive) == populated(h.positive));
        CHECK(buckets(out.negative) == populated(h.negative));
        CHECK(s.histograms[0].timestamp_ms == in.timestamp_ms);
    }
}
