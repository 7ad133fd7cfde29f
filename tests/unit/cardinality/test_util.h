// Helpers shared by the cardinality tests: reproducible random 64-bit series ids.
#pragma once

#include <cstdint>

namespace mg::cardinality::test {

// splitmix64: distinct inputs give distinct outputs (a bijection), so ids from disjoint input
// ranges never coincide, and the exact-set comparison is trivial.
inline std::uint64_t id(std::uint64_t i) {
    std::uint64_t z = i + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// Ids used as never-inserted probes are taken from this offset on.
inline constexpr std::uint64_t k_probe_base = std::uint64_t{1} << 62;

}  // namespace mg::cardinality::test
