#include "cardinality/bloom_tracker.h"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <thread>
#include <unordered_set>
#include <vector>

#include "unit/cardinality/test_util.h"

using namespace std::chrono_literals;
using mg::cardinality::bloom_tracker;
using mg::cardinality::observe_result;
using mg::cardinality::tracker_config;
using mg::cardinality::tracker_snapshot;
using mg::cardinality::test::id;
using mg::cardinality::test::k_probe_base;

namespace {

tracker_config hour_config(std::uint64_t expected = 100000) {
    tracker_config c;
    c.expected_items = expected;
    c.fp_rate = 0.01;
    c.generations = 3;
    c.window = 1h;  // period 20 min
    return c;
}

double relative_error(std::uint64_t got, std::uint64_t want) {
    return std::abs(static_cast<double>(got) - static_cast<double>(want)) /
           static_cast<double>(want);
}

}  // namespace

TEST_CASE("tracker config validation reports every problem", "[bloom_tracker]") {
    CHECK(tracker_config{}.validate().ok());
    tracker_config bad;
    bad.expected_items = 0;
    bad.fp_rate = 1.5;
    bad.generations = 0;
    const auto st = bad.validate();
    REQUIRE_FALSE(st.ok());
    CHECK(std::count(st.error_message().begin(), st.error_message().end(), '\n') == 2);
    mg::fake_clock clk;
    CHECK_THROWS_AS(bloom_tracker(bad, clk), std::invalid_argument);
}

TEST_CASE("a tracker of 10 series costs well under 1 KiB", "[bloom_tracker]") {
    mg::fake_clock clk;
    bloom_tracker t(tracker_config{}, clk);
    const auto empty = t.memory_bytes();
    CHECK(empty < 512);
    // Seen in all three generations: the worst case for a steady 10-series metric.
    for (int round = 0; round < 3; ++round) {
        for (std::uint64_t i = 0; i < 10; ++i) t.insert(id(i));
        clk.advance(20min);
    }
    for (std::uint64_t i = 0; i < 10; ++i) t.insert(id(i));
    INFO("empty=" << empty << " with 10 series=" << t.memory_bytes());
    CHECK(t.memory_bytes() < 800);
    CHECK(t.count() == 10);
}

TEST_CASE("tracker count matches an exact set within 1% at expected and 3% at 10x",
          "[bloom_tracker]") {
    mg::fake_clock clk;
    bloom_tracker t(hour_config(100000), clk);
    std::unordered_set<std::uint64_t> exact;
    std::uint64_t i = 0;
    for (; i < 100000; ++i) {
        t.insert(id(i));
        exact.insert(id(i));
    }
    // Re-observing known series changes nothing.
    for (std::uint64_t j = 0; j < 100000; j += 7) t.insert(id(j));
    INFO("at expected: " << t.count() << " slices=" << t.slice_count()
                         << " bytes=" << t.memory_bytes());
    CHECK(relative_error(t.count(), exact.size()) <= 0.01);
    for (; i < 1000000; ++i) {
        t.insert(id(i));
        exact.insert(id(i));
    }
    INFO("at 10x: " << t.count() << " slices=" << t.slice_count() << " bytes=" << t.memory_bytes());
    CHECK(relative_error(t.count(), exact.size()) <= 0.03);
    // And the filter did not saturate: fresh series are still new.
    std::uint64_t fp = 0;
    for (std::uint64_t j = 0; j < 100000; ++j) fp += t.test(id(k_probe_base + j)) ? 1 : 0;
    CHECK(fp <= 1100);
}

TEST_CASE("combined false-positive rate over full generations stays at the configured rate",
          "[bloom_tracker]") {
    mg::fake_clock clk;
    bloom_tracker t(hour_config(50000), clk);
    std::uint64_t next = 0;
    for (int g = 0; g < 3; ++g) {
        for (std::uint64_t i = 0; i < 50000; ++i) t.insert(id(next++));
        if (g < 2) clk.advance(20min);
    }
    CHECK(t.count() >= 148000);
    std::uint64_t fp = 0;
    const std::uint64_t probes = 300000;
    for (std::uint64_t j = 0; j < probes; ++j) fp += t.test(id(k_probe_base + j)) ? 1 : 0;
    const double rate = static_cast<double>(fp) / probes;
    INFO("combined fpr=" << rate);
    CHECK(rate <= 0.0105);
}

