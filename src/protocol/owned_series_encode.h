// owned_series_encode: requests of series the daemon makes itself rather than forwards: the
// overflow series (issue 21), whose labels and samples the daemon owns. Remote write 1.0
// (WriteRequest) and OTLP protobuf (ExportMetricsServiceRequest: one Metric per series, a
// cumulative monotonic Sum for a counter, a Gauge otherwise, every label a data point attribute),
// so they can go through the exporter as any sender's request does. A series of native
// histograms is a TimeSeries of float Histograms (counts as doubles, absolute, with spans; reset
// hint unknown, so the backend detects resets itself) in remote write, a cumulative
// ExponentialHistogram in OTLP (counts rounded to integers, as OTLP has no float counts). Not the
// request builders of mg_protocol_builders (tests' full-featured ones): only what an overflow
// series needs. Pure functions; any thread.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "common/native_histogram.h"
#include "protocol/series_samples.h"

namespace mg::protocol {

struct owned_series {
    std::string_view metric_name;
    std::span<const std::pair<std::string, std::string>> labels;  // sorted, without __name__
    bool cumulative = false;                                      // a counter
    std::span<const float_sample> samples;                        // timestamps increasing
    // Native histograms (cumulative), timestamps increasing; a series has these or samples.
    std::span<const histogram_sample> histograms = {};
};

// Appends the encoded request to `out` (uncompressed protobuf).
void encode_owned_remote_write_v1(std::span<const owned_series> series, std::string& out);
void encode_owned_otlp(std::span<const owned_series> series, std::string& out);

}  // namespace mg::protocol
