// The OTLP/gRPC receiver against the real daemon, with gRPC's own C++ client (GenericStub, in
// tests/integration/support/grpc_client.h): an Export that passes arrives at the backend; a limit
// gives partial_success with the exact rejected count; credentials, TLS, a full export queue
// (RESOURCE_EXHAUSTED with RetryInfo), a body that does not decode (INVALID_ARGUMENT), another
// method (UNIMPLEMENTED), draining (UNAVAILABLE); and the otlp_grpc counters on /metrics. And
// the gRPC plugin: a daemon without it beside it exits 1 naming where it looked when gRPC is
// configured, and runs without it (no gRPC library mapped) when not.
// The hostile cases are in grpc_hostile_test.cpp.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "grpc_support.h"
#include "protocol/compression.h"
#include "protocol/otlp.h"
#include "protocol/rpc_status.h"
#include "shared/temp_dir.h"
#include "support/fake_backend.h"
#include "support/grpc_client.h"
#include "support/proc_status.h"
#include "support/remote_write_client.h"
#include "support/test_pki.h"

using namespace std::chrono_literals;
using mg::test::otlp_grpc_client;
using mg::test::received_ids;
using mg::test::running_daemon;
using mg::test::temp_dir;
using mg::test::grpc_test::await_metric;
using mg::test::grpc_test::export_request;
using mg::test::grpc_test::grpc_requests;
using mg::test::grpc_test::scrape;
namespace proto = mg::protocol;

namespace {

proto::otlp_partial_success partial_success(const mg::test::grpc_answer& a) {
    proto::otlp_partial_success ps;
    REQUIRE(proto::decode_otlp_response_protobuf(a.body, ps).ok());
    return ps;
}

}  // namespace

TEST_CASE("an Export over gRPC is governed like OTLP/HTTP and what is kept reaches the backend",
          "[grpc]") {
    mg::test::fake_backend backend;
    temp_dir dir;
    dir.write(
        "limits.yaml",
        "rules:\n  - name: small\n    match: {metric_name: capped}\n    max_cardinality: 3\n");
    running_daemon d({"-exporter-endpoint=" + backend.url(), "-limits-config",
                      dir.file("limits.yaml"), "-flush-interval=50ms"});
    REQUIRE(d.grpc_port() != 0);
    otlp_grpc_client c(d.grpc_port());

    // Nothing over a limit: a full success has no partial_success at all.
    auto a = c.call(export_request("free", 0, 4));
    REQUIRE(a.ok());
    CHECK(a.body.empty());
    // 5 series of a metric limited to 3: 2 rejected, said in partial_success.
    a = c.call(export_request("capped", 0, 5));
    REQUIRE(a.ok());
    auto ps = partial_success(a);
    CHECK(ps.rejected_data_points == 2);
    CHECK(ps.error_message.find("2 data points dropped") != std::string::npos);
    // gzip (grpc-encoding), compressed by gRPC: the known series pass, the new ones are dropped.
    a = c.call(export_request("capped", 2, 3), {.gzip = true});
    REQUIRE(a.ok());
    CHECK(partial_success(a).rejected_data_points == 2);

    REQUIRE(backend.wait_until([](const auto& reqs) {
        return received_ids(reqs, "free").size() == 4 &&
               received_ids(reqs, "capped") == std::set<std::string>{"0", "1", "2"};
    }));
    CHECK(received_ids(backend.requests(), "capped") == std::set<std::string>{"0", "1", "2"});

    const auto page = mg::test::http_get(d.stats_port(), "/metrics").body;
    using mg::test::sample_value;
    CHECK(sample_value(page, grpc_requests("OK")) == 3);
    CHECK(sample_value(
              page, R"(metrics_governor_datapoints_received_total{protocol="otlp_grpc"})") == 12);
    CHECK(sample_value(page, R"(metrics_governor_series_received_total{protocol="otlp_grpc"})") ==
          12);
    CHECK(
        sample_value(
            page,
            R"(metrics_governor_series_dropped_total{reason="cardinality_limit",rule="small"})") ==
        4);
    // Counted as gRPC, not as OTLP/HTTP.
    CHECK_FALSE(sample_value(
                    page, R"(metrics_governor_datapoints_received_total{protocol="otlp_protobuf"})")
                    .has_value());
    CHECK(page.find(R"(metrics_governor_request_duration_seconds_count{protocol="otlp_grpc"} 3)") !=
          std::string::npos);
}

