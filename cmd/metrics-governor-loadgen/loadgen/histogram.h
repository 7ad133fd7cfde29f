// latency_histogram: a small HDR-style histogram of non-negative integers (the load generator
// records request latencies in nanoseconds), with a bounded relative error and constant memory.
//
// Values below 64 get a bucket each (exact). Above, every power of two [2^e, 2^(e+1)) is split
// into 64 equal sub-buckets, so a bucket is at most 1/64 (1.6 %) of its values wide: 3776
// counters (30 KiB) cover the whole 64-bit range. percentile() uses the nearest-rank definition
// (the smallest recorded value v such that at least p % of the values are <= v) and reports the
// highest value of v's bucket, capped at the largest value recorded, so it never under-reports
// and is exact below 128.
//
// Thread-safety: none; each connection of the load generator owns one and they are merged after
// the run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mg::loadgen {

class latency_histogram {
  public:
    static constexpr unsigned k_sub_bits = 6;
    static constexpr std::uint64_t k_sub_buckets = std::uint64_t{1} << k_sub_bits;
    static constexpr std::size_t k_buckets = k_sub_buckets * (64 - k_sub_bits + 1);

    latency_histogram() : counts_(k_buckets, 0) {}

    void record(std::uint64_t value);
    void merge(const latency_histogram& other);

    std::uint64_t count() const { return count_; }
    std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
    std::uint64_t max() const { return max_; }
    double mean() const {
        return count_ == 0 ? 0 : static_cast<double>(sum_) / static_cast<double>(count_);
    }
    // p in (0, 100]; 0 when nothing was recorded.
    std::uint64_t percentile(double p) const;

    static std::size_t bucket_of(std::uint64_t value);
    // The highest value that falls into bucket b.
    static std::uint64_t bucket_upper(std::size_t b);

  private:
    std::vector<std::uint64_t> counts_;
    std::uint64_t count_ = 0;
    std::uint64_t sum_ = 0;  // 584 years of nanoseconds before it wraps
    std::uint64_t min_ = 0;
    std::uint64_t max_ = 0;
};

}  // namespace mg::loadgen
