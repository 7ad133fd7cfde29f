// store_state: what the overflow store carries over a restart (issue 21, docs/overflow.md
// "Restarts"): every overflow series with its fold, so a counter's overflow series goes on from
// its total instead of starting again at 0, and the first sample of each folded series after the
// restart adds what that series counted while the daemon was down.
//
// Plain values: overflow_store::save_state makes them, overflow_store::restore_state takes them,
// persistence/overflow_state_file writes and reads them. Not synchronized.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/explicit_histogram.h"
#include "common/native_histogram.h"
#include "overflow/gauge_fold.h"

namespace mg::overflow {

// histogram: native histograms with exponential buckets, folded as counters bucket by bucket;
// explicit_histogram, summary: OTLP Histogram (explicit bounds) and Summary points, the same.
enum class fold_kind : std::uint8_t { counter, gauge, histogram, explicit_histogram, summary };

struct series_state {
    std::string key;  // the store's key of the overflow series (tenant, name, labels)
    std::string tenant;
    std::string metric_name;
    std::vector<std::pair<std::string, std::string>> labels;  // as emitted, sorted
    fold_kind kind = fold_kind::counter;
    bool delta = false;  // a counter of OTLP delta Sums
    std::int64_t interval_ms = 0;
    std::int64_t last_fold_ms = 0;
    std::int64_t first_ts = 0;
    std::int64_t newest_ts = 0;
    std::int64_t last_emit_ms = 0;
    bool zero_emitted = false;
    std::uint64_t max_tracked = 0;
    // What the fold keeps depends on the kind. A counter: its total (and for a delta one, the total
    // at its last emission), and the last value of each folded series it remembers, most recently
    // used first.
    double total = 0;
    double emitted_total = 0;
    std::vector<std::pair<std::uint64_t, double>> counter_last;
    // A gauge: its aggregation, the latest sample of each remembered folded series (most recently
    // used first) and the series of the newest.
    gauge_aggregation aggregation = gauge_aggregation::sum;
    std::vector<std::pair<std::uint64_t, gauge_fold::sample>> gauge_latest;
    std::uint64_t gauge_last_series = 0;
    bool from_otlp = false;  // emitted as OTLP (overflow_store.h)
    std::string unit;        // its OTLP Metric.unit (fold_target::unit)
    // A native histogram's total (has_layout: a sample set its schema and zero bucket) and the
    // last histogram of each remembered folded series, most recently used first.
    native_histogram histogram_total;
    bool histogram_has_layout = false;
    std::vector<std::pair<std::uint64_t, native_histogram>> histogram_last;
    // An explicit-bounds histogram's or summary's: the same (has_bounds: a point set them).
    explicit_histogram explicit_total;
    bool explicit_has_bounds = false;
    std::vector<std::pair<std::uint64_t, explicit_histogram>> explicit_last;
};

}  // namespace mg::overflow
