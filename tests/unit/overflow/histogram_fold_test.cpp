// The overflow native histogram fold (src/overflow/histogram_fold.h): bucket-wise increases
// summed across folded series with resets, new series and the memory bound; the layout (the
// coarsest schema, the widest zero threshold) and Prometheus's downscaling rule; integer and
// float counts alike.
#include "overflow/histogram_fold.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <vector>

using mg::histogram_bucket;
using mg::native_histogram;
using mg::overflow::bucket_upper_bound;
using mg::overflow::histogram_fold;

namespace {

native_histogram hist(std::int32_t schema, std::vector<histogram_bucket> pos,
                      std::vector<histogram_bucket> neg = {}, double zero_count = 0, double sum = 0,
                      double zero_threshold = 0) {
    native_histogram h;
    h.schema = schema;
    h.zero_threshold = zero_threshold;
    h.zero_count = zero_count;
    h.sum = sum;
    h.positive = std::move(pos);
    h.negative = std::move(neg);
    h.count = zero_count;
    for (const auto& b : h.positive) h.count += b.count;
    for (const auto& b : h.negative) h.count += b.count;
    return h;
}

// The buckets as index -> count, zero counts left out (a layout may carry empty buckets).
std::map<std::int32_t, double> counts(const std::vector<histogram_bucket>& b) {
    std::map<std::int32_t, double> out;
    for (const auto& x : b) {
        if (x.count != 0) out[x.index] = x.count;
    }
    return out;
}

double bucket_sum(const native_histogram& h) {
    double s = h.zero_count;
    for (const auto& b : h.positive) s += b.count;
    for (const auto& b : h.negative) s += b.count;
    return s;
}

// The index of the bucket holding |v| (> zero threshold) at `schema`: upper(i-1) < |v| <= upper(i).
std::int32_t index_of(double v, std::int32_t schema) {
    auto i = static_cast<std::int32_t>(std::ceil(std::log2(std::fabs(v)) * std::exp2(schema)));
    while (bucket_upper_bound(i, schema) < std::fabs(v)) ++i;
    while (bucket_upper_bound(i - 1, schema) >= std::fabs(v)) --i;
    return i;
}

void observe(native_histogram& h, double v, double n = 1) {
    h.count += n;
    h.sum += v * n;
    if (std::fabs(v) <= h.zero_threshold) {
        h.zero_count += n;
        return;
    }
    auto& side = v > 0 ? h.positive : h.negative;
    const auto i = index_of(v, h.schema);
    auto it =
        std::lower_bound(side.begin(), side.end(), i,
                         [](const histogram_bucket& b, std::int32_t x) { return b.index < x; });
    if (it != side.end() && it->index == i) {
        it->count += n;
    } else {
        side.insert(it, {i, n});
    }
}

}  // namespace

TEST_CASE("histogram fold: the total is the bucket-wise sum of the folded series' increases",
          "[overflow][histogram]") {
    histogram_fold f(100);
    // Two series with large counts: their first samples add nothing.
    CHECK(f.add(1, hist(0, {{1, 100}, {2, 50}}, {{1, 7}}, 3, 400)));
    CHECK(f.add(2, hist(0, {{2, 1000}, {5, 1}}, {}, 0, 9000)));
    CHECK(f.total().count == 0);
    CHECK(counts(f.total().positive).empty());
    CHECK(f.add(1, hist(0, {{1, 103}, {2, 50}, {3, 2}}, {{1, 9}}, 4, 430)));
    CHECK(f.add(2, hist(0, {{2, 1001}, {5, 1}}, {}, 0, 9002)));
    const auto& t = f.total();
    CHECK(t.schema == 0);
    CHECK(counts(t.positive) == std::map<std::int32_t, double>{{1, 3}, {2, 1}, {3, 2}});
    CHECK(counts(t.negative) == std::map<std::int32_t, double>{{1, 2}});
    CHECK(t.zero_count == 1);
    CHECK(t.count == 3 + 1 + 2 + 2 + 1);
    CHECK(t.sum == 32);
    CHECK(bucket_sum(t) == t.count);
    CHECK(f.tracked() == 2);
    CHECK(f.resets() == 0);
}

