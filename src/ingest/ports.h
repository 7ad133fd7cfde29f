// ports: what the receiver needs from the governor and from the exporter, as two narrow
// interfaces, so the receiver can be unit tested against fakes (tests/unit/ingest) and knows
// nothing else of either. adaptors.h holds the real implementations.
//
// Cost: each method is called once per request (note_rejected once per drop reason), never per
// series, so the virtual calls are nothing next to decoding the request.
//
// Thread-safety: the receiver calls every method from any I/O thread at once; implementations
// must allow that (the governor and the exporter do). The receiver does not own its ports: they
// must outlive it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "common/result.h"
#include "export/exporter.h"
#include "limits/governor.h"
#include "protocol/series_batch.h"

namespace mg::ingest {

// The governor's side of a request: the per-series decisions and the drops counted before them.
class governor_port {
  public:
    virtual ~governor_port() = default;
    // Counts series the receiver dropped on its own (complexity limits), as
    // governor::note_rejected.
    virtual void note_rejected(limits::drop_reason reason, std::uint64_t series,
                               std::uint64_t datapoints) = 0;
    // Decides for every series of a request, as governor::decide (out.size() >= series.size()).
    virtual void decide(std::span<const limits::series_ref> series,
                        std::span<limits::decision> out) = 0;
    // Cluster mode: decide_async() may answer later, on another thread (governor::decide_async);
    // `series` and `out` then stay valid until `done` runs.
    virtual bool asynchronous() const { return false; }
    virtual void decide_async(std::span<const limits::series_ref> series,
                              std::span<limits::decision> out, std::function<void()> done) {
        decide(series, out);
        done();
    }
};

// The exporter's side of a request: refuse it before anything is admitted, or take what was kept.
// Each method means what the exporter's method of the same name means (export/exporter.h).
class exporter_port {
  public:
    virtual ~exporter_port() = default;
    virtual status check_source(protocol::source_protocol p) const = 0;
    virtual exporter::submit_status reserve(std::uint64_t bytes, exporter::reservation& out) = 0;
    virtual std::chrono::seconds retry_after_hint() const = 0;
    virtual bool can_forward_raw(const protocol::series_batch& batch,
                                 std::span<const std::uint8_t> keep,
                                 std::span<const std::uint64_t> strip_masks) const = 0;
    // batch: the request decoded (its series choose the lane the body travels).
    virtual exporter::submit_status submit_raw(std::string body,
                                               const protocol::series_batch& batch,
                                               exporter::body_encoding enc, std::uint32_t series,
                                               std::uint64_t points, exporter::reservation* room,
                                               std::string_view tenant) = 0;
    virtual exporter::submit_status submit(const protocol::series_batch& batch,
                                           std::span<const std::uint8_t> keep,
                                           std::span<const std::uint64_t> strip_masks,
                                           exporter::submit_details& details,
                                           exporter::reservation* room,
                                           const exporter::tenant_split& tenants) = 0;
};

// The overflow side of a request (issue 21, docs/overflow.md): the series the governor folded
// (decision::overflow) go here with their request instead of being dropped. Called once per
// request that has a folded series, from any I/O thread; the batch and refs are valid during the
// call only. The real one is overflow_sink.h.
class overflow_port {
  public:
    virtual ~overflow_port() = default;
    // refs[k] is batch[ref_index[k]], decided decisions[k]; tenant_of(i): the exporter's name of
    // batch[i]'s tenant ("" with tenancy off).
    virtual void fold(const protocol::series_batch& batch, std::span<const limits::series_ref> refs,
                      std::span<const std::size_t> ref_index,
                      std::span<const limits::decision> decisions,
                      const std::function<std::string_view(std::size_t)>& tenant_of) = 0;
};

}  // namespace mg::ingest
