// Internal to mg_protocol: the OTLP protobuf subset encoder with strip masks (the masked
// encode_otlp_protobuf_subset() of otlp.h, which validates its arguments and hands the work
// here). A planner walks the request once and places every kept point in its resource and scope
// groups (otlp_strip_plan.h); an encoder walks it again and writes each resource and scope once
// per group, without the removed attributes. Pure function.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "protocol/series_batch.h"
#include "protocol/status.h"

namespace mg::protocol::otlp_detail {

// Appends to `out` the request of `batch` (OTLP protobuf, decoded) with the kept points only,
// each without the labels strip_masks[i] selects. The arguments must have been checked
// (check_strip_masks(), series_batch.h): keep and strip_masks of batch.size() entries. Fails
// (malformed) only when the batch's body changed since decoding.
decode_status encode_otlp_protobuf_stripped(const series_batch& batch,
                                            std::span<const std::uint8_t> keep,
                                            std::span<const std::uint64_t> strip_masks,
                                            std::string& out);

}  // namespace mg::protocol::otlp_detail
