// The gRPC answers of OTLP export results (grpc_status.h) and the RetryInfo status details
// (protocol/rpc_status.h), decoded back field by field.
#include "grpc_ingest/grpc_status.h"

#include <catch2/catch.hpp>

#include "protocol/grpc_codes.h"
#include "protocol/rpc_status.h"

using namespace std::chrono_literals;
using mg::grpc_ingest::status_of;
using mg::protocol::decode_retry_status;
using mg::protocol::encode_retry_status;
using mg::protocol::retry_status;
using kind = mg::ingest::otlp_result::kind;

TEST_CASE("RetryInfo status details decode back to their code, message and delay",
          "[grpc_ingest]") {
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

TEST_CASE("each export result maps to the OTLP spec's gRPC status", "[grpc_ingest]") {
    mg::ingest::otlp_result r;
    r.k = kind::accepted;
    r.rejected = 3;
    CHECK(status_of(r).ok());

    r = {.k = kind::malformed, .message = "protobuf: truncated"};
    auto st = status_of(r);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(st.error_message() == "protobuf: truncated");
    CHECK(st.error_details().empty());

    // Too large: not retryable, so no RetryInfo.
    r = {.k = kind::too_large, .message = "gzip: over the limit"};
    st = status_of(r);
    CHECK(st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
    CHECK(st.error_details().empty());

    // Queue full: RetryInfo with the exporter's hint, at least a second.
    for (const auto& [hint, want] : {std::pair{5s, 5s}, std::pair{0s, 1s}}) {
        r = {.k = kind::queue_full, .message = "export queue is full", .retry_after = hint};
        st = status_of(r);
        CHECK(st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
        retry_status details;
        REQUIRE(decode_retry_status(st.error_details(), details));
        CHECK(details.code == static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED));
        CHECK(details.has_retry_info);
        CHECK(details.retry_delay == want);
    }

    r = {.k = kind::unsupported, .message = "cannot export"};
    CHECK(status_of(r).error_code() == grpc::StatusCode::UNIMPLEMENTED);
    r = {.k = kind::shutting_down, .message = "shutting down"};
    CHECK(status_of(r).error_code() == grpc::StatusCode::UNAVAILABLE);

    CHECK(mg::protocol::grpc_code_name(grpc::StatusCode::RESOURCE_EXHAUSTED) ==
          "RESOURCE_EXHAUSTED");
    CHECK(mg::protocol::grpc_code_name(grpc::StatusCode::OK) == "OK");
}
