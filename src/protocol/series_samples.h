// series_samples: the float samples and native histograms of one series of a decoded batch, read
// from its raw bytes again (the decoders keep only views and counts), for the overflow folds
// (issue 21): the series the governor folds are the only ones read twice. Also what the request
// says of the series' kind: remote write 2.0 metadata, the OTLP metric kind.
//
// Remote write 1.0/2.0: every Sample of the TimeSeries (value, timestamp in ms) and every native
// histogram (Histogram: integer or float counts, spans with deltas or absolute counts, schema,
// zero bucket, reset hint, timestamp; read_native_histogram), both in wire order. OTLP protobuf:
// a gauge or sum data point's value (as_double or as_int) at its time, a Sum's kind from its
// temporality and monotonicity (read_sum_shapes); an ExponentialHistogram point as a native
// histogram (bucket k + 1 for OTLP's k, a scale past 8 downscaled to 8; a counter, delta_counter
// with delta temporality); a Histogram point (explicit bounds) or a Summary point (count and
// sum, not its quantiles) as an explicit_histogram (a counter, a delta Histogram delta_counter).
// OTLP/JSON (no raw bytes) gives no samples.
// Pure functions over the batch's bytes; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/explicit_histogram.h"
#include "common/native_histogram.h"
#include "protocol/series_batch.h"
#include "protocol/wire.h"

namespace mg::protocol {

// What the request says the series is; unknown when it says nothing. delta_counter: an OTLP
// monotonic Sum with delta temporality (each value an increase); delta_other: a non-monotonic
// delta Sum (not foldable).
enum class series_type : std::uint8_t { unknown, counter, gauge, delta_counter, delta_other };

struct float_sample {
    double value = 0;
    std::int64_t timestamp_ms = 0;
};

struct series_samples {
    std::vector<float_sample> samples;
    std::vector<histogram_sample> histograms;  // native histograms, OTLP exponential ones
    std::vector<explicit_histogram_sample> explicit_histograms;  // OTLP Histogram, Summary
    series_type type = series_type::unknown;
    std::uint32_t unreadable = 0;  // points read as neither (OTLP histograms, JSON, bad bytes)
};

// One remote write Histogram message (its payload) into `out`: counts as doubles (count_int or
// count_float, zero_count_int or zero_count_float), the buckets from spans and deltas (integer
// form) or spans and absolute counts (float form), sorted by index. False for bytes that are no
// Histogram: bad protobuf, spans whose lengths do not match the buckets, an index out of range.
bool read_native_histogram(bytes_view payload, histogram_sample& out);

// What an OTLP protobuf request says of the Sum and histogram points of a batch decoded from it:
// per point (batch index), its metric's temporality and monotonicity (a histogram's: false).
// Read once per request that needs it (the points' metric is not in the batch); points of other
// kinds get the zero shape.
struct sum_shape {
    std::uint8_t temporality = 0;  // 0 unspecified, 1 delta, 2 cumulative
    bool monotonic = false;
};
// Fills `out` with batch.size() shapes; false when the batch is not OTLP protobuf or does not
// match its body (then `out` is all zero shapes).
bool read_sum_shapes(const series_batch& batch, std::vector<sum_shape>& out);

// Fills `out` (cleared first) with the samples of batch[i]. `shape`: batch[i]'s from
// read_sum_shapes (OTLP Sum and histogram points), else null (an OTLP Sum or histogram is then
// cumulative, a Sum monotonic).
void read_series_samples(const series_batch& batch, std::size_t i, series_samples& out,
                         const sum_shape* shape = nullptr);

}  // namespace mg::protocol
