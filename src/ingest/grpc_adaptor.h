// grpc_adaptor: the daemon's side of the OTLP/gRPC listener (the grpc_ingest_port of
// grpc_port.h): the ingest receiver's OTLP core, the ingest listeners' credentials, in-flight
// budget and access counters, and the request counter, behind plain values. main makes one for the
// listener the gRPC plugin serves; the integration tests make one for the listener they link.
//
// Threading: as grpc_port.h (gRPC's threads, concurrently); the receiver, the budget and the
// counters are thread-safe. Ownership: the receiver and the shared pieces must outlive it.
#pragma once

#include <memory>
#include <string>

#include "http/access.h"
#include "http/byte_budget.h"
#include "ingest/grpc_port.h"
#include "ingest/receiver.h"

namespace mg::ingest {

// What the gRPC listener shares with the HTTP ingest listeners; each may be null (none).
struct grpc_access {
    std::shared_ptr<const http::authenticator> auth;
    std::shared_ptr<http::access_counters> access_stats;
    std::shared_ptr<http::byte_budget> inflight;
};

class grpc_adaptor final : public grpc_ingest_port {
  public:
    grpc_adaptor(receiver& r, grpc_access access) : receiver_(r), access_(std::move(access)) {}

    bool authorize(std::optional<std::string_view> authorization) override;
    std::optional<grpc_answer> acquire(std::uint64_t bytes) override;
    void release(std::uint64_t bytes) override;
    std::uint64_t inflight_limit() const override;
    const std::string& tenant_metadata_key() const override;
    void export_otlp(std::span<const std::string_view> pieces, bool gzip,
                     std::span<const std::string_view> tenant_values,
                     std::function<void(grpc_answer)> done) override;
    void count_answer(grpc_code code, double seconds) override;

  private:
    receiver& receiver_;
    grpc_access access_;
};

}  // namespace mg::ingest
