#include "loadgen/histogram.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

using mg::loadgen::latency_histogram;

TEST_CASE("percentiles are exact for small values (nearest rank)", "[histogram]") {
    latency_histogram h;
    // 1..100 in a scrambled order: the order of recording must not matter.
    std::vector<std::uint64_t> values(100);
    for (std::uint64_t i = 0; i < 100; ++i) values[i] = i + 1;
    std::mt19937_64 rng(1);
    std::shuffle(values.begin(), values.end(), rng);
    for (const auto v : values) h.record(v);
    CHECK(h.count() == 100);
    CHECK(h.min() == 1);
    CHECK(h.max() == 100);
    CHECK(h.mean() == Approx(50.5));
    CHECK(h.percentile(50) == 50);
    CHECK(h.percentile(90) == 90);
    CHECK(h.percentile(99) == 99);
    CHECK(h.percentile(99.5) == 100);
    CHECK(h.percentile(100) == 100);
    CHECK(h.percentile(0.5) == 1);
    CHECK(h.percentile(0) == 1);
}

TEST_CASE("nearest rank on ten values", "[histogram]") {
    latency_histogram h;
    for (std::uint64_t v : {10, 20, 30, 40, 50, 60, 70, 80, 90, 100}) h.record(v);
    CHECK(h.percentile(50) == 50);   // rank 5
    CHECK(h.percentile(90) == 90);   // rank 9, not 10 (0.9 * 10 computed in integers)
    CHECK(h.percentile(91) == 100);  // rank 10
    CHECK(h.percentile(10) == 10);
}

TEST_CASE("large values are reported within 1/64 above, never below", "[histogram]") {
    latency_histogram h;
    // 990 requests of 1 ms and 10 of 250 ms, in nanoseconds.
    for (int i = 0; i < 990; ++i) h.record(1'000'000);
    for (int i = 0; i < 10; ++i) h.record(250'000'000);
    const auto p50 = h.percentile(50);
    CHECK(p50 >= 1'000'000);
    CHECK(p50 <= 1'000'000 + 1'000'000 / 64);
    CHECK(h.percentile(99) <= 1'000'000 + 1'000'000 / 64);  // rank 990
    CHECK(h.percentile(99.1) == 250'000'000);               // capped at the largest value recorded
    CHECK(h.max() == 250'000'000);
    CHECK(h.mean() == Approx((990.0 * 1e6 + 10.0 * 250e6) / 1000.0));
}

TEST_CASE("bucket bounds hold over the whole 64-bit range", "[histogram]") {
    std::mt19937_64 rng(7);
    for (int i = 0; i < 100'000; ++i) {
        const std::uint64_t v = rng() >> (rng() % 64);
        const auto b = latency_histogram::bucket_of(v);
        REQUIRE(b < latency_histogram::k_buckets);
        const auto upper = latency_histogram::bucket_upper(b);
        REQUIRE(upper >= v);
        REQUIRE(static_cast<double>(upper - v) <= static_cast<double>(v) / 64.0);
        if (b > 0) REQUIRE(latency_histogram::bucket_upper(b - 1) < v);
    }
    const auto max = std::numeric_limits<std::uint64_t>::max();
    CHECK(latency_histogram::bucket_of(max) == latency_histogram::k_buckets - 1);
    CHECK(latency_histogram::bucket_upper(latency_histogram::k_buckets - 1) == max);
    for (std::uint64_t v = 0; v < 128; ++v) {
        CHECK(latency_histogram::bucket_upper(latency_histogram::bucket_of(v)) == v);
    }
}

TEST_CASE("merging equals recording everything in one histogram", "[histogram]") {
    latency_histogram a, b, all;
    std::mt19937_64 rng(3);
    for (int i = 0; i < 5000; ++i) {
        const std::uint64_t v = 50'000 + rng() % 5'000'000;
        (i % 3 == 0 ? a : b).record(v);
        all.record(v);
    }
    latency_histogram merged;
    merged.merge(a);
    merged.merge(b);
    merged.merge(latency_histogram{});
    CHECK(merged.count() == all.count());
    CHECK(merged.min() == all.min());
    CHECK(merged.max() == all.max());
    CHECK(merged.mean() == Approx(all.mean()));
    for (double p : {1.0, 50.0, 90.0, 99.0, 99.9, 100.0})
        CHECK(merged.percentile(p) == all.percentile(p));
}

TEST_CASE("an empty histogram reports zeros", "[histogram]") {
    latency_histogram h;
    CHECK(h.count() == 0);
    CHECK(h.percentile(50) == 0);
    CHECK(h.max() == 0);
    CHECK(h.min() == 0);
    CHECK(h.mean() == 0);
}
