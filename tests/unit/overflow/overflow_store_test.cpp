// The overflow store (src/overflow/overflow_store.h): one overflow series per tenant and emitted
// label set, emitted on its interval with timestamps in order, a new counter's 0, the bounds
// (folded series per overflow series, overflow series per store), idle overflow series forgotten.
#include "overflow/overflow_store.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using mg::overflow::emitted_series;
using mg::overflow::fold_kind;
using mg::overflow::fold_sample;
using mg::overflow::fold_target;
using mg::overflow::overflow_store;
using mg::overflow::store_options;

namespace {

std::vector<emitted_series> collect(overflow_store& s, std::int64_t now_ms) {
    std::vector<emitted_series> out;
    s.collect(now_ms, [&](emitted_series&& e) { out.push_back(std::move(e)); });
    return out;
}

fold_target counter(std::string_view metric) {
    fold_target t;
    t.metric_name = metric;
    t.overflow_label = "overflow";
    t.kind = fold_kind::counter;
    return t;
}

bool sample(overflow_store& s, const fold_target& t, std::uint64_t series, double v,
            std::int64_t ts) {
    const fold_sample one[] = {{v, ts}};
    return s.fold(t, series, one, ts);
}

}  // namespace

TEST_CASE("overflow store: names, intervals and timestamps in order", "[overflow][store]") {
    store_options o;
    o.default_interval = 10s;
    overflow_store s(o);
    auto t = counter("a_total");
    const mg::label_view kept[] = {{"env", "prod"}};
    t.kept_labels = kept;
    CHECK(mg::overflow::cumulative_by_name("a_total"));
    CHECK(mg::overflow::cumulative_by_name("h_bucket"));
    CHECK(mg::overflow::cumulative_by_name("h_count"));
    CHECK(mg::overflow::cumulative_by_name("h_sum"));
    CHECK_FALSE(mg::overflow::cumulative_by_name("temperature"));

    sample(s, t, 1, 100, 1000);
    sample(s, t, 2, 50, 1000);
    CHECK(collect(s, 5000).empty());  // not due before its interval
    sample(s, t, 1, 110, 6000);
    sample(s, t, 2, 55, 6000);
    auto e = collect(s, 11000);
    REQUIRE(e.size() == 1);
    CHECK(e[0].metric_name == "a_total");
    CHECK(e[0].labels ==
          std::vector<std::pair<std::string, std::string>>{{"env", "prod"}, {"overflow", "true"}});
    REQUIRE(e[0].samples.size() == 2);
    CHECK(e[0].samples[0].value == 0);
    CHECK(e[0].samples[0].timestamp_ms == 1000);
    CHECK(e[0].samples[1].value == 15);
    CHECK(e[0].samples[1].timestamp_ms == 6000);  // the newest folded sample's time
    CHECK(collect(s, 11000).empty());             // not due again before 21000
    CHECK(collect(s, 21000).empty());             // nothing newer folded: nothing to say
    sample(s, t, 1, 111, 22000);
    e = collect(s, 31000);
    REQUIRE(e.size() == 1);
    REQUIRE(e[0].samples.size() == 1);
    CHECK(e[0].samples[0].value == 16);
    CHECK(e[0].samples[0].timestamp_ms == 22000);
    // A sample stamped in the future is emitted at the emission's time, never past it.
    sample(s, t, 1, 112, 99000);
    e = collect(s, 41000);
    REQUIRE(e.size() == 1);
    CHECK(e[0].samples[0].timestamp_ms == 41000);

    // A rule's own interval wins over the default; other labels are another overflow series.
    auto fast = counter("a_total");
    fast.overflow_label = "folded";
    fast.interval = 2s;
    sample(s, fast, 3, 1, 41000);
    CHECK(collect(s, 42000).empty());
    e = collect(s, 43000);
    REQUIRE(e.size() == 1);
    CHECK(e[0].labels.back().first == "folded");
    CHECK(s.stats().overflow_series == 2);
}