TEST_CASE("series expire after the window and refresh keeps them", "[bloom_tracker]") {
    mg::fake_clock clk;
    bloom_tracker t(hour_config(1000), clk);
    CHECK(t.insert(id(1)) == observe_result::admitted);
    CHECK(t.insert(id(2)) == observe_result::admitted);
    CHECK(t.insert(id(1)) == observe_result::known);
    CHECK(t.count() == 2);

    clk.advance(20min);                                         // generation 1
    CHECK(t.observe(id(1), 100) == observe_result::refreshed);  // into the current one
    CHECK(t.observe(id(1), 100) == observe_result::known);      // now in the current one
    CHECK(t.count() == 2);
    clk.advance(20min);  // generation 2: both still inside the window
    CHECK(t.test(id(1)));
    CHECK(t.test(id(2)));
    CHECK(t.count() == 2);
    clk.advance(20min);          // generation of series 2 has left the window
    CHECK_FALSE(t.test(id(2)));  // even before a rotation happened
    CHECK(t.count() == 1);
    t.advance();
    CHECK(t.test(id(1)));
    CHECK_FALSE(t.test(id(2)));
    CHECK(t.count() == 1);
    CHECK(t.insert(id(2)) == observe_result::admitted);  // seen again: new again
    clk.advance(40min);
    CHECK_FALSE(t.test(id(1)));  // refreshed 60 min ago
    CHECK(t.test(id(2)));
    CHECK(t.count() == 1);
}

TEST_CASE("rotation catches up after a stall", "[bloom_tracker]") {
    mg::fake_clock clk;
    bloom_tracker t(hour_config(1000), clk);
    for (std::uint64_t i = 0; i < 100; ++i) t.insert(id(i));
    clk.advance(20min);
    for (std::uint64_t i = 100; i < 200; ++i) t.insert(id(i));
    CHECK(t.count() == 200);

    SECTION("2 missed periods") {
        clk.advance(40min + 1s);  // the first 100 are 60 min old, the next 100 are 40 min old
        t.advance();
        CHECK(t.count() == 100);
        for (std::uint64_t i = 0; i < 100; ++i) REQUIRE_FALSE(t.test(id(i)));
        for (std::uint64_t i = 100; i < 200; ++i) REQUIRE(t.test(id(i)));
        clk.advance(20min);
        t.advance();
        CHECK(t.count() == 0);
    }
    SECTION("10 missed periods clear everything") {
        clk.advance(200min);
        CHECK(t.count() == 0);
        CHECK(t.observe(id(5), 1000) == observe_result::admitted);
        CHECK(t.count() == 1);
        for (std::uint64_t i = 6; i < 200; ++i) REQUIRE_FALSE(t.test(id(i)));
        // Rotation is aligned to the original schedule, not to the time of the late call.
        clk.advance(20min);
        CHECK(t.test(id(5)));
        clk.advance(40min);
        CHECK_FALSE(t.test(id(5)));
    }
    SECTION("memory is released by rotation") {
        const auto before = t.memory_bytes();
        clk.advance(1h);
        t.advance();
        CHECK(t.memory_bytes() < before);
        CHECK(t.slice_count() == 0);
    }
}

TEST_CASE("observe decides per series and never admits beyond the limit", "[bloom_tracker]") {
    mg::fake_clock clk;
    bloom_tracker t(hour_config(1000), clk);
    for (std::uint64_t i = 0; i < 5; ++i) CHECK(t.observe(id(i), 5) == observe_result::admitted);
    CHECK(t.observe(id(5), 5) == observe_result::over_limit);
    CHECK_FALSE(t.test(id(5)));  // not inserted
    CHECK(t.count() == 5);
    // Known series always pass, even over the limit and after a refresh.
    for (std::uint64_t i = 0; i < 5; ++i) CHECK(t.observe(id(i), 5) == observe_result::known);
    clk.advance(20min);
    for (std::uint64_t i = 0; i < 5; ++i) CHECK(t.observe(id(i), 0) == observe_result::refreshed);
    CHECK(t.observe(id(6), 5) == observe_result::over_limit);
    // A mixed batch: only the new over-limit ones are dropped.
    std::vector<std::uint64_t> batch{id(0), id(7), id(1), id(8)};
    std::vector<observe_result> out(batch.size());
    t.observe_batch(batch, 6, out);
    CHECK(out[0] == observe_result::known);
    CHECK(out[1] == observe_result::admitted);
    CHECK(out[2] == observe_result::known);
    CHECK(out[3] == observe_result::over_limit);
    CHECK(t.count() == 6);
    // Dry run: insert() always inserts.
    CHECK(t.insert(id(9)) == observe_result::admitted);
    CHECK(t.count() == 7);
}

