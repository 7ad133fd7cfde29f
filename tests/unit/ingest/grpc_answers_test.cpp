// The gRPC answers of OTLP export results (ingest/grpc_answers.h) and the RetryInfo status
// details (protocol/rpc_status.h), decoded back field by field.
#include "ingest/grpc_answers.h"

#include <catch2/catch.hpp>

#include "protocol/grpc_codes.h"
#include "protocol/otlp.h"
#include "protocol/rpc_status.h"

using namespace std::chrono_literals;
using mg::ingest::answer_of;
using mg::ingest::grpc_code;
using mg::protocol::decode_retry_status;
using mg::protocol::encode_retry_status;
using mg::protocol::retry_status;
using result_kind = mg::ingest::otlp_result::kind;

TEST_CASE("RetryInfo status details decode back to their code, message and delay",
          "[ingest][grpc]") {
    const auto bytes = encode_retry_status(8, "export queue is full; retry later", 2500ms);
    retry_status st;
    REQUIRE(decode_retry_status(bytes, st));
    CHECK(st.code == 8);
    CHECK(st.message == "export queue is full; retry later");
    CHECK(st.has_retry_info);
    CHECK(st.retry_delay == 2500ms);
    // The Any's type URL is the one clients look for.
    CHECK(bytes.find("type.googleapis.com/google.rpc.RetryInfo") != std::string::npos);

    // Whole seconds carry no nanos field; the delay still decodes.
    REQUIRE(decode_retry_status(encode_retry_status(8, "", 3s), st));
    CHECK(st.retry_delay == 3s);
    CHECK(st.message.empty());

    // Truncated bytes do not decode.
    CHECK_FALSE(decode_retry_status(bytes.substr(0, bytes.size() - 2), st));
}

TEST_CASE("each export result maps to the OTLP spec's gRPC status", "[ingest][grpc]") {
    mg::ingest::otlp_result r;
    r.k = result_kind::accepted;
    r.rejected = 3;
    r.message = "3 points over a limit";
    auto a = answer_of(r);
    CHECK(a.code == grpc_code::ok);
    // The body is the ExportMetricsServiceResponse with its partial success.
    std::string want;
    mg::protocol::encode_otlp_response_protobuf(3, "3 points over a limit", want);
    CHECK(a.body == want);
    CHECK_FALSE(a.body.empty());

    r = {.k = result_kind::malformed, .message = "protobuf: truncated"};
    a = answer_of(r);
    CHECK(a.code == grpc_code::invalid_argument);
    CHECK(a.message == "protobuf: truncated");
    CHECK(a.details.empty());
    CHECK(a.body.empty());

    // Too large: not retryable, so no RetryInfo.
    r = {.k = result_kind::too_large, .message = "gzip: over the limit"};
    a = answer_of(r);
    CHECK(a.code == grpc_code::resource_exhausted);
    CHECK(a.details.empty());

    // Queue full: RetryInfo with the exporter's hint, at least a second.
    for (const auto& [hint, want_delay] : {std::pair{5s, 5s}, std::pair{0s, 1s}}) {
        r = {.k = result_kind::queue_full, .message = "export queue is full", .retry_after = hint};
        a = answer_of(r);
        CHECK(a.code == grpc_code::resource_exhausted);
        CHECK(a.message == "export queue is full");
        retry_status details;
        REQUIRE(decode_retry_status(a.details, details));
        CHECK(details.code == static_cast<int>(grpc_code::resource_exhausted));
        CHECK(details.has_retry_info);
        CHECK(details.retry_delay == want_delay);
    }

    r = {.k = result_kind::unsupported, .message = "cannot export"};
    CHECK(answer_of(r).code == grpc_code::unimplemented);
    r = {.k = result_kind::shutting_down, .message = "shutting down"};
    CHECK(answer_of(r).code == grpc_code::unavailable);
    r = {.k = result_kind::no_tenant, .message = "no tenant"};
    CHECK(answer_of(r).code == grpc_code::unauthenticated);

    // The codes are gRPC's numbers, as the `code` label names them.
    CHECK(mg::protocol::grpc_code_name(static_cast<int>(grpc_code::resource_exhausted)) ==
          "RESOURCE_EXHAUSTED");
    CHECK(mg::protocol::grpc_code_name(static_cast<int>(grpc_code::ok)) == "OK");
    CHECK(mg::protocol::grpc_code_name(static_cast<int>(grpc_code::unauthenticated)) ==
          "UNAUTHENTICATED");
}