TEST_CASE("a body that does not decode is INVALID_ARGUMENT, another method UNIMPLEMENTED",
          "[grpc]") {
    running_daemon d;
    otlp_grpc_client c(d.grpc_port());
    const auto good = export_request("m", 0, 1);

    auto a = c.call(good.substr(0, good.size() - 3));  // truncated
    CHECK(a.code == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_FALSE(a.message.empty());
    a = c.call_precompressed("this is not gzip");
    CHECK(a.code == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(a.message.find("gzip") != std::string::npos);

    a = c.call(good, {.method = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"});
    CHECK(a.code == grpc::StatusCode::UNIMPLEMENTED);
    CHECK(a.message.find("MetricsService/Export") != std::string::npos);

    // A message compressed by the client itself and flagged so is inflated by the daemon.
    std::string gz;
    REQUIRE(proto::gzip_encode(good, 6, gz).ok());
    CHECK(c.call_precompressed(gz).ok());
    CHECK(c.call(good).ok());

    CHECK(scrape(d, grpc_requests("INVALID_ARGUMENT")) == 2);
    CHECK(scrape(d, grpc_requests("OK")) == 2);
    CHECK(scrape(d, grpc_requests("UNIMPLEMENTED")) == 0);  // not an ingest request
    CHECK(mg::test::http_get(d.stats_port(), "/ready").status == 200);
}

TEST_CASE("credentials come from the authorization metadata: none or wrong is UNAUTHENTICATED",
          "[grpc][access]") {
    SECTION("bearer token") {
        running_daemon d({"-receiver-bearer-token=grpc-s3cret"});
        otlp_grpc_client c(d.grpc_port());
        const auto body = export_request("m", 0, 1);
        CHECK(c.call(body).code == grpc::StatusCode::UNAUTHENTICATED);
        CHECK(c.call(body, {.authorization = "Bearer wrong"}).code ==
              grpc::StatusCode::UNAUTHENTICATED);
        CHECK(c.call(body, {.authorization = "Basic Z3JwYy1zM2NyZXQ="}).code ==
              grpc::StatusCode::UNAUTHENTICATED);  // the right secret, the wrong scheme
        CHECK(c.call(body, {.authorization = "Bearer grpc-s3cret"}).ok());
        CHECK(scrape(d, R"(metrics_governor_http_unauthorized_total{listener="ingest"})") == 3);
        CHECK(scrape(d, grpc_requests("OK")) == 1);
    }
    SECTION("basic auth") {
        running_daemon d(
            {"-receiver-basic-auth-username=alice", "-receiver-basic-auth-password=pw"});
        otlp_grpc_client c(d.grpc_port());
        const auto body = export_request("m", 0, 1);
        CHECK(c.call(body, {.authorization = "Basic YWxpY2U6bm8="}).code ==  // alice:no
              grpc::StatusCode::UNAUTHENTICATED);
        CHECK(c.call(body, {.authorization = "Basic YWxpY2U6cHc="}).ok());  // alice:pw
    }
}

TEST_CASE("TLS: the receiver's certificate, and client certificates when a client CA is set",
          "[grpc][tls]") {
    mg::test::test_pki pki;
    const auto body = export_request("m", 0, 1);
    {
        running_daemon d({"-receiver-tls-cert-file=" + pki.server_cert,
                          "-receiver-tls-key-file=" + pki.server_key});
        otlp_grpc_client tls(d.grpc_port(), {.ca_file = pki.ca});
        CHECK(tls.call(body).ok());
        otlp_grpc_client plain(d.grpc_port());
        const auto a = plain.call(body, {.deadline = 5s});
        CHECK_FALSE(a.ok());
        CHECK(a.code == grpc::StatusCode::UNAVAILABLE);
        // gRPC's own report of the failed handshake is one of our JSON log lines, not its plain
        // text: every line the daemon wrote is a JSON object.
        const auto line = d.process().wait_for_line("\"msg\":\"grpc\"", 10s);
        REQUIRE(line.has_value());
        CHECK(line->find("\"level\":\"warn\"") != std::string::npos);
        std::istringstream lines(d.process().output());
        for (std::string l; std::getline(lines, l);) {
            if (l.empty()) continue;
            INFO(l);
            CHECK(nlohmann::json::accept(l));
        }
        // A client that trusts another CA does not get through either.
        otlp_grpc_client rogue(d.grpc_port(), {.ca_file = pki.client_ca});
        CHECK(rogue.call(body, {.deadline = 5s}).code == grpc::StatusCode::UNAVAILABLE);
    }
    {
        running_daemon d({"-receiver-tls-cert-file=" + pki.server_cert,
                          "-receiver-tls-key-file=" + pki.server_key,
                          "-receiver-tls-client-ca-file=" + pki.client_ca});
        otlp_grpc_client no_cert(d.grpc_port(), {.ca_file = pki.ca});
        CHECK(no_cert.call(body, {.deadline = 5s}).code == grpc::StatusCode::UNAVAILABLE);
        otlp_grpc_client wrong_cert(
            d.grpc_port(),
            {.ca_file = pki.ca, .cert_file = pki.rogue_cert, .key_file = pki.rogue_key});
        CHECK(wrong_cert.call(body, {.deadline = 5s}).code == grpc::StatusCode::UNAVAILABLE);
        otlp_grpc_client with_cert(
            d.grpc_port(),
            {.ca_file = pki.ca, .cert_file = pki.client_cert, .key_file = pki.client_key});
        CHECK(with_cert.call(body).ok());
        CHECK(scrape(d, grpc_requests("OK")) == 1);
    }
}

TEST_CASE("a full export queue is RESOURCE_EXHAUSTED with RetryInfo, and nothing is admitted",
          "[grpc]") {
    mg::test::fake_backend backend;
    backend.set_status(503);  // nothing leaves the queue
    running_daemon d({"-exporter-endpoint=" + backend.url(), "-queue-max-bytes=1MiB",
                      "-flush-interval=50ms", "-exporter-retry-backoff-base=10ms",
                      "-exporter-retry-backoff-max=50ms"});
    otlp_grpc_client c(d.grpc_port());
    mg::test::grpc_answer refused;
    int accepted = 0;
    for (int i = 0; i < 200 && refused.code != grpc::StatusCode::RESOURCE_EXHAUSTED; ++i) {
        auto a = c.call(export_request("fill", i * 50, 50, 2000));  // about 100 KB each
        if (a.ok()) {
            ++accepted;
        } else {
            refused = std::move(a);
        }
    }
    REQUIRE(refused.code == grpc::StatusCode::RESOURCE_EXHAUSTED);
    CHECK(accepted > 0);
    CHECK(refused.message.find("queue is full") != std::string::npos);
    mg::protocol::retry_status details;
    REQUIRE(mg::protocol::decode_retry_status(refused.details, details));
    CHECK(details.code == static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED));
    CHECK(details.has_retry_info);
    CHECK(details.retry_delay >= 1s);
    CHECK(scrape(d, grpc_requests("RESOURCE_EXHAUSTED")) == 1);
    CHECK(
        scrape(
            d,
            R"(metrics_governor_datapoints_refused_total{protocol="otlp_grpc",reason="queue_full"})") ==
        50);
    // Refused before the governor: its 50 series were not admitted.
    const auto api = mg::test::http_get(d.stats_port(), "/api/v1/cardinality?metric=fill").body;
    CHECK(api.find("\"value\":" + std::to_string(accepted * 50)) != std::string::npos);
}

TEST_CASE("draining: new calls get UNAVAILABLE while a call in flight finishes", "[grpc]") {
    running_daemon d({"-http-read-timeout=3s", "-shutdown-timeout=20s"});
    otlp_grpc_client c(d.grpc_port());
    REQUIRE(c.call(export_request("m", 0, 1)).ok());
    // A call in flight: opened, its message never sent (the read timeout ends it). The next call
    // on the channel reaches the daemon after it.
    const auto held = c.hold_stream(20s);
    REQUIRE(c.call(export_request("m", 1, 1)).ok());
    d.process().signal(SIGTERM);
    REQUIRE(d.process().wait_for_line("shutting down"));
    const auto a = c.call(export_request("m", 2, 1), {.deadline = 10s});
    CHECK(a.code == grpc::StatusCode::UNAVAILABLE);
    CHECK(a.message == "shutting down");
    CHECK(scrape(d, grpc_requests("UNAVAILABLE")) == 1);      // the stats listener still answers
    CHECK(held->wait().code == grpc::StatusCode::CANCELLED);  // by the read timeout
    CHECK(d.process().wait_exit(20s) == 0);
    CHECK(d.process().output().find("gRPC calls still in flight") == std::string::npos);
}

TEST_CASE("without its gRPC plugin the daemon refuses gRPC settings and runs without them",
          "[grpc_receiver]") {
    temp_dir dir;
    // The binary alone in a directory of its own: no metrics-governor-grpc.so beside it, none in
    // ../lib/metrics-governor.
    const auto lone = dir.file("bin/metrics-governor");
    std::filesystem::create_directories(dir.file("bin"));
    std::filesystem::copy_file(mg::test::daemon_path(), lone);
    std::filesystem::permissions(lone, std::filesystem::perms::owner_all);

    mg::test::child_process refused(
        {lone, "-grpc-listen=127.0.0.1:0", "-http-listen=127.0.0.1:0", "-stats-addr=127.0.0.1:0"});
    REQUIRE(refused.wait_exit() == 1);
    CHECK(refused.output().find("cannot load the grpc plugin") != std::string::npos);
    CHECK(refused.output().find(dir.file("bin/metrics-governor-grpc.so")) != std::string::npos);
    CHECK(refused.output().find(dir.file("lib/metrics-governor/metrics-governor-grpc.so")) !=
          std::string::npos);

    mg::test::child_process exporter({lone, "-grpc-listen=", "-http-listen=127.0.0.1:0",
                                      "-stats-addr=127.0.0.1:0", "-exporter-protocol=otlp-grpc",
                                      "-exporter-endpoint=http://127.0.0.1:4317"});
    REQUIRE(exporter.wait_exit() == 1);
    CHECK(exporter.output().find("cannot load the grpc plugin") != std::string::npos);

    // Without gRPC settings it starts, and maps no gRPC library.
    mg::test::child_process plain(
        {lone, "-grpc-listen=", "-http-listen=127.0.0.1:0", "-stats-addr=127.0.0.1:0"});
    REQUIRE(plain.wait_for_line("metrics-governor started"));
    const auto maps = mg::test::proc_maps(plain.pid());
    CHECK(maps.find("libgrpc") == std::string::npos);
    CHECK(maps.find("metrics-governor-grpc.so") == std::string::npos);
    plain.signal(SIGTERM);
    CHECK(plain.wait_exit() == 0);
}

TEST_CASE("with a gRPC listener the daemon maps its plugin and gRPC", "[grpc_receiver]") {
    running_daemon d;  // -grpc-listen=127.0.0.1:0
    REQUIRE(d.grpc_port() != 0);
    const auto maps = mg::test::proc_maps(d.process().pid());
    CHECK(maps.find("metrics-governor-grpc.so") != std::string::npos);
    CHECK(maps.find("libgrpc") != std::string::npos);
}
