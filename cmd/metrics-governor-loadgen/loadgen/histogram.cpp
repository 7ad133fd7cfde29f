#include "loadgen/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace mg::loadgen {

std::size_t latency_histogram::bucket_of(std::uint64_t value) {
    if (value < k_sub_buckets) return static_cast<std::size_t>(value);
    const unsigned exponent = static_cast<unsigned>(std::bit_width(value)) - 1;  // >= k_sub_bits
    const unsigned shift = exponent - k_sub_bits;
    const std::uint64_t sub =
        (value >> shift) - k_sub_buckets;  // 0..63: the top bits after the first
    return static_cast<std::size_t>(k_sub_buckets + shift * k_sub_buckets + sub);
}

std::uint64_t latency_histogram::bucket_upper(std::size_t b) {
    if (b < k_sub_buckets) return b;
    const std::uint64_t shift = (b - k_sub_buckets) / k_sub_buckets;
    const std::uint64_t sub = (b - k_sub_buckets) % k_sub_buckets;
    const std::uint64_t lower = (k_sub_buckets + sub) << shift;
    return lower + ((std::uint64_t{1} << shift) - 1);
}

void latency_histogram::record(std::uint64_t value) {
    ++counts_[bucket_of(value)];
    min_ = count_ == 0 ? value : std::min(min_, value);
    max_ = std::max(max_, value);
    ++count_;
    sum_ += value;
}

void latency_histogram::merge(const latency_histogram& other) {
    if (other.count_ == 0) return;
    for (std::size_t b = 0; b < k_buckets; ++b) counts_[b] += other.counts_[b];
    min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
    count_ += other.count_;
    sum_ += other.sum_;
}

std::uint64_t latency_histogram::percentile(double p) const {
    if (count_ == 0) return 0;
    p = std::clamp(p, 0.0, 100.0);
    // Nearest rank: the ceil(p/100 * n)-th smallest value, at least the first. In integers (p as
    // parts per million), because 0.9 * 10 in doubles may be 9.000000000000002.
    __extension__ using u128 = unsigned __int128;  // -Wpedantic: a GCC/Clang extension
    const auto parts_per_million = static_cast<u128>(std::llround(p * 10'000.0));
    auto rank = static_cast<std::uint64_t>((parts_per_million * count_ + 999'999) / 1'000'000);
    rank = std::clamp<std::uint64_t>(rank, 1, count_);
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < k_buckets; ++b) {
        seen += counts_[b];
        if (seen >= rank) return std::min(bucket_upper(b), max_);
    }
    return max_;
}

}  // namespace mg::loadgen