TEST_CASE("overflow store: tenants are apart, the bounds hold", "[overflow][store]") {
    store_options o;
    o.default_interval = 1s;
    o.max_series = 2;
    overflow_store s(o);
    auto a = counter("m_total");
    auto b = counter("m_total");
    b.tenant = "team-b";
    b.max_tracked = 2;
    CHECK(sample(s, a, 1, 1, 0));
    CHECK(sample(s, b, 1, 1, 0));
    // A third overflow series does not fit: refused and counted.
    CHECK_FALSE(sample(s, counter("other_total"), 1, 1, 0));
    CHECK(s.stats().samples_refused == 1);
    // Three folded series under a bound of two: one eviction; its next sample adds nothing.
    sample(s, b, 2, 10, 0);
    sample(s, b, 3, 10, 0);
    CHECK(s.stats().evictions == 1);
    CHECK(s.stats().tracked == 3);  // a: 1, b: 2
    sample(s, b, 1, 1000, 500);     // evicted: a fresh start, not +999
    auto e = collect(s, 1000);
    REQUIRE(e.size() == 2);
    for (const auto& x : e) {
        INFO(x.tenant);
        CHECK(x.samples.back().value == 0);
    }
}

TEST_CASE("overflow store: gauges within the staleness window, idle series forgotten",
          "[overflow][store]") {
    store_options o;
    o.default_interval = 1s;
    o.staleness = 5s;
    o.idle = 20s;
    overflow_store s(o);
    fold_target g;
    g.metric_name = "queue_depth";
    g.overflow_label = "overflow";
    g.kind = fold_kind::gauge;
    g.aggregation = mg::overflow::gauge_aggregation::max;
    sample(s, g, 1, 3, 0);
    sample(s, g, 2, 8, 0);
    auto e = collect(s, 1000);
    REQUIRE(e.size() == 1);
    REQUIRE(e[0].samples.size() == 1);  // a gauge has no 0 first
    CHECK(e[0].samples[0].value == 8);
    sample(s, g, 1, 4, 4000);
    e = collect(s, 7000);  // series 2 is stale: only 1 counts
    REQUIRE(e.size() == 1);
    CHECK(e[0].samples[0].value == 4);
    CHECK(collect(s, 10000).empty());  // nothing within the window: nothing emitted
    CHECK(s.stats().overflow_series == 1);
    collect(s, 25000);  // idle for 20 s: forgotten
    CHECK(s.stats().overflow_series == 0);
    CHECK(s.stats().tracked == 0);
}

TEST_CASE("overflow store: a saved state goes on where it stopped", "[overflow][store]") {
    store_options o;
    o.default_interval = 10s;
    overflow_store before(o);
    const auto c = counter("a_total");
    fold_target g;
    g.metric_name = "temp";
    g.overflow_label = "overflow";
    g.kind = fold_kind::gauge;
    g.aggregation = mg::overflow::gauge_aggregation::max;
    g.max_tracked = 2;
    sample(before, c, 1, 100, 1000);
    sample(before, c, 2, 50, 1000);
    sample(before, c, 1, 104, 2000);  // +4
    sample(before, g, 7, 3, 1000);
    sample(before, g, 8, 9, 2000);
    const auto first = collect(before, 20000);
    REQUIRE(first.size() == 2);
    auto saved = before.save_state();
    REQUIRE(saved.size() == 2);

    // A new store (the next process) takes it back: no new 0, the total goes on, each folded
    // series' first sample adds what it counted meanwhile, the gauge still knows its series.
    overflow_store after(o);
    CHECK(after.restore_state(saved, 30000) == 2);
    CHECK(after.stats().restored == 2);
    CHECK(after.stats().overflow_series == 2);
    CHECK(after.stats().tracked == 4);
    CHECK(collect(after, 45000).empty());  // nothing new folded: nothing said
    sample(after, c, 1, 110, 40000);       // +6 (made while down)
    sample(after, c, 2, 51, 40000);        // +1
    sample(after, c, 3, 500, 40000);       // new: adds nothing
    sample(after, g, 7, 4, 40000);
    const auto next = collect(after, 60000);  // due again 10 s after the empty pass
    REQUIRE(next.size() == 2);
    for (const auto& e : next) {
        REQUIRE(e.samples.size() == 1);
        CHECK(e.samples[0].timestamp_ms == 40000);
        if (e.kind == fold_kind::counter) {
            CHECK(e.samples[0].value == 11);
            CHECK(e.metric_name == "a_total");
        } else {
            CHECK(e.samples[0].value == 9);  // max(4, 9): series 8 is remembered (within 5m)
        }
    }
    // Taken back twice (the same state again): nothing is made twice.
    CHECK(after.restore_state(saved, 50000) == 0);
    // The gauge's bound came back with it.
    sample(after, g, 9, 1, 41000);
    CHECK(after.stats().evictions == 1);
}

