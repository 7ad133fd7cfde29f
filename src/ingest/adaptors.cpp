// The real governor and exporter behind the receiver's ports (see adaptors.h).
#include "ingest/adaptors.h"

#include <utility>

namespace mg::ingest {

void governor_adaptor::note_rejected(limits::drop_reason reason, std::uint64_t series,
                                     std::uint64_t datapoints) {
    governor_.note_rejected(reason, series, datapoints);
}

void governor_adaptor::decide(std::span<const limits::series_ref> series,
                              std::span<limits::decision> out) {
    governor_.decide(series, out);
}

bool governor_adaptor::asynchronous() const {
    return governor_.clustered();
}

void governor_adaptor::decide_async(std::span<const limits::series_ref> series,
                                    std::span<limits::decision> out, std::function<void()> done) {
    governor_.decide_async(series, out,
                           [done = std::move(done)](limits::batch_summary) { done(); });
}

status exporter_adaptor::check_source(protocol::source_protocol p) const {
    return exporter_.check_source(p);
}

exporter::submit_status exporter_adaptor::reserve(std::uint64_t bytes, exporter::reservation& out) {
    return exporter_.reserve(bytes, out);
}

std::chrono::seconds exporter_adaptor::retry_after_hint() const {
    return exporter_.retry_after_hint();
}

bool exporter_adaptor::can_forward_raw(const protocol::series_batch& batch,
                                       std::span<const std::uint8_t> keep,
                                       std::span<const std::uint64_t> strip_masks) const {
    return exporter_.can_forward_raw(batch, keep, strip_masks);
}

exporter::submit_status exporter_adaptor::submit_raw(std::string body,
                                                     const protocol::series_batch& batch,
                                                     exporter::body_encoding enc,
                                                     std::uint32_t series, std::uint64_t points,
                                                     exporter::reservation* room,
                                                     std::string_view tenant) {
    return exporter_.submit_raw(std::move(body), batch, enc, series, points, room, tenant);
}

exporter::submit_status exporter_adaptor::submit(const protocol::series_batch& batch,
                                                 std::span<const std::uint8_t> keep,
                                                 std::span<const std::uint64_t> strip_masks,
                                                 exporter::submit_details& details,
                                                 exporter::reservation* room,
                                                 const exporter::tenant_split& tenants) {
    return exporter_.submit(batch, keep, strip_masks, details, room, tenants);
}

}  // namespace mg::ingest
