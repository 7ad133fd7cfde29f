// explicit_histogram_fold: the overflow series of OTLP Histogram points with explicit bounds and
// of Summary points (issue 21, docs/overflow.md): the buckets, the count and the sum folded as
// counters, kept cumulative, so that rate() over the overflow series' buckets, count and sum
// equals the sum over the series it replaces.
//
// The first folded point sets the bounds; a point with other bounds has no bucket-wise sum with
// the total and is not folded (the caller counts it lost). Each folded series' last point is
// remembered (lru_index, bounded, evictions counted). A point adds its bucket-wise increase over
// that one (every bucket, the count, the sum); a counter reset (the count or any bucket lower)
// adds the whole point; the first point of a series (or its first after the bound pushed it out)
// adds nothing. So no bucket of the total ever decreases. A Summary is the same with no buckets:
// its count and sum; its quantiles cannot be summed and are not folded.
//
// Value type; not synchronized (the owner serializes samples of one overflow series).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "common/explicit_histogram.h"
#include "overflow/lru_index.h"

namespace mg::overflow {

class explicit_histogram_fold {
  public:
    explicit explicit_histogram_fold(std::size_t max_tracked) : last_(max_tracked) {}

    // One point of the folded series `series` (its identity hash). Returns false, folding
    // nothing, for bounds other than the total's (the caller counts it lost). A point that is no
    // counter's (NaN, infinite or negative counts, bucket counts that do not match its bounds)
    // is ignored and counted; true is returned.
    bool add(std::uint64_t series, const explicit_histogram& h);
    // A delta point (an increase reported as such): added as it is. The same returns as add().
    bool add_delta(const explicit_histogram& increase);

    // The cumulative total: its bounds are the first folded point's.
    const explicit_histogram& total() const { return total_; }
    std::size_t tracked() const { return last_.size(); }
    std::size_t capacity() const { return last_.capacity(); }
    // What a restart carries over (overflow/store_state.h): whether a sample set the total's
    // layout, and each remembered series' last point, most recently used first.
    bool has_layout() const { return has_bounds_; }
    template <typename F>
    void for_each_tracked(F&& f) const {
        last_.for_each(f);
    }
    // Back to a saved state, `last` as for_each_tracked gave it (past the bound, the least
    // recently used are left out).
    void restore(explicit_histogram total, bool has_layout,
                 std::vector<std::pair<std::uint64_t, explicit_histogram>> last) {
        total_ = std::move(total);
        has_bounds_ = has_layout;
        last_.restore(std::move(last));
    }
    std::uint64_t evictions() const { return evictions_; }
    std::uint64_t ignored() const { return ignored_; }
    std::uint64_t resets() const { return resets_; }

  private:
    // Whether h can be added to the total (setting the total's bounds on the first point).
    bool same_bounds(const explicit_histogram& h);
    void merge(const explicit_histogram& increase);

    lru_index<explicit_histogram> last_;
    explicit_histogram total_;
    bool has_bounds_ = false;
    std::uint64_t evictions_ = 0;
    std::uint64_t ignored_ = 0;
    std::uint64_t resets_ = 0;
};

}  // namespace mg::overflow