TEST_CASE("histogram fold: a counter reset adds the whole new histogram", "[overflow][histogram]") {
    histogram_fold f(100);
    f.add(1, hist(0, {{1, 10}, {2, 10}}, {}, 0, 50));
    f.add(1, hist(0, {{1, 12}, {2, 10}}, {}, 0, 55));
    CHECK(f.total().count == 2);
    SECTION("a bucket lower") {
        f.add(1, hist(0, {{1, 1}, {2, 15}}, {}, 0, 20));  // bucket 1: 12 -> 1
        CHECK(counts(f.total().positive) == std::map<std::int32_t, double>{{1, 3}, {2, 15}});
        CHECK(f.total().sum == 5 + 20);
    }
    SECTION("a bucket missing, the count higher") {
        f.add(1, hist(0, {{2, 30}}, {}, 0, 90));
        CHECK(counts(f.total().positive) == std::map<std::int32_t, double>{{1, 2}, {2, 30}});
    }
    SECTION("the zero count lower") {
        f.add(1, hist(0, {{1, 12}, {2, 10}}, {}, 0, 55));
        f.add(1, hist(0, {{1, 40}, {2, 40}}, {}, 0, 60));  // +28 +30: not a reset
        CHECK(f.resets() == 0);
        auto h = hist(0, {{1, 40}, {2, 40}}, {}, 0, 60);
        h.zero_count = 1;
        h.count += 1;
        f.add(1, h);  // from 0 to 1: an increase, not a reset
        CHECK(f.resets() == 0);
        h.zero_count = 0;
        h.count = 81;
        h.positive[0].count = 41;
        f.add(1, h);  // zero count 1 -> 0
        CHECK(f.resets() == 1);
    }
    SECTION("a higher schema, a lower zero threshold, the sender's hint") {
        f.add(1, hist(1, {{1, 12}, {2, 10}}, {}, 0, 55));
        CHECK(f.resets() == 1);
        CHECK(f.total().schema == 0);  // the total stays at the coarsest seen
        f.add(1, hist(1, {{1, 13}, {2, 10}}, {}, 0, 55, 0.5));
        CHECK(f.resets() == 1);  // a wider threshold holding no populated bucket: no reset
        f.add(1, hist(1, {{1, 14}, {2, 10}}, {}, 0, 55, 0.25));
        CHECK(f.resets() == 2);
        f.add(1, hist(1, {{1, 15}, {2, 10}}, {}, 0, 55, 0.25), true);
        CHECK(f.resets() == 3);
        // 2, then the whole histogram three times, and +1 once.
        CHECK(f.total().count == 2 + 22 + 1 + 24 + 25);
    }
    CHECK(bucket_sum(f.total()) == f.total().count);
}

TEST_CASE("histogram fold: new series and evicted ones add nothing", "[overflow][histogram]") {
    histogram_fold f(2);
    f.add(1, hist(0, {{1, 10}}));
    f.add(2, hist(0, {{1, 10}}));
    f.add(1, hist(0, {{1, 11}}));
    CHECK(f.total().count == 1);
    f.add(3, hist(0, {{1, 500}}));  // pushes series 2 out (least recently used)
    CHECK(f.evictions() == 1);
    CHECK(f.tracked() == 2);
    f.add(2, hist(0, {{1, 20}}));  // a fresh start: not +10
    CHECK(f.total().count == 1);
    f.add(2, hist(0, {{1, 21}}));
    CHECK(f.total().count == 2);
}

