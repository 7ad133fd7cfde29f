// adaptors: the receiver's ports (ports.h) over the real governor and exporter; each method
// forwards to the method of the same name. They hold references: the governor and the exporter
// must outlive them. Thread-safe as what they forward to.
#pragma once

#include "ingest/ports.h"

namespace mg::ingest {

class governor_adaptor final : public governor_port {
  public:
    explicit governor_adaptor(limits::governor& governor) : governor_(governor) {}
    void note_rejected(limits::drop_reason reason, std::uint64_t series,
                       std::uint64_t datapoints) override;
    void decide(std::span<const limits::series_ref> series,
                std::span<limits::decision> out) override;
    bool asynchronous() const override;
    void decide_async(std::span<const limits::series_ref> series, std::span<limits::decision> out,
                      std::function<void()> done) override;

  private:
    limits::governor& governor_;
};

class exporter_adaptor final : public exporter_port {
  public:
    explicit exporter_adaptor(exporter::exporter& exporter) : exporter_(exporter) {}
    status check_source(protocol::source_protocol p) const override;
    exporter::submit_status reserve(std::uint64_t bytes, exporter::reservation& out) override;
    std::chrono::seconds retry_after_hint() const override;
    bool can_forward_raw(const protocol::series_batch& batch, std::span<const std::uint8_t> keep,
                         std::span<const std::uint64_t> strip_masks) const override;
    exporter::submit_status submit_raw(std::string body, const protocol::series_batch& batch,
                                       exporter::body_encoding enc, std::uint32_t series,
                                       std::uint64_t points, exporter::reservation* room,
                                       std::string_view tenant) override;
    exporter::submit_status submit(const protocol::series_batch& batch,
                                   std::span<const std::uint8_t> keep,
                                   std::span<const std::uint64_t> strip_masks,
                                   exporter::submit_details& details, exporter::reservation* room,
                                   const exporter::tenant_split& tenants) override;

  private:
    exporter::exporter& exporter_;
};

}  // namespace mg::ingest
