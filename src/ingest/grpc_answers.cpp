// The gRPC answers of OTLP export results (grpc_answers.h).
#include "ingest/grpc_answers.h"

#include <algorithm>

#include "protocol/otlp.h"
#include "protocol/rpc_status.h"

namespace mg::ingest {

grpc_answer retry_later(std::string message, std::chrono::nanoseconds delay) {
    grpc_answer a;
    a.code = grpc_code::resource_exhausted;
    a.details = protocol::encode_retry_status(static_cast<int>(grpc_code::resource_exhausted),
                                              message, delay);
    a.message = std::move(message);
    return a;
}

grpc_answer answer_of(const otlp_result& r) {
    using kind = otlp_result::kind;
    const auto failed = [&](grpc_code code) {
        grpc_answer a;
        a.code = code;
        a.message = r.message;
        return a;
    };
    switch (r.k) {
        case kind::accepted: {
            grpc_answer a;
            protocol::encode_otlp_response_protobuf(r.rejected, r.message, a.body);
            return a;
        }
        case kind::malformed:
            return failed(grpc_code::invalid_argument);
        case kind::too_large:
            return failed(grpc_code::resource_exhausted);
        case kind::queue_full:
            // At least a second: a zero delay would ask for an immediate retry into a full queue.
            return retry_later(r.message, std::max<std::chrono::nanoseconds>(
                                              r.retry_after, std::chrono::seconds(1)));
        case kind::unsupported:
            return failed(grpc_code::unimplemented);
        case kind::shutting_down:
            return failed(grpc_code::unavailable);
        case kind::no_tenant:
            return failed(grpc_code::unauthenticated);
    }
    grpc_answer a;
    a.code = grpc_code::internal;
    a.message = "unknown export result";
    return a;
}

}  // namespace mg::ingest
