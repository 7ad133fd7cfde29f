// counter_fold: the overflow series of a cumulative counter (issue 21, docs/overflow.md): the
// sum of the increases of every series folded into it, kept cumulative so that rate() and
// increase() over the one overflow series equal the sum over the series it replaces.
//
// Each folded series' last value is remembered (lru_index, bounded). A sample adds its increase
// over that value; a value below it is a counter reset and adds the value itself, as Prometheus's
// rate() reads a reset. A series seen for the first time (or again after the bound pushed it out)
// adds nothing: its absolute value is what it accumulated before it was folded, and counting it
// would make the overflow series jump. So the total can only undercount, never jump, and it never
// decreases. It starts at 0 when the first series is folded.
//
// Value type; not synchronized (the owner serializes samples of one overflow series).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "overflow/lru_index.h"

namespace mg::overflow {

class counter_fold {
  public:
    explicit counter_fold(std::size_t max_tracked) : last_(max_tracked) {}

    // One sample of the folded series `series` (its identity hash); returns the increase added.
    // NaN and negative values are ignored (a counter has neither); they return 0.
    double add(std::uint64_t series, double value);

    // An increase reported as such (an OTLP delta Sum point): added as it is. NaN, infinite and
    // negative values are ignored (a monotonic delta has none); returns what was added.
    double add_delta(double increase);

    double total() const { return total_; }
    // The remembered last values, most recently used first: what a restart carries over
    // (overflow_state.h).
    template <typename F>
    void for_each_tracked(F&& f) const {
        last_.for_each(f);
    }
    // Back to a saved state: `total`, and `last` as for_each_tracked gave it (past the bound, the
    // least recently used are left out).
    void restore(double total, std::vector<std::pair<std::uint64_t, double>> last);
    std::size_t tracked() const { return last_.size(); }
    std::size_t capacity() const { return last_.capacity(); }
    // Folded series pushed out by the bound; their next sample starts a fresh increase.
    std::uint64_t evictions() const { return evictions_; }
    // Samples ignored as not a counter value (NaN, negative, infinite).
    std::uint64_t ignored() const { return ignored_; }

  private:
    lru_index<double> last_;
    double total_ = 0;
    std::uint64_t evictions_ = 0;
    std::uint64_t ignored_ = 0;
};

}  // namespace mg::overflow
