// The overflow folds (src/overflow): a counter's increases summed across folded series with
// resets, new series and the memory bound; gauge aggregations within the staleness window.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "overflow/counter_fold.h"
#include "overflow/gauge_fold.h"

using mg::overflow::counter_fold;
using mg::overflow::gauge_aggregation;
using mg::overflow::gauge_fold;

TEST_CASE("counter fold: the total's increase is the sum of the folded series' increases",
          "[overflow]") {
    counter_fold f(1000);
    // Three series with large absolute values: the first sample of each adds nothing.
    CHECK(f.add(1, 500) == 0);
    CHECK(f.add(2, 7000) == 0);
    CHECK(f.add(3, 42) == 0);
    CHECK(f.total() == 0);
    CHECK(f.add(1, 510) == 10);
    CHECK(f.add(2, 7001) == 1);
    CHECK(f.add(3, 42) == 0);
    CHECK(f.total() == 11);
    // A reset: 3 counted since it, as rate() reads it.
    CHECK(f.add(1, 3) == 3);
    CHECK(f.total() == 14);
    CHECK(f.tracked() == 3);
}

TEST_CASE("counter fold: never decreases and never jumps by more than the real increase",
          "[overflow]") {
    const std::size_t bound = GENERATE(5u, 50u, 1000u);
    counter_fold f(bound);
    std::mt19937_64 rng(bound);
    std::vector<double> value(200, 0);
    std::vector<bool> seen(200, false);
    double real = 0;  // increases after each series' first sample
    double prev_total = 0;
    for (int step = 0; step < 20000; ++step) {
        const std::size_t s = rng() % value.size();
        double v = value[s] + static_cast<double>(rng() % 10);
        if (rng() % 200 == 0) v = static_cast<double>(rng() % 5);  // a reset
        const double inc = v >= value[s] ? v - value[s] : v;
        if (seen[s]) real += inc;
        seen[s] = true;
        value[s] = v;
        f.add(s, v);
        REQUIRE(f.total() >= prev_total);
        REQUIRE(f.total() <= real + 1e-9);
        prev_total = f.total();
    }
    CHECK(f.tracked() <= bound);
    if (bound >= value.size()) {
        CHECK(f.total() == Approx(real));
        CHECK(f.evictions() == 0);
    } else {
        CHECK(f.evictions() > 0);
    }
}

TEST_CASE("counter fold: NaN, infinite and negative samples are ignored and counted",
          "[overflow]") {
    counter_fold f(10);
    f.add(1, 5);
    CHECK(f.add(1, std::nan("")) == 0);
    CHECK(f.add(1, -1) == 0);
    CHECK(f.add(1, std::numeric_limits<double>::infinity()) == 0);
    CHECK(f.ignored() == 3);
    CHECK(f.add(1, 6) == 1);
}

TEST_CASE("gauge fold: sum, max, min and last over the series within the staleness window",
          "[overflow]") {
    auto make = [](gauge_aggregation a) { return gauge_fold(a, 300000, 100); };
    for (auto a : {gauge_aggregation::sum, gauge_aggregation::max, gauge_aggregation::min,
                   gauge_aggregation::last}) {
        INFO(mg::overflow::to_string(a));
        auto g = make(a);
        CHECK_FALSE(g.value(0).has_value());
        g.add(1, 10, 1000);
        g.add(2, 30, 2000);
        g.add(3, 20, 1500);
        g.add(2, 5, 1800);  // older than series 2's sample: ignored
        const double want = a == gauge_aggregation::sum   ? 60
                            : a == gauge_aggregation::max ? 30
                            : a == gauge_aggregation::min ? 10
                                                          : 30;
        CHECK(g.value(3000) == Approx(want));
        // Series 1 goes stale (its sample is over 5 min old at this time), the others stay.
        const double later = a == gauge_aggregation::sum   ? 50
                             : a == gauge_aggregation::max ? 30
                             : a == gauge_aggregation::min ? 20
                                                           : 30;
        CHECK(g.value(301001) == Approx(later));
        CHECK_FALSE(g.value(1000000).has_value());
    }
    CHECK(mg::overflow::parse_gauge_aggregation("max").ok());
    auto bad = mg::overflow::parse_gauge_aggregation("avg");
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error_message(), Catch::Contains("want sum, max, min or last"));
}

TEST_CASE("gauge fold: the bound keeps the most recently updated series", "[overflow]") {
    gauge_fold g(gauge_aggregation::sum, 300000, 2);
    g.add(1, 1, 100);
    g.add(2, 2, 100);
    g.add(3, 4, 100);  // pushes series 1 out
    CHECK(g.tracked() == 2);
    CHECK(g.evictions() == 1);
    CHECK(g.value(200) == Approx(6));
}