TEST_CASE("overflow store: a delta counter says what each interval added", "[overflow][store]") {
    store_options o;
    o.default_interval = 10s;
    overflow_store s(o);
    auto t = counter("d_total");
    t.delta = true;
    const fold_sample a[] = {{5, 1000}, {3, 2000}};
    s.fold(t, 1, a, 2000);
    auto e = collect(s, 12000);
    REQUIRE(e.size() == 1);
    CHECK(e[0].delta);
    // Cumulative for remote write: the 0, then everything folded.
    REQUIRE(e[0].samples.size() == 2);
    CHECK(e[0].samples[1].value == 8);
    // As a delta: the interval's sum, from the 0's time.
    CHECK(e[0].interval_sum == 8);
    CHECK(e[0].interval_start_ms == 1000);
    const fold_sample b[] = {{4, 15000}};
    s.fold(t, 2, b, 15000);
    e = collect(s, 22000);
    REQUIRE(e.size() == 1);
    CHECK(e[0].samples.back().value == 12);
    CHECK(e[0].interval_sum == 4);
    CHECK(e[0].interval_start_ms == 2000);

    // The interval goes on across a restart.
    overflow_store after(o);
    REQUIRE(after.restore_state(s.save_state(), 21000) == 1);
    const fold_sample c[] = {{2, 25000}};
    after.fold(t, 1, c, 25000);
    e = collect(after, 40000);
    REQUIRE(e.size() == 1);
    CHECK(e[0].samples.back().value == 14);
    CHECK(e[0].interval_sum == 2);
    CHECK(e[0].interval_start_ms == 15000);
}

TEST_CASE("overflow store: a histogram overflow series, its empty first emission, then its total",
          "[overflow][store][histogram]") {
    store_options o;
    o.default_interval = 10s;
    overflow_store s(o);
    fold_target t;
    t.metric_name = "latency_seconds";
    t.overflow_label = "overflow";
    const auto h = [](std::int64_t ts, double b1, double b2, std::int32_t schema = 0) {
        mg::histogram_sample x;
        x.histogram.schema = schema;
        x.histogram.positive = {{1, b1}, {2, b2}};
        x.histogram.count = b1 + b2;
        x.histogram.sum = b1 + 2 * b2;
        x.timestamp_ms = ts;
        return x;
    };
    const std::vector<mg::histogram_sample> a0{h(1000, 10, 10)}, b0{h(1500, 50, 5)};
    CHECK(s.fold_histograms(t, 1, a0, 1000) == 1);
    CHECK(s.fold_histograms(t, 2, b0, 1500) == 1);
    const std::vector<mg::histogram_sample> a1{h(6000, 12, 10), h(7000, 13, 11)},
        b1{h(6500, 50, 8)};
    CHECK(s.fold_histograms(t, 1, a1, 7000) == 2);
    CHECK(s.fold_histograms(t, 2, b1, 7000) == 1);
    // Floats under the same labels have no place in it; custom buckets are not folded.
    const fold_sample f[] = {{1, 7000}};
    CHECK_FALSE(s.fold(t, 3, f, 7000));
    auto custom = h(7000, 1, 1, -53);
    CHECK(s.fold_histograms(t, 4, {&custom, 1}, 7000) == 0);

    auto e = collect(s, 11000);
    REQUIRE(e.size() == 1);
    CHECK(e[0].kind == fold_kind::histogram);
    CHECK(e[0].samples.empty());
    REQUIRE(e[0].histograms.size() == 2);
    CHECK(e[0].histograms[0].timestamp_ms == 1000);
    CHECK(e[0].histograms[0].histogram.count == 0);
    CHECK(e[0].histograms[0].histogram.positive.empty());
    const auto& total = e[0].histograms[1].histogram;
    CHECK(e[0].histograms[1].timestamp_ms == 7000);
    // Series 1: +3 in bucket 1, +1 in bucket 2; series 2: +3 in bucket 2.
    REQUIRE(total.positive.size() == 2);
    CHECK(total.positive[0] == mg::histogram_bucket{1, 3});
    CHECK(total.positive[1] == mg::histogram_bucket{2, 4});
    CHECK(total.count == 7);
    CHECK(total.sum == 3 + 2 * 4);
    CHECK(s.stats().tracked == 2);
    CHECK(s.stats().samples_folded == 5);

    // A coarser series: the total goes to its schema; the next emission carries it.
    const std::vector<mg::histogram_sample> c0{h(12000, 1, 1, -1)};
    CHECK(s.fold_histograms(t, 5, c0, 12000) == 1);
    e = collect(s, 21000);
    REQUIRE(e.size() == 1);
    REQUIRE(e[0].histograms.size() == 1);
    CHECK(e[0].histograms[0].timestamp_ms == 12000);
    CHECK(e[0].histograms[0].histogram.schema == -1);
    // Schema 0 -> -1: buckets 1 and 2 are one, bucket 1.
    REQUIRE(e[0].histograms[0].histogram.positive.size() == 1);
    CHECK(e[0].histograms[0].histogram.positive[0] == mg::histogram_bucket{1, 7});

    // Delta points add as they are.
    t.delta = true;
    const std::vector<mg::histogram_sample> d{h(22000, 2, 0, -1)};
    CHECK(s.fold_histograms(t, 6, d, 22000) == 1);
    e = collect(s, 31000);
    REQUIRE(e.size() == 1);
    CHECK(e[0].histograms.back().histogram.count == 9);
}

