// gauge_fold: the overflow series of a gauge (issue 21): one aggregation (sum, max, min, last)
// over the latest value of each folded series, counting only series whose latest sample is within
// the staleness window (as PromQL's lookback does: a series that stopped reporting stops
// counting). The folded series are remembered in a bounded lru_index.
//
// Value type; not synchronized (the owner serializes samples of one overflow series).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "overflow/lru_index.h"

namespace mg::overflow {

enum class gauge_aggregation { sum, max, min, last };

// "sum" | "max" | "min" | "last"; an error names the accepted forms.
result<gauge_aggregation> parse_gauge_aggregation(std::string_view text);
std::string_view to_string(gauge_aggregation a);

class gauge_fold {
  public:
    struct sample {
        double value;
        std::int64_t timestamp_ms;
    };

    gauge_fold(gauge_aggregation aggregation, std::int64_t staleness_ms, std::size_t max_tracked)
        : aggregation_(aggregation), staleness_ms_(staleness_ms), latest_(max_tracked) {}

    // A sample of `series` at `timestamp_ms`. An older sample than the one kept is ignored (out
    // of order). NaN is kept as Prometheus keeps it (and makes sum/max/min NaN-free: skipped).
    void add(std::uint64_t series, double value, std::int64_t timestamp_ms);
    // The aggregate over the series whose latest sample is within staleness of `now_ms`; none
    // when no series is.
    std::optional<double> value(std::int64_t now_ms) const;

    std::size_t tracked() const { return latest_.size(); }
    std::size_t capacity() const { return latest_.capacity(); }
    gauge_aggregation aggregation() const { return aggregation_; }
    std::uint64_t evictions() const { return evictions_; }

    // The latest sample of each remembered series, most recently used first, and the series of
    // the newest sample: what a restart carries over (overflow_state.h).
    template <typename F>
    void for_each_tracked(F&& f) const {
        latest_.for_each(f);
    }
    std::uint64_t last_series() const { return last_series_; }
    // Back to a saved state, `latest` as for_each_tracked gave it.
    void restore(std::vector<std::pair<std::uint64_t, sample>> latest, std::uint64_t last_series);

  private:
    gauge_aggregation aggregation_;
    std::int64_t staleness_ms_;
    lru_index<sample> latest_;
    std::uint64_t evictions_ = 0;
    std::uint64_t last_series_ = 0;  // for `last`: the series of the newest sample
    std::int64_t last_ts_ = INT64_MIN;
};

}  // namespace mg::overflow
