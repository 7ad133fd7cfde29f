// series_samples: the float samples of one series of a decoded batch, read from its raw bytes
// again (the decoders keep only views and counts), for the overflow folds (issue 21): the series
// the governor folds are the only ones read twice. Also what the request says of the series'
// kind: remote write 2.0 metadata, the OTLP metric kind.
//
// Remote write 1.0/2.0: every Sample of the TimeSeries (value, timestamp in ms); native
// histograms are not read (counted in `histograms`). OTLP protobuf: a gauge or sum data point's
// value (as_double or as_int) at its time; other point kinds, and OTLP/JSON (no raw bytes), give
// no samples. Pure function over the batch's bytes; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "protocol/series_batch.h"

namespace mg::protocol {

// What the request says the series is; unknown when it says nothing.
enum class series_type : std::uint8_t { unknown, counter, gauge };

struct float_sample {
    double value = 0;
    std::int64_t timestamp_ms = 0;
};

struct series_samples {
    std::vector<float_sample> samples;
    series_type type = series_type::unknown;
    std::uint32_t unreadable = 0;  // points that give no float sample (histograms, JSON, bad bytes)
};

// Fills `out` (cleared first) with the samples of batch[i].
void read_series_samples(const series_batch& batch, std::size_t i, series_samples& out);

}  // namespace mg::protocol
