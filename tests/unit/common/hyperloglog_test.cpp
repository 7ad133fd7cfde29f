#include "common/hyperloglog.h"

#include <catch2/catch.hpp>
#include <cstdint>

namespace {
std::uint64_t mix(std::uint64_t x) {  // splitmix64: a good stand-in for XXH3 over distinct inputs
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}
}  // namespace

TEST_CASE("hyperloglog counts small sets almost exactly", "[hll]") {
    mg::hyperloglog<8> h;
    CHECK(h.estimate() == 0);
    for (std::uint64_t i = 0; i < 50; ++i) {
        h.add(mix(i));
        h.add(mix(i));  // duplicates do not count
    }
    CHECK(h.estimate() == Approx(50).epsilon(0.05));
}

TEST_CASE("hyperloglog stays within a few standard errors at scale", "[hll]") {
    for (std::uint64_t n : {1000ULL, 20000ULL, 200000ULL}) {
        mg::hyperloglog<8> h;
        for (std::uint64_t i = 0; i < n; ++i) h.add(mix(i + n * 7));
        INFO(n);
        CHECK(h.estimate() == Approx(static_cast<double>(n)).epsilon(0.2));  // 3 sigma at 6.5%
    }
}

TEST_CASE("merge is the union, clear empties", "[hll]") {
    mg::hyperloglog<8> a, b;
    for (std::uint64_t i = 0; i < 300; ++i) a.add(mix(i));
    for (std::uint64_t i = 200; i < 500; ++i) b.add(mix(i));
    a.merge(b);
    CHECK(a.estimate() == Approx(500).epsilon(0.1));
    a.clear();
    CHECK(a.estimate() == 0);
}
