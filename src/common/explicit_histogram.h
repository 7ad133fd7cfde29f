// explicit_histogram: one OTLP Histogram point (explicit bucket bounds) or Summary point (count
// and sum; its quantiles are not carried), with float counts: the type the reader of a folded
// series' bytes (protocol/series_samples.h) produces and the overflow fold of such points
// (overflow/explicit_histogram_fold.h) consumes and emits, so neither module knows the other.
// Value types; no synchronization.
#pragma once

#include <cstdint>
#include <vector>

namespace mg {

struct explicit_histogram {
    // The buckets' upper bounds, increasing; bucket i holds (bounds[i-1], bounds[i]], the last
    // one (bounds.back(), +Inf). Counts per bucket, not cumulative: bounds.size() + 1 of them,
    // or none (a Summary, or a Histogram point with count and sum only).
    std::vector<double> bounds;
    std::vector<double> bucket_counts;
    double count = 0;
    double sum = 0;
};

struct explicit_histogram_sample {
    explicit_histogram histogram;
    std::int64_t timestamp_ms = 0;
};

}  // namespace mg
