// encode_kept: the one entry point that turns a decoded request and the governor's decisions back
// into a request body, whatever protocol the batch was decoded from. It dispatches to the
// per-protocol subset encoders (remote_write.h, otlp.h, otlp_json.h), so it sits above all of
// them: series_batch.h knows no protocol, and no encoder depends on this file.
//
// Pure functions; the batch's body (and, for OTLP/JSON, its document) must still be alive.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "protocol/series_batch.h"
#include "protocol/status.h"

namespace mg::protocol {

// Builds the request body that carries only the kept series of `batch`, in the batch's own
// protocol (remote write 1.0/2.0, OTLP protobuf/JSON). keep[i] != 0 keeps series i; keep.size()
// must equal batch.size(). `out` is replaced. Fails (malformed) only when keep has the wrong size
// or the batch's source data was changed since decoding.
decode_status encode_kept(const series_batch& batch, std::span<const std::uint8_t> keep,
                          std::string& out);

// encode_kept() that also removes, from each kept series i, the labels strip_masks[i] selects.
// strip_masks is empty (no stripping: same bytes as encode_kept above) or has batch.size()
// entries; series with mask 0 are encoded exactly as without masks. Per protocol:
//   - remote write 1.0: a stripped series is rewritten without the removed Label fields, every
//     other field copied raw;
//   - remote write 2.0: the removed labels' refs are dropped; the rebuilt symbol table only
//     holds strings that some emitted series still uses;
//   - OTLP protobuf/JSON: a label is removed at every level that carries its key (point,
//     scope, resource: otherwise a shadowed resource/scope value would surface in its place).
//     Point attributes are removed from that point only. A resource or scope that loses an
//     attribute for some of its points but not others is split: the points that need the
//     removal get a copy of the resource/scope without it, so their output order may differ
//     from the input order (grouped by copy, in order of first appearance).
// Fails (malformed) on a mask of the wrong size, a mask bit past a series' labels, or a batch
// whose source changed since decoding.
decode_status encode_kept(const series_batch& batch, std::span<const std::uint8_t> keep,
                          std::span<const std::uint64_t> strip_masks, std::string& out);

}  // namespace mg::protocol
