// OTLP metrics over HTTP, JSON encoding (the protobuf JSON mapping as OTLP specifies it:
// lowerCamelCase field names, 64-bit integers as strings or numbers, bytes as base64).
// Same series identity and attribute rendering as the protobuf codec (see otlp.h), so a request
// sent as JSON or as protobuf yields the same series.
//
// Parsing goes through nlohmann::json, guarded first by a linear scan that bounds the body size
// and the nesting depth (a deep document would otherwise recurse in the parser). The parsed
// document is kept in an otlp_json_document, which the batch's views point into and from which
// the kept subset is re-encoded; it must outlive the batch's use. snake_case field names are
// accepted too, as protobuf JSON parsers do. Errors: errc::too_large past max_bytes,
// errc::malformed for invalid JSON, too deep nesting, wrong JSON types for known fields, and the
// same attribute problems as the protobuf decoder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "protocol/otlp.h"
#include "protocol/series_batch.h"
#include "protocol/status.h"

namespace mg::protocol {

struct otlp_json_limits {
    std::size_t max_depth = 64;
    std::size_t max_bytes = 64U << 20;
};

// Owns a parsed OTLP/JSON request. Movable, not copyable; not synchronized.
class otlp_json_document {
  public:
    otlp_json_document();
    ~otlp_json_document();
    otlp_json_document(otlp_json_document&&) noexcept;
    otlp_json_document& operator=(otlp_json_document&&) noexcept;

    struct impl;
    impl& get() const { return *impl_; }

  private:
    std::unique_ptr<impl> impl_;
};

decode_status decode_otlp_json(bytes_view body, otlp_json_document& doc, series_batch& out,
                               const otlp_json_limits& limits = {});

// Serializes the document keeping only points with keep[i] != 0 (in decode order); empty
// metrics, scopes and resources are dropped. `out` is replaced.
decode_status encode_otlp_json_subset(const otlp_json_document& doc,
                                      std::span<const std::uint8_t> keep, std::string& out);

// Same for a decoded OTLP/JSON batch (its document), removing from each kept point i the labels
// strip_masks[i] selects; strip_masks empty or of batch.size() entries. Same rules as
// encode_otlp_protobuf_subset() with masks: a label goes from every level that has its key, and
// a resource or scope is split (copied without the removed attributes, or without "name" /
// "version" for otel_scope_name / otel_scope_version) when only some of its points need it.
// Resources, scopes and points left untouched serialize as without masks.
decode_status encode_otlp_json_subset(const series_batch& batch, std::span<const std::uint8_t> keep,
                                      std::span<const std::uint64_t> strip_masks, std::string& out);

// {"partialSuccess":{"rejectedDataPoints":"N","errorMessage":"..."}} or {} on full success.
std::string encode_otlp_response_json(std::int64_t rejected, std::string_view error_message);
// The same read back (the exporter, from an OTLP/HTTP JSON backend); {} and no body part mean no
// rejection.
decode_status decode_otlp_response_json(std::string_view body, otlp_partial_success& out);

}  // namespace mg::protocol