TEST_CASE("overflow store: explicit-bounds histogram and summary overflow series",
          "[overflow][store][histogram]") {
    store_options o;
    o.default_interval = 10s;
    overflow_store s(o);
    fold_target t;
    t.metric_name = "latency";
    t.overflow_label = "overflow";
    t.kind = fold_kind::explicit_histogram;
    const auto h = [](std::int64_t ts, double b0, double b1) {
        mg::explicit_histogram_sample x;
        x.histogram.bounds = {1};
        x.histogram.bucket_counts = {b0, b1};
        x.histogram.count = b0 + b1;
        x.histogram.sum = b0 + 2 * b1;
        x.timestamp_ms = ts;
        return x;
    };
    const std::vector<mg::explicit_histogram_sample> a0{h(1000, 5, 5)}, a1{h(6000, 7, 8)};
    CHECK(s.fold_explicit_histograms(t, 1, a0, 1000) == 1);
    CHECK(s.fold_explicit_histograms(t, 1, a1, 6000) == 1);
    // Another form under the same labels: not folded.
    auto q = t;
    q.kind = fold_kind::summary;
    CHECK(s.fold_explicit_histograms(q, 2, a1, 6000) == 0);
    const std::vector<mg::histogram_sample> native{mg::histogram_sample{}};
    CHECK(s.fold_histograms(t, 3, native, 6000) == 0);
    const auto e = collect(s, 11000);
    REQUIRE(e.size() == 1);
    CHECK(e[0].kind == fold_kind::explicit_histogram);
    REQUIRE(e[0].explicit_histograms.size() == 2);
    CHECK(e[0].explicit_histograms[0].timestamp_ms == 1000);
    CHECK(e[0].explicit_histograms[0].histogram.bounds == std::vector<double>{1});
    CHECK(e[0].explicit_histograms[0].histogram.bucket_counts == std::vector<double>{0, 0});
    CHECK(e[0].explicit_histograms[1].timestamp_ms == 6000);
    CHECK(e[0].explicit_histograms[1].histogram.bucket_counts == std::vector<double>{2, 3});
    CHECK(e[0].explicit_histograms[1].histogram.count == 5);
    CHECK(e[0].explicit_histograms[1].histogram.sum == 8);
}