TEST_CASE("histogram fold: Prometheus's downscaling rule", "[overflow][histogram]") {
    // Bucket i at schema s covers (base^(i-1), base^i]; at schema s-k it lies within bucket
    // ((i-1) >> k) + 1, and exactly 2^k buckets of s make one of s-k.
    for (std::int32_t s = -3; s <= 8; ++s) {
        for (std::int32_t k = 1; s - k >= -4; ++k) {
            for (std::int32_t i = -300; i <= 300; ++i) {
                const std::int32_t j = ((i - 1) >> k) + 1;
                INFO("schema " << s << " -> " << s - k << ", index " << i << " -> " << j);
                REQUIRE(bucket_upper_bound(i, s) <= bucket_upper_bound(j, s - k));
                REQUIRE(bucket_upper_bound(i - 1, s) >= bucket_upper_bound(j - 1, s - k));
            }
            // The boundaries of the coarse schema are boundaries of the fine one.
            CHECK(bucket_upper_bound(3, s - k) == bucket_upper_bound(3 << k, s));
        }
    }
    CHECK(bucket_upper_bound(0, 3) == 1);
    CHECK(bucket_upper_bound(8, 3) == 2);
    CHECK(bucket_upper_bound(-1, -2) == 1.0 / 16);
    CHECK(bucket_upper_bound(1, 1) == Approx(std::sqrt(2.0)));

    native_histogram h = hist(1, {{-1, 1}, {0, 2}, {1, 3}, {2, 4}, {3, 5}, {6, 6}}, {{2, 7}});
    mg::overflow::downscale(h, 0);
    CHECK(h.schema == 0);
    CHECK(counts(h.positive) ==
          std::map<std::int32_t, double>{{0, 1 + 2}, {1, 3 + 4}, {2, 5}, {3, 6}});
    CHECK(counts(h.negative) == std::map<std::int32_t, double>{{1, 7}});
    mg::overflow::downscale(h, -1);
    CHECK(counts(h.positive) == std::map<std::int32_t, double>{{0, 3}, {1, 7 + 5}, {2, 6}});
}

TEST_CASE("histogram fold: a coarser series downscales the total", "[overflow][histogram]") {
    histogram_fold f(10);
    f.add(1, hist(2, {{1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}}));
    f.add(1, hist(2, {{1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 6}}));
    CHECK(counts(f.total().positive) ==
          std::map<std::int32_t, double>{{1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 5}});
    f.add(2, hist(0, {{1, 10}}));  // schema 0: the total goes down to it
    CHECK(f.total().schema == 0);
    // Schema 2 -> 0: indexes 1..4 -> 1, 5 -> 2.
    CHECK(counts(f.total().positive) == std::map<std::int32_t, double>{{1, 10}, {2, 5}});
    // Series 1 stays at schema 2: its increases are downscaled as they are added.
    f.add(1, hist(2, {{1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 7}, {9, 1}}));
    CHECK(counts(f.total().positive) == std::map<std::int32_t, double>{{1, 10}, {2, 6}, {3, 1}});
    f.add(2, hist(0, {{1, 12}}));
    CHECK(counts(f.total().positive) == std::map<std::int32_t, double>{{1, 12}, {2, 6}, {3, 1}});
    CHECK(bucket_sum(f.total()) == f.total().count);
}

TEST_CASE("histogram fold: the widest zero threshold takes the buckets below it",
          "[overflow][histogram]") {
    histogram_fold f(10);
    // Schema 0: bucket 0 is (0.5, 1], -1 is (0.25, 0.5], 1 is (1, 2].
    f.add(1, hist(0, {{-1, 1}, {0, 1}, {1, 1}}, {{0, 1}}));
    f.add(1, hist(0, {{-1, 2}, {0, 3}, {1, 4}}, {{0, 5}}));
    // A series whose zero bucket reaches 0.5: bucket -1 joins it...
    f.add(2, hist(0, {{1, 1}}, {}, 0, 0, 0.5));
    CHECK(f.total().zero_threshold == 0.5);
    CHECK(f.total().zero_count == 1);
    CHECK(counts(f.total().positive) == std::map<std::int32_t, double>{{0, 2}, {1, 3}});
    // ...and one reaching into bucket 0 (populated) widens the threshold to its upper bound, 1.
    f.add(3, hist(0, {{2, 1}}, {}, 0, 0, 0.7));
    CHECK(f.total().zero_threshold == 1);
    CHECK(f.total().zero_count == 1 + 2 + 4);
    CHECK(counts(f.total().positive) == std::map<std::int32_t, double>{{1, 3}});
    CHECK(counts(f.total().negative).empty());
    // Series 1's next increase lands in the wide zero bucket where its buckets are below it.
    f.add(1, hist(0, {{-1, 3}, {0, 4}, {1, 5}}, {{0, 6}}));
    CHECK(f.total().zero_count == 7 + 3);
    CHECK(counts(f.total().positive) == std::map<std::int32_t, double>{{1, 4}});
    CHECK(bucket_sum(f.total()) == f.total().count);
}

