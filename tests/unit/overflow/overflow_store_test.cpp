// The overflow store (src/overflow/overflow_store.h): one overflow series per tenant and emitted
// label set, emitted on its interval with timestamps in order, a new counter's 0, the bounds
// (folded series per overflow series, overflow series per store), idle overflow series forgotten.
#include "overflow/overflow_store.h"

#include <catch2/catch.hpp>
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
