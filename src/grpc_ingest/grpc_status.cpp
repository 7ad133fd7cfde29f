// The gRPC answers of OTLP export results (grpc_status.h).
#include "grpc_ingest/grpc_status.h"

#include "grpc_ingest/status_details.h"

namespace mg::grpc_ingest {

grpc::Status retry_later(std::string message, std::chrono::nanoseconds delay) {
    auto details = encode_retry_status(grpc::StatusCode::RESOURCE_EXHAUSTED, message, delay);
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
    }
    return {grpc::StatusCode::INTERNAL, "unknown export result"};
}

std::string_view code_name(grpc::StatusCode code) {
    switch (code) {
        case grpc::StatusCode::OK:
            return "OK";
        case grpc::StatusCode::CANCELLED:
            return "CANCELLED";
        case grpc::StatusCode::UNKNOWN:
            return "UNKNOWN";
        case grpc::StatusCode::INVALID_ARGUMENT:
            return "INVALID_ARGUMENT";
        case grpc::StatusCode::DEADLINE_EXCEEDED:
            return "DEADLINE_EXCEEDED";
        case grpc::StatusCode::NOT_FOUND:
            return "NOT_FOUND";
        case grpc::StatusCode::ALREADY_EXISTS:
            return "ALREADY_EXISTS";
        case grpc::StatusCode::PERMISSION_DENIED:
            return "PERMISSION_DENIED";
        case grpc::StatusCode::UNAUTHENTICATED:
            return "UNAUTHENTICATED";
        case grpc::StatusCode::RESOURCE_EXHAUSTED:
            return "RESOURCE_EXHAUSTED";
        case grpc::StatusCode::FAILED_PRECONDITION:
            return "FAILED_PRECONDITION";
        case grpc::StatusCode::ABORTED:
            return "ABORTED";
        case grpc::StatusCode::OUT_OF_RANGE:
            return "OUT_OF_RANGE";
        case grpc::StatusCode::UNIMPLEMENTED:
            return "UNIMPLEMENTED";
        case grpc::StatusCode::INTERNAL:
            return "INTERNAL";
        case grpc::StatusCode::UNAVAILABLE:
            return "UNAVAILABLE";
        case grpc::StatusCode::DATA_LOSS:
            return "DATA_LOSS";
        case grpc::StatusCode::DO_NOT_USE:
            break;
    }
    return "UNKNOWN";
}

}  // namespace mg::grpc_ingest
