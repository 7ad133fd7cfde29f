// owned_series_encode: requests of series the daemon makes itself rather than forwards: the
// overflow series (issue 21), whose labels and samples the daemon owns. Remote write 1.0
// (WriteRequest) and OTLP protobuf (ExportMetricsServiceRequest: one Metric per series, a
// cumulative monotonic Sum for a counter (delta when the series says so), a Gauge otherwise, every
// label a data point attribute), so they can go through the exporter as any sender's request does.
// A series of native histograms is a TimeSeries of Histograms in remote write (integer counts as
// deltas when every count is a whole number, as instrumented clients send them; else float counts;
// reset hint unknown, so the backend detects resets itself), a cumulative ExponentialHistogram in
// OTLP (counts rounded to integers, as OTLP has no float counts). A series of explicit-bounds
// histograms or summaries is a cumulative Histogram or a Summary (count and sum, no quantiles) in
// OTLP only: they are folded from OTLP and sent as OTLP, which a remote-write exporter converts
// (_bucket, _count, _sum); the remote write encoder leaves them out. Not the request builders of
// mg_protocol_builders (tests' full-featured ones): only what an overflow series needs. Pure
// functions; any thread.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "common/explicit_histogram.h"
#include "common/native_histogram.h"
#include "protocol/series_samples.h"

namespace mg::protocol {

struct owned_series {
    std::string_view metric_name;
    std::span<const std::pair<std::string, std::string>> labels;  // sorted, without __name__
    bool cumulative = false;                                      // a counter
    std::span<const float_sample> samples;                        // timestamps increasing
    // OTLP only: a counter whose samples are increases, each over the time since the previous
    // one (the first since start_ms): a delta monotonic Sum. Remote write has no deltas.
    bool delta = false;
    std::int64_t start_ms = 0;
    // Native histograms (cumulative), timestamps increasing; a series has these or samples.
    std::span<const histogram_sample> histograms = {};
    // OTLP Histograms (explicit bounds) or, with `summary`, Summaries (count and sum).
    std::span<const explicit_histogram_sample> explicit_histograms = {};
    bool summary = false;
    std::string_view unit = {};  // OTLP only: Metric.unit, left out when empty
};

// Appends the encoded request to `out` (uncompressed protobuf).
void encode_owned_remote_write_v1(std::span<const owned_series> series, std::string& out);
void encode_owned_otlp(std::span<const owned_series> series, std::string& out);

}  // namespace mg::protocol