TEST_CASE("histogram fold: integer and float counts, deltas, what is not folded",
          "[overflow][histogram]") {
    histogram_fold f(10);
    f.add(1, hist(3, {{4, 2}}));
    f.add(2, hist(3, {{4, 0.5}}));
    f.add(1, hist(3, {{4, 3}}));
    f.add(2, hist(3, {{4, 0.75}}));
    CHECK(f.total().count == 1.25);
    CHECK(counts(f.total().positive) == std::map<std::int32_t, double>{{4, 1.25}});
    CHECK(f.add_delta(hist(3, {{5, 2}}, {}, 1)));
    CHECK(counts(f.total().positive) == std::map<std::int32_t, double>{{4, 1.25}, {5, 2}});
    CHECK(f.total().count == 1.25 + 3);
    // Custom buckets and schemas past the exponential ones are not folded.
    CHECK_FALSE(f.add(3, hist(-53, {{0, 1}})));
    CHECK_FALSE(f.add(3, hist(9, {{0, 1}})));
    CHECK_FALSE(f.add_delta(hist(-5, {{0, 1}})));
    // A stale marker (NaN count), negative or unsorted buckets: ignored, counted.
    auto stale = hist(3, {{4, 3}});
    stale.count = std::numeric_limits<double>::quiet_NaN();
    CHECK(f.add(1, stale));
    CHECK(f.add(1, hist(3, {{4, -1}})));
    CHECK(f.add(1, hist(3, {{5, 1}, {4, 1}})));
    CHECK(f.ignored() == 3);
    CHECK(f.add(1, hist(3, {{4, 4}})));  // series 1's last is still its {4: 3}
    CHECK(f.total().count == 1.25 + 3 + 1);
    CHECK(f.tracked() == 2);
}

TEST_CASE("histogram fold: never decreases, counts every real increase, buckets add up",
          "[overflow][histogram]") {
    const std::size_t bound = GENERATE(4u, 1000u);
    histogram_fold f(bound);
    std::mt19937_64 rng(bound);
    constexpr int k_series = 30;
    std::vector<native_histogram> series(k_series);
    std::vector<bool> seen(k_series, false);
    for (int s = 0; s < k_series; ++s) {
        series[s].schema = static_cast<std::int32_t>(rng() % 7) - 1;  // -1..5
        series[s].zero_threshold = (rng() % 3 == 0) ? 0.01 * static_cast<double>(rng() % 5) : 0;
    }
    series[0].schema = -1;
    std::uniform_real_distribution<double> value(-50, 200);
    double real = 0;  // observations after each series' first sample
    native_histogram prev = f.total();
    for (int step = 0; step < 4000; ++step) {
        const auto s = static_cast<std::size_t>(rng() % k_series);
        auto& h = series[s];
        const auto before = h.count;
        // A reset (the process restarts) once it has counted more than the at most 3 new
        // observations can bring back: a lower count, which the fold must read as a reset.
        const bool reset = h.count >= 4 && rng() % 150 == 0;
        if (reset) {
            const auto schema = h.schema;
            const auto zt = h.zero_threshold;
            h = {};
            h.schema = schema;
            h.zero_threshold = zt;
        }
        const int n = static_cast<int>(rng() % 4);
        for (int k = 0; k < n; ++k) observe(h, value(rng), (rng() % 2 == 0) ? 1 : 0.5);
        if (seen[s]) real += reset ? h.count : h.count - before;
        seen[s] = true;
        REQUIRE(f.add(s, h));
        const auto& t = f.total();
        REQUIRE(bucket_sum(t) == Approx(t.count));
        REQUIRE(t.count <= real + 1e-9);
        // Bucket by bucket, at the total's layout, the previous total is not above it.
        auto p = prev;
        mg::overflow::downscale(p, t.schema);
        REQUIRE(mg::overflow::widen_zero_bucket(p, t.zero_threshold) == t.zero_threshold);
        REQUIRE(p.zero_count <= t.zero_count);
        for (const auto* side : {&p.positive, &p.negative}) {
            const auto& now = side == &p.positive ? t.positive : t.negative;
            const auto have = counts(now);
            for (const auto& [i, c] : counts(*side)) {
                INFO("index " << i);
                REQUIRE(have.count(i) == 1);
                REQUIRE(have.at(i) >= c);
            }
        }
        prev = t;
    }
    CHECK(f.total().schema == -1);
    if (bound >= k_series) {
        CHECK(f.total().count == Approx(real));
        CHECK(f.evictions() == 0);
    } else {
        CHECK(f.evictions() > 0);
    }
}
