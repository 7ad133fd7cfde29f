// Internal to mg_protocol: helpers shared by the OTLP protobuf and JSON codecs so that both
// render attribute values to the same strings and flatten labels the same way, and the failure
// messages of the protobuf decoders (requests and responses).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/series_batch.h"
#include "protocol/status.h"
#include "protocol/wire.h"

namespace mg::protocol::otlp_detail {

// Failures of the protobuf codec: errc::malformed with "OTLP: " and what went wrong (where in the
// message, the reader's error and offset, or the wire type found and wanted).
decode_status fail(const std::string& what);
decode_status fail_wire(const wire_reader& r, const char* where);
decode_status fail_type(const wire_field& f, const char* where, wire_type want);

// Shortest round-trip decimal; NaN, +Inf, -Inf for the non-finite values.
void render_double(double v, std::string& out);
void render_int(std::int64_t v, std::string& out);
// Appends s as a JSON string literal.
void json_quote(std::string_view s, std::string& out);
// Appends {"k":v,...} with entries sorted by key (stable for equal keys).
void render_kvlist(std::vector<std::pair<std::string_view, std::string>>& items, std::string& out);

// Renders an AnyValue payload (protobuf) the way the decoder renders an attribute value into a
// label (appended to `out`); for the converter's target_info, which reads resource attributes.
decode_status render_attribute_value(bytes_view any_value, std::string& out);

// out = base overridden by top (both sorted by name and unique); result sorted and unique.
void merge_labels(std::span<const label_view> base, std::span<const label_view> top,
                  std::vector<label_view>& out);

// Adds one data point as a series of `out`: its labels are `scope_merged` overridden by `point`
// (merged through the scratch vector), and it carries one sample (gauge, sum) or one histogram
// (histogram, exponential histogram, summary). Shared by the protobuf and JSON decoders.
void push_point(series_batch& out, series_entry& e, metric_kind k,
                std::span<const label_view> scope_merged, std::span<const label_view> point,
                std::vector<label_view>& merged);

}  // namespace mg::protocol::otlp_detail
