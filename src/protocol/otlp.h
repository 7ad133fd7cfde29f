// OTLP metrics over HTTP, protobuf encoding: ExportMetricsServiceRequest decoding into a
// series_batch (one series per data point), re-encoding with a subset of the points, and the
// ExportMetricsServiceResponse with partial_success. Message definitions are written from the
// public opentelemetry-proto specs (collector/metrics/v1, metrics/v1, common/v1, resource/v1).
//
// Series identity of a data point (documented in docs/protocols.md):
//   metric name = Metric.name;
//   labels = resource attributes, then otel_scope_name / otel_scope_version (when non-empty) and
//            scope attributes, then point attributes, flattened into one sorted list; when a key
//            appears at several levels the more specific one wins (point > scope > resource).
//   Attribute values of every AnyValue kind become a stable string: strings as is, bools
//   true/false, ints in decimal, doubles in shortest round-trip form (NaN, +Inf, -Inf), bytes in
//   base64, arrays and kvlists in a JSON-like form with kvlist keys sorted. The JSON decoder
//   renders the same values to the same strings.
// Errors (errc::malformed): invalid protobuf or wrong wire types, invalid UTF-8, empty or
// duplicate attribute keys within one attribute list, AnyValue nesting deeper than
// k_otlp_max_any_depth.
//
// Pure functions; views point into the body or the batch's arena (see series_batch.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/series_batch.h"
#include "protocol/status.h"

namespace mg::protocol {

inline constexpr std::string_view k_otel_scope_name_label = "otel_scope_name";
inline constexpr std::string_view k_otel_scope_version_label = "otel_scope_version";
inline constexpr int k_otlp_max_any_depth = 32;

decode_status decode_otlp_protobuf(bytes_view body, series_batch& out);

// Re-encodes the request of a decoded OTLP protobuf batch keeping only the points with
// keep[i] != 0; metrics, scopes and resources left without points are dropped. Everything else
// (descriptions, units, temporality, schema URLs, points themselves) is copied byte for byte.
// Appends to `out`.
decode_status encode_otlp_protobuf_subset(const series_batch& batch,
                                          std::span<const std::uint8_t> keep, std::string& out);

// Same, removing from each kept point i the labels strip_masks[i] selects (strip_masks empty or
// of batch.size() entries; see encode_kept() in encode_kept.h). A removed label goes from every
// level that has its key: the point's attributes (that point only), the scope's attributes,
// name (otel_scope_name) or version (otel_scope_version), the resource's attributes. When only
// some points of a resource/scope need a removal there, the resource/scope is split: those
// points are emitted under a copy without the removed attributes (the ResourceMetrics or
// ScopeMetrics repeated with its other fields copied raw), grouped by copy in order of first
// appearance. Points with mask 0 under an unchanged resource/scope come out exactly as from the
// overload above.
decode_status encode_otlp_protobuf_subset(const series_batch& batch,
                                          std::span<const std::uint8_t> keep,
                                          std::span<const std::uint64_t> strip_masks,
                                          std::string& out);

// ExportMetricsServiceResponse. With rejected == 0 and an empty message the body is empty (no
// partial_success), as the spec asks for full success.
void encode_otlp_response_protobuf(std::int64_t rejected, std::string_view error_message,
                                   std::string& out);
struct otlp_partial_success {
    std::int64_t rejected_data_points = 0;
    std::string error_message;
};
decode_status decode_otlp_response_protobuf(bytes_view body, otlp_partial_success& out);

}  // namespace mg::protocol