TEST_CASE("observe_batch matches observe one by one", "[bloom_tracker]") {
    mg::fake_clock clk;
    bloom_tracker a(hour_config(10000), clk);
    bloom_tracker b(hour_config(10000), clk);
    std::vector<std::uint64_t> series;
    for (std::uint64_t i = 0; i < 3000; ++i) series.push_back(id(i % 2000));
    std::vector<observe_result> out(series.size());
    a.observe_batch(series, 1500, out);
    for (std::size_t i = 0; i < series.size(); ++i) REQUIRE(b.observe(series[i], 1500) == out[i]);
    CHECK(a.count() == 1500);
    CHECK(b.count() == 1500);
}

TEST_CASE("dirty flag is set by mutations and swapped by take_dirty", "[bloom_tracker]") {
    mg::fake_clock clk;
    bloom_tracker t(hour_config(1000), clk);
    CHECK_FALSE(t.take_dirty());
    t.insert(id(1));
    CHECK(t.take_dirty());
    CHECK_FALSE(t.take_dirty());
    t.insert(id(1));  // known in the current generation: nothing changes
    CHECK_FALSE(t.take_dirty());
    t.observe(id(2), 1);  // over limit: nothing changes
    CHECK_FALSE(t.take_dirty());
    clk.advance(20min);
    t.insert(id(1));  // refresh writes
    CHECK(t.take_dirty());
    clk.advance(1h);
    t.advance();  // rotation dropped data
    CHECK(t.take_dirty());
}

TEST_CASE("snapshot and restore give identical answers", "[bloom_tracker]") {
    mg::fake_clock clk;
    bloom_tracker t(hour_config(2000), clk);
    for (std::uint64_t i = 0; i < 3000; ++i) t.insert(id(i));
    clk.advance(20min);
    for (std::uint64_t i = 2500; i < 6000; ++i) t.insert(id(i));
    clk.advance(5min);
    const tracker_snapshot snap = t.snapshot();
    CHECK(snap.generations.size() == 3);
    CHECK(snap.generations[0].age == 5min);
    CHECK(snap.generations[1].age == 25min);

    auto restored = bloom_tracker::restore(snap, clk);
    REQUIRE(restored.ok());
    bloom_tracker& r = **restored;
    CHECK(r.count() == t.count());
    CHECK(r.memory_bytes() == t.memory_bytes());
    CHECK(r.slice_count() == t.slice_count());
    for (std::uint64_t i = 0; i < 6000; ++i) REQUIRE(r.test(id(i)));
    for (std::uint64_t i = 0; i < 20000; ++i)
        REQUIRE(r.test(id(k_probe_base + i)) == t.test(id(k_probe_base + i)));
    CHECK_FALSE(r.dirty());

    // Both rotate at the same moment afterwards: the first generation leaves 35 min from now.
    clk.advance(30min);
    CHECK(r.count() == t.count());
    CHECK(r.test(id(0)));
    clk.advance(5min);
    CHECK(r.count() == t.count());
    CHECK_FALSE(r.test(id(0)));
    CHECK(r.test(id(2600)));
}

TEST_CASE("restore counts downtime as elapsed time", "[bloom_tracker]") {
    mg::fake_clock clk;
    bloom_tracker t(hour_config(1000), clk);
    for (std::uint64_t i = 0; i < 10; ++i) t.insert(id(i));
    const auto snap = t.snapshot();
    mg::fake_clock later(clk.wall_now() + 2h);  // restarted two hours later
    auto r = bloom_tracker::restore(snap, later);
    REQUIRE(r.ok());
    CHECK((*r)->count() == 0);
    mg::fake_clock soon(clk.wall_now() + 10min);
    auto s = bloom_tracker::restore(snap, soon);
    REQUIRE(s.ok());
    CHECK((*s)->count() == 10);
}

