// lane_payloads: the kept series of one request encoded for the backend, one payload per lane
// the series travel (`lanes`: lane_split::split() ran on the same batch and keep mask), in one
// pass over the batch. Used by submit() for what a
// sender posted and by the batcher when a reshard splits the waiting backlog over new lanes.
//
//   - encode_prw: remote write 1.0 (from remote write 1.0 or 2.0 input; TimeSeries bytes copied
//     when nothing is stripped and the labels were sorted on the wire);
//   - encode_otlp: OTLP stays OTLP (protobuf or JSON, as it came) for an OTLP backend;
//   - convert_to_prw: OTLP points become TimeSeries for a remote-write backend; every TimeSeries
//     of one point travels its point's lane.
//
// When every kept series travels one lane (one shard, or a request whose series share their
// lane) it is one payload, encoded with the keep mask as it is. Each function appends to `out`; on
// failure `out` may hold some of the lanes' payloads (the caller drops them all).
//
// Thread-safety: the functions use per-thread scratch buffers; call them from any thread.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "common/result.h"
#include "export/payload.h"
#include "export/queue.h"
#include "export/shard_split.h"
#include "protocol/otlp_to_prw.h"
#include "protocol/series_batch.h"

namespace mg::exporter {

// Payloads of one request, each with its lane.
using lane_payloads = std::vector<std::pair<payload, lane_ref>>;

// keep[i] != 0 selects series i; strip is empty or holds one label mask per series.
protocol::decode_status encode_prw(const protocol::series_batch& batch,
                                   std::span<const std::uint8_t> keep,
                                   std::span<const std::uint64_t> strip, lane_split& lanes,
                                   lane_payloads& out);

protocol::decode_status encode_otlp(const protocol::series_batch& batch,
                                    std::span<const std::uint8_t> keep,
                                    std::span<const std::uint64_t> strip, lane_split& lanes,
                                    lane_payloads& out);

// A payload counts what is sent (TimeSeries and samples); `result` sums the conversion over the
// lanes, in OTLP points. Lanes whose points all failed to convert get no payload.
status convert_to_prw(const protocol::series_batch& batch, std::span<const std::uint8_t> keep,
                      std::span<const std::uint64_t> strip,
                      const protocol::prw_conversion_options& options, lane_split& lanes,
                      lane_payloads& out, protocol::prw_conversion_result& result);

}  // namespace mg::exporter