// An overflow series' OTLP unit is its first fold's; one taken back without a unit (a state file
// of before units) takes the next fold's, so its converted name gets the suffix from then on.
TEST_CASE("overflow store: the unit is the first fold's, or a restored series' next",
          "[overflow][store]") {
    store_options o;
    o.default_interval = 10s;
    overflow_store before(o);
    auto seconds = counter("duration");
    seconds.from_otlp = true;
    seconds.unit = "s";
    auto bare = counter("requests");
    bare.from_otlp = true;
    sample(before, seconds, 1, 1, 1000);
    sample(before, bare, 1, 1, 1000);
    auto other = seconds;
    other.unit = "ms";  // a later fold with another unit does not rename the series
    sample(before, other, 2, 1, 2000);
    std::map<std::string, std::string> unit_of;
    for (const auto& e : collect(before, 20000)) unit_of[e.metric_name] = e.unit;
    CHECK(unit_of == std::map<std::string, std::string>{{"duration", "s"}, {"requests", ""}});

    overflow_store after(o);
    REQUIRE(after.restore_state(before.save_state(), 21000) == 2);
    auto with_unit = bare;
    with_unit.unit = "1";
    sample(after, with_unit, 1, 5, 30000);
    sample(after, seconds, 1, 5, 30000);
    unit_of.clear();
    for (const auto& e : collect(after, 40000)) unit_of[e.metric_name] = e.unit;
    CHECK(unit_of == std::map<std::string, std::string>{{"duration", "s"}, {"requests", "1"}});
}

TEST_CASE("overflow store: histogram overflow series go on across a restart too",
          "[overflow][store][histogram]") {
    store_options o;
    o.default_interval = 10s;
    overflow_store before(o);
    fold_target t;
    t.metric_name = "latency_seconds";
    t.overflow_label = "overflow";
    fold_target x = t;
    x.metric_name = "rpc";
    x.from_otlp = true;
    x.unit = "ms";
    x.kind = fold_kind::explicit_histogram;
    const auto h = [](std::int64_t ts, double b1, double b2) {
        mg::histogram_sample s;
        s.histogram.positive = {{1, b1}, {2, b2}};
        s.histogram.count = b1 + b2;
        s.histogram.sum = b1 + 2 * b2;
        s.timestamp_ms = ts;
        return s;
    };
    const auto e = [](std::int64_t ts, double b0, double b1) {
        mg::explicit_histogram_sample s;
        s.histogram = {{1.0}, {b0, b1}, b0 + b1, b0 + b1};
        s.timestamp_ms = ts;
        return s;
    };
    const std::vector<mg::histogram_sample> h0{h(1000, 10, 10)}, h1{h(2000, 12, 11)};
    REQUIRE(before.fold_histograms(t, 1, h0, 1000) == 1);
    REQUIRE(before.fold_histograms(t, 1, h1, 2000) == 1);  // +2, +1
    const std::vector<mg::explicit_histogram_sample> e0{e(1000, 5, 5)}, e1{e(2000, 6, 7)};
    REQUIRE(before.fold_explicit_histograms(x, 7, e0, 1000) == 1);
    REQUIRE(before.fold_explicit_histograms(x, 7, e1, 2000) == 1);  // +1, +2
    REQUIRE(collect(before, 20000).size() == 2);

    overflow_store after(o);
    REQUIRE(after.restore_state(before.save_state(), 21000) == 2);
    CHECK(after.stats().tracked == 2);
    // The remembered series' next samples add their increases to the saved totals.
    const std::vector<mg::histogram_sample> h2{h(30000, 15, 11)};
    REQUIRE(after.fold_histograms(t, 1, h2, 30000) == 1);  // +3, +0
    const std::vector<mg::explicit_histogram_sample> e2{e(30000, 6, 10)};
    REQUIRE(after.fold_explicit_histograms(x, 7, e2, 30000) == 1);  // +0, +3
    const auto next = collect(after, 40000);
    REQUIRE(next.size() == 2);
    for (const auto& em : next) {
        if (em.kind == fold_kind::histogram) {
            REQUIRE(em.histograms.size() == 1);  // no new empty histogram
            CHECK(em.histograms[0].timestamp_ms == 30000);
            CHECK(em.histograms[0].histogram.positive ==
                  std::vector<mg::histogram_bucket>{{1, 5}, {2, 1}});
            CHECK(em.histograms[0].histogram.count == 6);
        } else {
            CHECK(em.from_otlp);
            CHECK(em.unit == "ms");  // the first fold's, kept across the restart
            REQUIRE(em.explicit_histograms.size() == 1);
            CHECK(em.explicit_histograms[0].histogram.bounds == std::vector<double>{1.0});
            CHECK(em.explicit_histograms[0].histogram.bucket_counts == std::vector<double>{1, 5});
            CHECK(em.explicit_histograms[0].histogram.count == 6);
        }
    }
}
