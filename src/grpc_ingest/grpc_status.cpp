// The gRPC answers of OTLP export results (grpc_status.h).
#include "grpc_ingest/grpc_status.h"

#include "protocol/rpc_status.h"

namespace mg::grpc_ingest {

grpc::Status retry_later(std::string message, std::chrono::nanoseconds delay) {
    auto details =
        protocol::encode_retry_status(grpc::StatusCode::RESOURCE_EXHAUSTED, message, delay);
    return {grpc::StatusCode::RESOURCE_EXHAUSTED, std::move(message), std::move(details)};
}

grpc::Status status_of(const ingest::otlp_result& r) {
    using kind = ingest::otlp_result::kind;
    switch (r.k) {
        case kind::accepted:
            return grpc::Status::OK;
        case kind::malformed:
            return {grpc::StatusCode::INVALID_ARGUMENT, r.message};
        case kind::too_large:
            return {grpc::StatusCode::RESOURCE_EXHAUSTED, r.message};
        case kind::queue_full:
            // At least a second: a zero delay would ask for an immediate retry into a full queue.
            return retry_later(r.message, std::max<std::chrono::nanoseconds>(
                                              r.retry_after, std::chrono::seconds(1)));
        case kind::unsupported:
            return {grpc::StatusCode::UNIMPLEMENTED, r.message};
        case kind::shutting_down:
            return {grpc::StatusCode::UNAVAILABLE, r.message};
        case kind::no_tenant:
            return {grpc::StatusCode::UNAUTHENTICATED, r.message};
    }
    return {grpc::StatusCode::INTERNAL, "unknown export result"};
}

}  // namespace mg::grpc_ingest