TEST_CASE("restore rejects broken snapshots", "[bloom_tracker]") {
    mg::fake_clock clk;
    bloom_tracker t(hour_config(1000), clk);
    for (std::uint64_t i = 0; i < 500; ++i) t.insert(id(i));
    const auto good = t.snapshot();
    REQUIRE(bloom_tracker::restore(good, clk).ok());

    auto snap = good;
    snap.generations[0].slices[0].words.pop_back();
    auto r = bloom_tracker::restore(snap, clk);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error_message(), Catch::Contains("words"));

    snap = good;
    snap.generations[0].slices[0].geometry.n_blocks = 0;
    CHECK_FALSE(bloom_tracker::restore(snap, clk).ok());

    snap = good;
    snap.generations.pop_back();
    CHECK_FALSE(bloom_tracker::restore(snap, clk).ok());

    snap = good;
    snap.config.fp_rate = 0;
    CHECK_FALSE(bloom_tracker::restore(snap, clk).ok());

    snap = good;
    snap.format = 99;
    CHECK_FALSE(bloom_tracker::restore(snap, clk).ok());

    snap = good;
    snap.generations[1].latest_count = std::int64_t{1} << 60;
    CHECK_FALSE(bloom_tracker::restore(snap, clk).ok());
    snap.generations[1].latest_count = -(std::int64_t{1} << 60);
    CHECK_FALSE(bloom_tracker::restore(snap, clk).ok());
}

// A false positive on an older generation "refreshes" a series that was never counted there, so
// that generation's count goes below zero; the snapshot carries it and restore must take it
// (it refused once, losing the tracker at the next restart; found by the bloom_file fuzz target).
TEST_CASE("a negative generation count from a false positive survives save and restore",
          "[bloom_tracker]") {
    mg::fake_clock clk;
    tracker_config c = hour_config(64);
    c.fp_rate = 0.5;  // false positives are frequent, so they come quickly
    bloom_tracker t(c, clk);
    for (std::uint64_t i = 0; i < 64; ++i) t.insert(id(i));
    clk.advance(20min);  // they are now in the previous generation, counted there: 64
    // Churn: only new series arrive. Each that tests positive in the previous generation is
    // "refreshed" from there, lowering its count; after more such false positives than it held
    // series, the count is negative (about 2300 series in, with these numbers).
    for (std::uint64_t i = 0; i < 100000 && t.generation_counts()[1] >= 0; ++i) {
        t.insert(id(k_probe_base + i));
    }
    REQUIRE(t.generation_counts()[1] < 0);
    const auto snap = t.snapshot();
    REQUIRE(snap.generations[1].latest_count < 0);

    auto r = bloom_tracker::restore(snap, clk);
    REQUIRE(r.ok());
    CHECK((*r)->count() == t.count());
    auto again = bloom_tracker::restore((*r)->snapshot(), clk);
    REQUIRE(again.ok());
    CHECK((*again)->count() == t.count());
}

// A file may carry a count just under restore's bound; the tracker then steps past it with new
// series, and its own save once failed to load ("impossible count"; found by the bloom_file
// target).
TEST_CASE("a tracker restored near the count bound still restores from its own snapshot",
          "[bloom_tracker]") {
    mg::fake_clock clk;
    bloom_tracker t(hour_config(1000), clk);
    for (std::uint64_t i = 0; i < 10; ++i) t.insert(id(i));
    auto snap = t.snapshot();
    const std::int64_t bound = std::int64_t{1} << 50;
    snap.generations[0].latest_count = bound - 5;
    auto r = bloom_tracker::restore(snap, clk);
    REQUIRE(r.ok());
    for (std::uint64_t i = 0; i < 16; ++i) (*r)->insert(id(k_probe_base + i));
    REQUIRE((*r)->generation_counts()[0] > bound);  // the live count is past the bound
    const auto again = (*r)->snapshot();
    CHECK(again.generations[0].latest_count == bound);
    auto back = bloom_tracker::restore(again, clk);
    REQUIRE(back.ok());
    CHECK((*back)->generation_counts()[0] == bound);
}

// Any positive rate is valid, and per-slice rates shrink from it: they once underflowed to 0,
// which restore refuses, so the tracker's own save did not load (found by the bloom_file target).
TEST_CASE("a tracker with a tiny fp rate restores from its own snapshot", "[bloom_tracker]") {
    mg::fake_clock clk;
    tracker_config c = hour_config(2);
    c.fp_rate = 1e-322;  // subnormal: a few halvings reach 0
    bloom_tracker t(c, clk);
    for (std::uint64_t i = 0; i < 40; ++i) t.insert(id(i));  // several slices
    REQUIRE(t.slice_count() > 2);
    const auto snap = t.snapshot();
    for (const auto& s : snap.generations[0].slices) CHECK(s.geometry.fp_rate > 0);
    auto r = bloom_tracker::restore(snap, clk);
    REQUIRE(r.ok());
    CHECK((*r)->count() == t.count());
}

