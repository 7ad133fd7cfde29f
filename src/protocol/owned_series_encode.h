// owned_series_encode: requests of series the daemon makes itself rather than forwards: the
// overflow series (issue 21), whose labels and samples the daemon owns. Remote write 1.0
// (WriteRequest) and OTLP protobuf (ExportMetricsServiceRequest: one Metric per series, a
// cumulative monotonic Sum for a counter (delta when the series says so), a Gauge otherwise, every
// label a data point attribute), so they can go through the exporter as any sender's request does.
// Not the request builders of mg_protocol_builders (tests' full-featured ones): only what an
// overflow series needs. Pure functions; any thread.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>

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
};

// Appends the encoded request to `out` (uncompressed protobuf).
void encode_owned_remote_write_v1(std::span<const owned_series> series, std::string& out);
void encode_owned_otlp(std::span<const owned_series> series, std::string& out);

}  // namespace mg::protocol
