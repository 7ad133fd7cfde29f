// hyperloglog: a distinct-count estimator in 2^P one-byte registers (Flajolet et al. 2007, with
// linear counting for small sets), fed with 64-bit hashes. P = 8 uses 256 bytes and has a
// standard error of about 6.5%; small sets (up to ~500 items) are counted almost exactly by
// linear counting. Used for the per-label distinct-value counts of the cardinality API, where an
// estimate is enough and a Bloom filter per label would cost far more memory.
//
// Thread-safety: add() may race with add() and estimate(): registers only grow, each is a
// relaxed atomic byte, and a lost race leaves the larger value written by someone.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>

namespace mg {

template <unsigned P>
class hyperloglog {
    static_assert(P >= 4 && P <= 16);

  public:
    static constexpr std::size_t k_registers = std::size_t{1} << P;

    void add(std::uint64_t hash) noexcept {
        const std::size_t index = hash >> (64 - P);
        // Rank of the first set bit in the remaining 64-P bits, counted from 1.
        const std::uint64_t rest = (hash << P) | (std::uint64_t{1} << (P - 1));
        const auto rank = static_cast<std::uint8_t>(std::countl_zero(rest) + 1);
        auto& r = registers_[index];
        std::uint8_t cur = r.load(std::memory_order_relaxed);
        while (rank > cur && !r.compare_exchange_weak(cur, rank, std::memory_order_relaxed)) {
        }
    }

    // Merges another sketch into this one (union of the sets).
    void merge(const hyperloglog& other) noexcept {
        for (std::size_t i = 0; i < k_registers; ++i) {
            const auto v = other.registers_[i].load(std::memory_order_relaxed);
            if (v > registers_[i].load(std::memory_order_relaxed))
                registers_[i].store(v, std::memory_order_relaxed);
        }
    }

    void clear() noexcept {
        for (auto& r : registers_) r.store(0, std::memory_order_relaxed);
    }

    double estimate() const noexcept {
        constexpr double m = static_cast<double>(k_registers);
        double sum = 0;
        std::size_t zeros = 0;
        for (const auto& r : registers_) {
            const auto v = r.load(std::memory_order_relaxed);
            sum += std::ldexp(1.0, -static_cast<int>(v));
            if (v == 0) ++zeros;
        }
        const double alpha = 0.7213 / (1.0 + 1.079 / m);
        const double raw = alpha * m * m / sum;
        if (raw <= 2.5 * m && zeros != 0) return m * std::log(m / static_cast<double>(zeros));
        return raw;
    }

  private:
    std::array<std::atomic<std::uint8_t>, k_registers> registers_{};
};

}  // namespace mg
