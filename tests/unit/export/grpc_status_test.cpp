// grpc_status: the OTLP specification's table of gRPC codes, RetryInfo and partial success, without
// a server.
#include "export/grpc_status.h"

#include <catch2/catch.hpp>

#include "fake_grpc_backend.h"
#include "protocol/grpc_codes.h"
#include "protocol/otlp.h"

namespace ex = mg::exporter;
using verdict = ex::send_outcome::verdict;
using namespace std::chrono_literals;

TEST_CASE("gRPC codes: retryable, rejected, throttled and too large", "[export][grpc]") {
    const auto v = [](int code, std::string_view message = "", std::string_view details = "") {
        return ex::classify_grpc(code, message, details, "").what;
    };
    CHECK(v(0) == verdict::delivered);
    for (int code : {1, 4, 10, 11, 14, 15}) {
        INFO(mg::protocol::grpc_code_name(code));
        CHECK(v(code) == verdict::retry);
    }
    for (int code : {2, 3, 5, 6, 7, 9, 12, 13, 16, 99}) {
        INFO(mg::protocol::grpc_code_name(code));
        CHECK(v(code) == verdict::rejected);
    }
    CHECK(v(8) == verdict::rejected);
    CHECK(v(8, "", ex::test::retry_info_details(8, 2500ms)) == verdict::retry);
    CHECK(v(8, "Received message larger than max (5000 vs. 4000)") == verdict::too_large);
    CHECK(v(8, "grpc: received message after decompression larger than max (5 vs. 4)") ==
          verdict::too_large);
    CHECK(v(8, "gRPC message exceeds maximum size 4194304: 5000000") == verdict::too_large);
    CHECK(v(3, "Received message larger than max (5000 vs. 4000)") == verdict::rejected);

    const auto o = ex::classify_grpc(14, "connection refused", "", "");
    CHECK(o.code == "UNAVAILABLE");
    CHECK(o.error_reason == "grpc_unavailable");
    CHECK(o.message == "connection refused");
    CHECK_FALSE(o.retry_after.has_value());
    CHECK(mg::protocol::grpc_code_name(99) == "CODE_99");
}

TEST_CASE("gRPC RetryInfo: its delay, on retryable codes too", "[export][grpc]") {
    CHECK(ex::grpc_retry_delay(ex::test::retry_info_details(8, 2500ms)) == 2500ms);
    CHECK(ex::grpc_retry_delay(ex::test::retry_info_details(14, 0ms)) == 0ms);
    CHECK_FALSE(ex::grpc_retry_delay("").has_value());
    CHECK_FALSE(ex::grpc_retry_delay("\xff\xff").has_value());  // not a Status
    const auto o = ex::classify_grpc(14, "", ex::test::retry_info_details(14, 1500ms), "");
    CHECK(o.what == verdict::retry);
    REQUIRE(o.retry_after.has_value());
    CHECK(*o.retry_after == 1500ms);
}

TEST_CASE("gRPC OK: partial_success is reported", "[export][grpc]") {
    std::string response;
    mg::protocol::encode_otlp_response_protobuf(7, "too old", response);
    const auto o = ex::classify_grpc(0, "", "", response);
    CHECK(o.what == verdict::delivered);
    CHECK(o.code == "OK");
    CHECK(o.error_reason.empty());
    CHECK(o.rejected_points == 7);
    CHECK(o.rejected_message == "too old");
    CHECK(ex::classify_grpc(0, "", "", "").rejected_points == 0);
}
