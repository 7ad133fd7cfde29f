// Internal to mg_protocol: the OTLP metrics schema as every OTLP codec of the module reads it, in
// one place, so the protobuf decoder, the subset and strip encoders, the remote-write converter
// and the builders cannot disagree on a field number, a metric kind or how a JSON number reads.
//   - protobuf field numbers, from opentelemetry-proto (collector/metrics/v1, metrics/v1,
//     common/v1, resource/v1);
//   - the metric kinds: which Metric field carries which kind (kind_of and its inverse), and
//     which fields of a data point hold its attributes and exemplars;
//   - the JSON names of the kinds, in the order that numbers the points of a JSON metric;
//   - the readers of OTLP/JSON numbers (the protobuf JSON mapping: 64-bit integers as numbers or
//     strings, doubles also as "NaN", "Infinity", "-Infinity").
// Constants and pure functions; no state.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>

#include "protocol/series_batch.h"

namespace mg::protocol::otlp_schema {

// ---- Protobuf field numbers ----

// ExportMetricsServiceRequest, ResourceMetrics, Resource, ScopeMetrics, InstrumentationScope.
inline constexpr std::uint32_t req_resource_metrics = 1;
inline constexpr std::uint32_t rm_resource = 1, rm_scope_metrics = 2;
inline constexpr std::uint32_t resource_attributes = 1;
inline constexpr std::uint32_t sm_scope = 1, sm_metrics = 2;
inline constexpr std::uint32_t scope_name = 1, scope_version = 2, scope_attributes = 3;

// Metric: its name and text, then one data field (Gauge, Sum, ...) per kind.
inline constexpr std::uint32_t metric_name = 1, metric_description = 2, metric_unit = 3;
inline constexpr std::uint32_t metric_gauge = 5, metric_sum = 7, metric_histogram = 9,
                               metric_exp_histogram = 10, metric_summary = 11;

// Gauge, Sum, Histogram, ExponentialHistogram, Summary: the points, and (all but Gauge and
// Summary) the temporality; Sum alone has is_monotonic.
inline constexpr std::uint32_t data_points = 1, data_temporality = 2, data_is_monotonic = 3;

// Data points. time_unix_nano has one number in every point type; count and sum have the same
// number and type in the three distribution points (histogram, exponential histogram, summary).
inline constexpr std::uint32_t point_start_time_unix_nano = 2, point_time_unix_nano = 3;
inline constexpr std::uint32_t point_count = 4, point_sum = 5;
// NumberDataPoint (gauge, sum).
inline constexpr std::uint32_t number_as_double = 4, number_as_int = 6, number_flags = 8;
// HistogramDataPoint.
inline constexpr std::uint32_t histogram_bucket_counts = 6, histogram_explicit_bounds = 7,
                               histogram_flags = 10;
// ExponentialHistogramDataPoint, and its Buckets.
inline constexpr std::uint32_t exp_scale = 6, exp_zero_count = 7, exp_positive = 8,
                               exp_negative = 9, exp_flags = 10, exp_zero_threshold = 14;
inline constexpr std::uint32_t buckets_offset = 1, buckets_counts = 2;
// SummaryDataPoint, and its ValueAtQuantile.
inline constexpr std::uint32_t summary_quantile_values = 6, summary_flags = 8;
inline constexpr std::uint32_t quantile_quantile = 1, quantile_value = 2;
// Exemplar.
inline constexpr std::uint32_t exemplar_time_unix_nano = 2, exemplar_as_double = 3;

// KeyValue, AnyValue, and ArrayValue.values / KeyValueList.values.
inline constexpr std::uint32_t kv_key = 1, kv_value = 2;
inline constexpr std::uint32_t any_string = 1, any_bool = 2, any_int = 3, any_double = 4,
                               any_array = 5, any_kvlist = 6, any_bytes = 7;
inline constexpr std::uint32_t list_values = 1;

// ExportMetricsServiceResponse and ExportMetricsPartialSuccess.
inline constexpr std::uint32_t resp_partial_success = 1;
inline constexpr std::uint32_t ps_rejected = 1, ps_message = 2;

// DataPointFlags: the point marks a gap (Prometheus writes a stale marker for it).
inline constexpr std::uint64_t flag_no_recorded_value = 1;

// ---- Metric kinds ----

// The kind a Metric field carries; unknown for the fields that carry none.
constexpr metric_kind kind_of(std::uint32_t field) {
    switch (field) {
        case metric_gauge:
            return metric_kind::gauge;
        case metric_sum:
            return metric_kind::sum;
        case metric_histogram:
            return metric_kind::histogram;
        case metric_exp_histogram:
            return metric_kind::exponential_histogram;
        case metric_summary:
            return metric_kind::summary;
        default:
            return metric_kind::unknown;
    }
}

// The Metric field that carries kind k; 0 for unknown.
constexpr std::uint32_t data_field_of(metric_kind k) {
    switch (k) {
        case metric_kind::gauge:
            return metric_gauge;
        case metric_kind::sum:
            return metric_sum;
        case metric_kind::histogram:
            return metric_histogram;
        case metric_kind::exponential_histogram:
            return metric_exp_histogram;
        case metric_kind::summary:
            return metric_summary;
        case metric_kind::unknown:
            break;
    }
    return 0;
}

// Attribute and exemplar field numbers differ per data point type.
constexpr std::uint32_t attributes_field(metric_kind k) {
    switch (k) {
        case metric_kind::histogram:
            return 9;
        case metric_kind::exponential_histogram:
            return 1;
        default:
            return 7;  // NumberDataPoint, SummaryDataPoint
    }
}
constexpr std::uint32_t exemplars_field(metric_kind k) {
    switch (k) {
        case metric_kind::gauge:
        case metric_kind::sum:
            return 5;
        case metric_kind::histogram:
            return 8;
        case metric_kind::exponential_histogram:
            return 11;
        default:
            return 0;  // summaries have none
    }
}

// ---- OTLP/JSON ----

struct kind_key {
    const char* camel;
    const char* snake;  // the original proto name where it differs, else nullptr
    metric_kind kind;
};
// The metric's data fields in the order the decoder walks them, which numbers the points: the
// converter and the subset encoder find point n by walking in the same order.
inline constexpr kind_key k_kinds[] = {
    {"gauge", nullptr, metric_kind::gauge},
    {"sum", nullptr, metric_kind::sum},
    {"histogram", nullptr, metric_kind::histogram},
    {"exponentialHistogram", "exponential_histogram", metric_kind::exponential_histogram},
    {"summary", nullptr, metric_kind::summary},
};

// Number readers. Each returns false, leaving `out` unspecified, for a value of another JSON
// type, out of range, or not exactly an integer where one is wanted. A 64-bit integer may come
// as a JSON number or as a decimal string (the mapping writes strings, so that no digits are
// lost); a JSON number with an integral value such as 3.0 reads as 3, one with a fraction such
// as 3.5 is refused. A string must be a decimal integer and nothing else ("3.0" is refused).
bool json_int64(const nlohmann::json& v, std::int64_t& out);
bool json_uint64(const nlohmann::json& v, std::uint64_t& out);
// Any JSON number, or a string: "NaN", "Infinity", "-Infinity" or a decimal number.
bool json_double(const nlohmann::json& v, double& out);

}  // namespace mg::protocol::otlp_schema
