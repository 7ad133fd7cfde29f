#include "cardinality/scalable_bloom.h"

#include <catch2/catch.hpp>

#include "unit/cardinality/test_util.h"

using mg::cardinality::bloom_key;
using mg::cardinality::scalable_bloom;
using mg::cardinality::test::id;
using mg::cardinality::test::k_probe_base;

namespace {

double measured_fpr(const scalable_bloom& f, std::uint64_t probes) {
    std::uint64_t fp = 0;
    for (std::uint64_t i = 0; i < probes; ++i)
        fp += f.test(bloom_key::from_hash(id(k_probe_base + i))) ? 1 : 0;
    return static_cast<double>(fp) / static_cast<double>(probes);
}

}  // namespace

TEST_CASE("scalable bloom slice rates sum to at most the configured rate", "[scalable_bloom]") {
    for (std::uint64_t e : {1ULL, 10ULL, 100ULL, 1000ULL, 100000ULL, 10000000ULL}) {
        double sum = 0;
        std::uint64_t cap = 0;
        for (std::size_t i = 0; i < scalable_bloom::k_max_slices; ++i) {
            const auto g = scalable_bloom::geometry(e, 0.01, i);
            sum += g.fp_rate;
            cap += g.capacity;
            CHECK(g.n_blocks >= 1);
        }
        INFO("expected=" << e);
        CHECK(sum <= 0.01);
        CHECK(cap >= e);
    }
    // The default shape reaches 100000 items in 5 slices.
    std::uint64_t cum = 0;
    std::size_t slices = 0;
    while (cum < 100000) cum += scalable_bloom::geometry(100000, 0.01, slices++).capacity;
    CHECK(slices == 5);
    CHECK(cum == 100000);
}

TEST_CASE("scalable bloom starts small", "[scalable_bloom]") {
    scalable_bloom f(100000, 0.01);
    CHECK(f.memory_bytes() == 0);
    CHECK(f.empty());
    for (std::uint64_t i = 0; i < 10; ++i)
        CHECK_FALSE(f.test_and_insert(bloom_key::from_hash(id(i))));
    CHECK(f.slice_count() == 1);
    CHECK(f.memory_bytes() <= 160);
    CHECK(f.items() == 10);
}

TEST_CASE("scalable bloom grows past its expected items without losing its rate",
          "[scalable_bloom]") {
    const double rate = 0.01;
    scalable_bloom f(1000, rate);
    const std::uint64_t n = GENERATE(1000ULL, 10000ULL, 100000ULL);
    for (std::uint64_t i = 0; i < n; ++i) f.test_and_insert(bloom_key::from_hash(id(i)));
    for (std::uint64_t i = 0; i < n; ++i) REQUIRE(f.test(bloom_key::from_hash(id(i))));
    const double fpr = measured_fpr(f, 200000);
    INFO("n=" << n << " slices=" << f.slice_count() << " fpr=" << fpr
              << " bits/item=" << 8.0 * f.memory_bytes() / n);
    CHECK(fpr <= rate + 0.001);
    CHECK(f.items() >= n * 99 / 100);
    CHECK(f.items() <= n);
}

TEST_CASE("scalable bloom clear releases memory", "[scalable_bloom]") {
    scalable_bloom f(1000, 0.01);
    for (std::uint64_t i = 0; i < 5000; ++i) f.test_and_insert(bloom_key::from_hash(id(i)));
    CHECK(f.memory_bytes() > 0);
    f.clear();
    CHECK(f.memory_bytes() == 0);
    CHECK(f.slice_count() == 0);
    CHECK_FALSE(f.test(bloom_key::from_hash(id(1))));
}
