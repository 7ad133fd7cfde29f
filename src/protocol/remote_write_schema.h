// Internal to mg_protocol: the remote-write message layout, from prompb/remote.proto and
// types.proto (1.0) and io/prometheus/write/v2 (2.0), in one place for the decoders, the
// encoders, the OTLP converter (which writes 1.0 TimeSeries) and the request builders.
// Constants only.
#pragma once

#include <cstdint>
#include <string_view>

namespace mg::protocol::rw_schema {

// The label that carries the metric name in both versions.
inline constexpr std::string_view k_name_label = "__name__";

namespace v1 {
// WriteRequest, TimeSeries, Label, Sample, Exemplar, MetricMetadata.
inline constexpr std::uint32_t req_timeseries = 1, req_metadata = 3;
inline constexpr std::uint32_t ts_labels = 1, ts_samples = 2, ts_exemplars = 3, ts_histograms = 4;
inline constexpr std::uint32_t label_name = 1, label_value = 2;
inline constexpr std::uint32_t sample_value = 1, sample_timestamp = 2;
inline constexpr std::uint32_t exemplar_labels = 1, exemplar_value = 2, exemplar_timestamp = 3;
inline constexpr std::uint32_t md_type = 1, md_family = 2, md_help = 4, md_unit = 5;
// Histogram (native), integer counts; BucketSpan. The same numbers in 2.0.
inline constexpr std::uint32_t histogram_count_int = 1, histogram_sum = 3, histogram_schema = 4,
                               histogram_zero_threshold = 5, histogram_zero_count_int = 6,
                               histogram_negative_spans = 8, histogram_negative_deltas = 9,
                               histogram_positive_spans = 11, histogram_positive_deltas = 12,
                               histogram_timestamp = 15;
inline constexpr std::uint32_t span_offset = 1, span_length = 2;
}  // namespace v1

namespace v2 {
// Request, TimeSeries, Exemplar, Metadata. Samples and histograms have the 1.0 layout.
inline constexpr std::uint32_t req_symbols = 4, req_timeseries = 5;
inline constexpr std::uint32_t ts_labels_refs = 1, ts_samples = 2, ts_histograms = 3,
                               ts_exemplars = 4, ts_metadata = 5;
inline constexpr std::uint32_t exemplar_labels_refs = 1, exemplar_value = 2, exemplar_timestamp = 3;
inline constexpr std::uint32_t md_type = 1, md_help_ref = 3, md_unit_ref = 4;
}  // namespace v2

}  // namespace mg::protocol::rw_schema