TEST_CASE("restore saturates times from a damaged snapshot instead of overflowing",
          "[bloom_tracker]") {
    mg::fake_clock clk;
    bloom_tracker t(hour_config(1000), clk);
    for (std::uint64_t i = 0; i < 10; ++i) t.insert(id(i));
    auto snap = t.snapshot();
    snap.taken_at = std::chrono::system_clock::time_point::min();  // "saved" aeons ago
    auto r = bloom_tracker::restore(snap, clk);
    REQUIRE(r.ok());
    CHECK((*r)->count() == 0);  // everything expired

    snap = t.snapshot();
    snap.generations[0].age = std::chrono::nanoseconds::max();
    snap.generations[1].age = std::chrono::nanoseconds::max();
    snap.generations[2].age = std::chrono::nanoseconds::max();
    r = bloom_tracker::restore(snap, clk);
    REQUIRE(r.ok());
    CHECK((*r)->count() == 0);

    snap = t.snapshot();
    snap.taken_at = std::chrono::system_clock::time_point::max();  // "saved" in the future
    r = bloom_tracker::restore(snap, clk);
    REQUIRE(r.ok());
    CHECK((*r)->count() == 10);
}

TEST_CASE("concurrent inserts and rotations lose nothing", "[bloom_tracker][concurrency]") {
    mg::fake_clock clk;
    bloom_tracker t(hour_config(20000), clk);
    constexpr int k_threads = 3;
    constexpr std::uint64_t k_per_thread = 20000;
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int w = 0; w < k_threads; ++w) {
        threads.emplace_back([&, w] {
            while (!go.load()) std::this_thread::yield();
            for (std::uint64_t i = 0; i < k_per_thread; ++i) t.insert(id(w * k_per_thread + i));
        });
    }
    // Exactly two period boundaries pass while the writers run, in many small steps, so that
    // rotations happen in the middle of inserts, triggered by writers and by advance().
    threads.emplace_back([&] {
        while (!go.load()) std::this_thread::yield();
        for (int step = 0; step < 200; ++step) {
            clk.advance(12s);
            t.advance();
            std::this_thread::yield();
        }
    });
    go.store(true);
    for (auto& th : threads) th.join();
    // Everything was inserted less than a window ago: all present, each counted once (modulo FP).
    std::uint64_t missing = 0;
    for (std::uint64_t i = 0; i < k_threads * k_per_thread; ++i) missing += t.test(id(i)) ? 0 : 1;
    CHECK(missing == 0);
    CHECK(relative_error(t.count(), k_threads * k_per_thread) <= 0.01);
}

TEST_CASE("concurrent refreshes across many rotations keep counts sane",
          "[bloom_tracker][concurrency]") {
    mg::fake_clock clk;
    bloom_tracker t(hour_config(5000), clk);
    const int k_threads = GENERATE(1, 3);
    constexpr std::uint64_t k_series = 5000;
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int w = 0; w < k_threads; ++w) {
        threads.emplace_back([&, w] {
            std::uint64_t i = static_cast<std::uint64_t>(w) * 977;
            while (!stop.load(std::memory_order_relaxed)) t.insert(id(i++ % k_series));
        });
    }
    std::uint64_t max_count = 0;
    for (int step = 0; step < 300; ++step) {
        clk.advance(2min);  // 30 periods in all
        t.advance();
        max_count = std::max(max_count, t.count());
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    stop.store(true);
    for (auto& th : threads) th.join();
    CHECK(max_count <= k_series);
    // One more pass after the last rotation: all active, counted once.
    for (std::uint64_t i = 0; i < k_series; ++i) t.insert(id(i));
    CHECK(relative_error(t.count(), k_series) <= 0.02);
}

TEST_CASE("concurrent admissions never exceed the limit", "[bloom_tracker][concurrency]") {
    mg::fake_clock clk;
    bloom_tracker t(hour_config(10000), clk);
    constexpr std::uint64_t k_limit = 5000;
    std::atomic<std::uint64_t> admitted{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < 4; ++w) {
        threads.emplace_back([&, w] {
            std::uint64_t mine = 0;
            // Overlapping ranges: threads race on the same new series too.
            for (std::uint64_t i = 0; i < 8000; ++i)
                mine += t.observe(id(w * 2000 + i), k_limit) == observe_result::admitted ? 1 : 0;
            admitted.fetch_add(mine);
        });
    }
    for (auto& th : threads) th.join();
    CHECK(admitted.load() <= k_limit);
    CHECK(t.count() <= k_limit);
    CHECK(admitted.load() >= k_limit - k_limit / 100);
}
