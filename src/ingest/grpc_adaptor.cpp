// The daemon's side of the OTLP/gRPC listener (grpc_adaptor.h).
#include "ingest/grpc_adaptor.h"

#include "ingest/grpc_answers.h"
#include "protocol/grpc_codes.h"

namespace mg::ingest {

bool grpc_adaptor::authorize(std::optional<std::string_view> authorization) {
    if (!access_.auth || !access_.auth->enabled()) return true;
    if (authorization && access_.auth->accepts(*authorization)) return true;
    if (access_.access_stats) access_.access_stats->unauthorized();
    return false;
}

std::optional<grpc_answer> grpc_adaptor::acquire(std::uint64_t bytes) {
    if (!access_.inflight || access_.inflight->try_acquire(bytes)) return std::nullopt;
    return retry_later(
        "too many request bytes in flight (-receiver-max-inflight-bytes); retry later",
        std::chrono::seconds(1));
}

void grpc_adaptor::release(std::uint64_t bytes) {
    if (access_.inflight && bytes != 0) access_.inflight->release(bytes);
}

std::uint64_t grpc_adaptor::inflight_limit() const {
    return access_.inflight ? access_.inflight->limit() : 0;
}

const std::string& grpc_adaptor::tenant_metadata_key() const {
    return receiver_.tenants().metadata_key();
}

void grpc_adaptor::export_otlp(std::span<const std::string_view> pieces, bool gzip,
                               std::span<const std::string_view> tenant_values,
                               std::function<void(grpc_answer)> done) {
    receiver_.export_otlp(
        pieces, gzip, [done = std::move(done)](otlp_result r) { done(answer_of(r)); },
        tenant_values);
}

void grpc_adaptor::count_answer(grpc_code code, double seconds) {
    receiver_.metrics().request(protocol_label::otlp_grpc,
                                protocol::grpc_code_name(static_cast<int>(code)), seconds);
}

}  // namespace mg::ingest
