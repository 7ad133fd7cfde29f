// native_histogram: one sample of a Prometheus native histogram with exponential buckets
// (remote write's Histogram message, an OTLP ExponentialHistogram point mapped onto it), with
// absolute float counts and its buckets as sparse (index, count) lists. The one type the reader of
// a folded series' bytes (protocol/series_samples.h) produces and the overflow histogram fold
// (overflow/histogram_fold.h) consumes and emits, so neither module knows the other.
//
// Indexing is Prometheus's: at schema s (-4..8) the base is 2^(2^-s) and positive bucket i holds
// the observations in (base^(i-1), base^i]; negative bucket i the ones in [-base^i, -base^(i-1)).
// The zero bucket holds [-zero_threshold, zero_threshold]. Counts are doubles so that integer and
// float histograms are one type (an integer count is exact in a double up to 2^53).
// Value types; no synchronization.
#pragma once

#include <cstdint>
#include <vector>

namespace mg {

struct histogram_bucket {
    std::int32_t index = 0;
    double count = 0;
    friend bool operator==(const histogram_bucket&, const histogram_bucket&) = default;
};

struct native_histogram {
    std::int32_t schema = 0;
    double zero_threshold = 0;
    double zero_count = 0;
    double count = 0;  // every observation, the zero bucket's included
    double sum = 0;
    std::vector<histogram_bucket> positive;  // sorted by index, each index once
    std::vector<histogram_bucket> negative;
};

// remote write's Histogram.ResetHint: what the sender says of a sample's counter reset; `gauge`
// marks a gauge histogram (not a counter at all).
enum class histogram_reset_hint : std::uint8_t { unknown = 0, yes = 1, no = 2, gauge = 3 };

struct histogram_sample {
    native_histogram histogram;
    std::int64_t timestamp_ms = 0;
    histogram_reset_hint hint = histogram_reset_hint::unknown;
};

}  // namespace mg
