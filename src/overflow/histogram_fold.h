// histogram_fold: the overflow series of native (exponential) histograms (issue 21,
// docs/overflow.md): bucket by bucket what counter_fold is for one number. The total is the sum
// of the increases of every histogram series folded into it, kept cumulative, so that rate(),
// increase() and histogram_quantile() over the one overflow series equal what they give over the
// sum of the series it replaces.
//
// Each folded series' last histogram is remembered (lru_index, bounded, evictions counted). A
// sample adds its bucket-wise increase over that histogram (every bucket, the zero bucket, the
// count and the sum). A counter reset, detected as Prometheus detects one for a native histogram
// (the count, the zero count or any bucket lower; a higher schema or a lower zero threshold, which
// only a reset can bring; a wider zero threshold inside a populated bucket of the last one), or
// the sender's reset hint, adds the whole new histogram. The first sample of a series (or its
// first after the bound pushed it out) adds nothing: its counts are what it accumulated before it
// was folded. So no bucket of the total ever decreases, and none jumps by more than the real
// increase.
//
// Layout: the total's schema is the lowest (coarsest) seen in any folded sample, its zero
// threshold the largest. A coarser sample downscales the total (2^(s-t) neighbouring buckets
// merged into one: index i at schema s becomes ((i - 1) >> (s - t)) + 1 at schema t, as
// Prometheus merges them), and an increase of a finer series is downscaled before it is added. A
// wider zero threshold moves the buckets below it into the zero bucket; one it cuts through that
// holds observations widens the threshold to that bucket's upper bound (Prometheus's rule), so
// the zero bucket never holds part of a bucket. Schemas outside -4..8 (custom buckets, -53) are
// not folded. Counts are doubles: integer and float histograms fold alike.
//
// Value type; not synchronized (the owner serializes samples of one overflow series).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "common/native_histogram.h"
#include "overflow/lru_index.h"

namespace mg::overflow {

inline constexpr std::int32_t k_min_histogram_schema = -4;
inline constexpr std::int32_t k_max_histogram_schema = 8;

// Whether a histogram of this schema can be folded: the exponential schemas -4..8.
constexpr bool foldable_schema(std::int32_t schema) {
    return schema >= k_min_histogram_schema && schema <= k_max_histogram_schema;
}

// The upper bound of positive bucket `index` at `schema` (base^index); exact at powers of two.
double bucket_upper_bound(std::int32_t index, std::int32_t schema);

// Lowers h's resolution to `schema` (<= h.schema; a higher one is left alone), merging buckets.
void downscale(native_histogram& h, std::int32_t schema);

// Widens h's zero bucket to at least `threshold`: buckets whose lower bound is below it join the
// zero count; a populated one that reaches past it widens it to its upper bound. Returns the
// threshold it ends with (also h.zero_threshold); h's own when that is already wider.
double widen_zero_bucket(native_histogram& h, double threshold);

class histogram_fold {
  public:
    explicit histogram_fold(std::size_t max_tracked) : last_(max_tracked) {}

    // One sample of the folded series `series` (its identity hash). `reset`: the sender says it
    // follows a counter reset. Returns false, folding nothing, for a schema outside -4..8 (the
    // caller counts it lost). A sample that is not a counter's (NaN, infinite or negative counts,
    // a negative or NaN zero threshold, unsorted buckets; a stale marker) is ignored and counted
    // (true is returned: it is not lost, there was nothing to fold).
    bool add(std::uint64_t series, const native_histogram& h, bool reset = false);

    // An increase reported as such (an OTLP delta ExponentialHistogram point): added as it is.
    // The same returns as add().
    bool add_delta(const native_histogram& increase);

    // The cumulative total: no samples yet, an empty histogram at schema 0.
    const native_histogram& total() const { return total_; }
    std::size_t tracked() const { return last_.size(); }
    std::size_t capacity() const { return last_.capacity(); }
    // What a restart carries over (overflow/store_state.h): whether a sample set the total's
    // layout, and each remembered series' last point, most recently used first.
    bool has_layout() const { return has_layout_; }
    template <typename F>
    void for_each_tracked(F&& f) const {
        last_.for_each(f);
    }
    // Back to a saved state, `last` as for_each_tracked gave it (past the bound, the least
    // recently used are left out).
    void restore(native_histogram total, bool has_layout,
                 std::vector<std::pair<std::uint64_t, native_histogram>> last) {
        total_ = std::move(total);
        has_layout_ = has_layout;
        last_.restore(std::move(last));
    }
    // Folded series pushed out by the bound; their next sample starts a fresh increase.
    std::uint64_t evictions() const { return evictions_; }
    // Samples ignored as not a counter histogram (see add()).
    std::uint64_t ignored() const { return ignored_; }
    // Samples that were counter resets (detected or hinted): the whole histogram was added.
    std::uint64_t resets() const { return resets_; }

  private:
    // Downscales and widens the total to take a sample of h's layout.
    void take_layout(const native_histogram& h);
    // Adds `increase` (any layout; changed in place) to the total.
    void merge(native_histogram& increase);

    lru_index<native_histogram> last_;
    native_histogram total_;
    bool has_layout_ = false;
    std::uint64_t evictions_ = 0;
    std::uint64_t ignored_ = 0;
    std::uint64_t resets_ = 0;
};

}  // namespace mg::overflow
