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
// Tenants: for_each_tenant() runs one of them per tenant of a request (exporter::tenant_split)
// and gives each payload its tenant, so a payload never holds two tenants' series.
//
// Thread-safety: the functions use per-thread scratch buffers; call them from any thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "export/exporter.h"
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

// Runs encode(part) once per tenant of the request with `part` the kept series of that
// tenant (keep itself with one tenant or none), and gives the payloads each call appended to
// `out` their tenant. A request of several tenants becomes separate payloads: the queue never
// merges payloads of different tenants, so no upstream request mixes them. Each tenant's pass
// scans the whole request (series x tenants): requests carry few tenants.
template <typename Status, typename Encode>
Status for_each_tenant(std::span<const std::uint8_t> keep, const tenant_split& tenants,
                       lane_payloads& out, Encode&& encode) {
    const auto label = [&](std::size_t from, std::string_view tenant) {
        for (auto k = from; k < out.size(); ++k) out[k].first.tenant = tenant;
    };
    if (tenants.of.empty()) {
        const auto from = out.size();
        Status st = encode(keep);
        if (!tenants.names.empty()) label(from, tenants.names.front());
        return st;
    }
    thread_local std::vector<std::uint8_t> part;
    Status st;
    for (std::uint32_t t = 0; t < tenants.names.size() && st.ok(); ++t) {
        part.assign(keep.size(), 0);
        bool any = false;
        for (std::size_t i = 0; i < keep.size(); ++i) {
            if (keep[i] != 0 && tenants.of[i] == t) {
                part[i] = 1;
                any = true;
            }
        }
        if (!any) continue;
        const auto from = out.size();
        st = encode(std::span<const std::uint8_t>(part));
        // The lanes were split for the whole request: a lane none of this tenant's series
        // travel gets an empty payload from the encoder, which must not be queued.
        out.erase(std::remove_if(out.begin() + static_cast<std::ptrdiff_t>(from), out.end(),
                                 [](const auto& e) { return e.first.series == 0; }),
                  out.end());
        label(from, tenants.names[t]);
    }
    return st;
}

}  // namespace mg::exporter
