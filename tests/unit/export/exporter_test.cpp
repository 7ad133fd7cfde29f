// Exporter tests against real sockets on 127.0.0.1 (port 0): fake backends built from our own
// HTTP server (fake_backend) or a small counting/TLS Beast server (raw_backend).
#include "export/exporter.h"

#include <prometheus/registry.h>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "exporter_fixture.h"
#include "fake_backend.h"
#include "logging/log.h"
#include "protocol/compression.h"
#include "protocol/otlp.h"
#include "protocol/otlp_builder.h"
#include "protocol/otlp_json.h"
#include "protocol/remote_write.h"
#include "protocol/remote_write_builder.h"
#include "protocol/snappy_concat.h"
#include "protocol/wire.h"
#include "shared/fault_file_system.h"
#include "shared/otlp_builder.h"
#include "shared/temp_dir.h"

using namespace exporter_fixture;

TEST_CASE("a batch is sent when it holds batch_size series", "[export][exporter]") {
    fake_backend backend;
    prometheus::Registry reg;
    auto c = config_for(backend.url());
    c.batch_size = 10;
    c.flush_interval = 1h;
    auto e = make_exporter(c, reg);
    std::vector<std::unique_ptr<rw_request>> reqs;
    for (const auto& n : names(25)) {
        reqs.push_back(make_rw({n}));
        REQUIRE(e->submit(reqs.back()->batch, reqs.back()->keep_all()) ==
                ex::submit_status::accepted);
    }
    REQUIRE(backend.log().wait(2));
    const auto got = backend.log().all();
    const auto all = names(25);
    CHECK(decode_names(got[0]) == std::vector<std::string>(all.begin(), all.begin() + 10));
    CHECK(decode_names(got[1]).size() == 10);
    // The last 5 wait for the interval (1h); the backend logs a request before answering it.
    CHECK(eventually([&] { return e->stats().outstanding_series == 5; }));

    const auto report = drain_for(*e);
    CHECK(report.complete);
    REQUIRE(backend.log().count() == 3);
    CHECK(decode_names(backend.log().all()[2]).size() == 5);
    CHECK(all_names(backend.log()) == as_set(names(25)));
    const auto s = e->stats();
    CHECK(s.sent_series == 25);
    CHECK(s.sent_points == 50);
    check_accounting(s);
    CHECK(metric(reg, "metrics_governor_datapoints_sent_total") == 50);
    CHECK(metric(reg, "metrics_governor_export_requests_total", {{"code", "204"}}) == 3);
}

TEST_CASE("the flush interval sends a partial batch with remote-write headers",
          "[export][exporter]") {
    fake_backend backend;
    prometheus::Registry reg;
    auto c = config_for(backend.url());
    c.flush_interval = 100ms;
    c.bearer_token = "s3cret";
    c.headers = "X-Scope-OrgID=tenant-1,X-Extra=yes";
    auto e = make_exporter(c, reg);
    auto r = make_rw(names(3));
    const auto start = std::chrono::steady_clock::now();
    REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
    r.reset();  // the exporter must not hold views into the request
    REQUIRE(backend.log().wait(1, 5s));
    CHECK(backend.log().times()[0] - start >= 90ms);
    const auto req = backend.log().all()[0];
    CHECK(req.target() == "/api/v1/write");
    CHECK(req[mg::http::bhttp::field::content_encoding] == "snappy");
    CHECK(req[mg::http::bhttp::field::content_type] == "application/x-protobuf");
    CHECK(req["X-Prometheus-Remote-Write-Version"] == "0.1.0");
    CHECK(req[mg::http::bhttp::field::authorization] == "Bearer s3cret");
    CHECK(req["X-Scope-OrgID"] == "tenant-1");
    CHECK(req["X-Extra"] == "yes");
    CHECK(decode_names(req) == names(3));
    drain_for(*e);
}

TEST_CASE("only the kept series are sent - remote write 2.0 is converted to 1.0 - basic auth",
          "[export][exporter]") {
    fake_backend backend;
    prometheus::Registry reg;
    auto c = config_for(backend.url());
    c.basic_auth_username = "Aladdin";
    c.basic_auth_password = "open sesame";
    auto e = make_exporter(c, reg);

    std::vector<pr::owned_timeseries> ts(4);
    for (int i = 0; i < 4; ++i) {
        ts[i].labels = {{"__name__", "v2_" + std::to_string(i)}, {"a", "b"}};
        ts[i].samples = {{1.0, 1}};
    }
    std::string body;
    pr::encode_remote_write_v2(ts, body);
    pr::series_batch b;
    REQUIRE(pr::decode_remote_write_v2(pr::bytes_view(body.data(), body.size()), b).ok());
    const std::vector<std::uint8_t> keep = {1, 0, 1, 0};
    REQUIRE(e->submit(b, keep) == ex::submit_status::accepted);
    REQUIRE(backend.log().wait(1));
    const auto req = backend.log().all()[0];
    CHECK(decode_names(req) == std::vector<std::string>{"v2_0", "v2_2"});
    CHECK(req[mg::http::bhttp::field::authorization] == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    drain_for(*e);
    CHECK(e->stats().sent_series == 2);
}

TEST_CASE("the fast path forwards the sender's snappy body byte for byte", "[export][exporter]") {
    fake_backend backend;
    prometheus::Registry reg;
    auto e = make_exporter(config_for(backend.url()), reg);
    auto r = make_rw(names(5));
    std::string snappy = r->snappy();
    REQUIRE(e->submit_raw(snappy, pr::source_protocol::remote_write_v1, ex::body_encoding::snappy,
                          5, 10) == ex::submit_status::accepted);
    REQUIRE(backend.log().wait(1));
    CHECK(backend.log().all()[0].body() == snappy);
    CHECK(e->submit_raw("x", pr::source_protocol::remote_write_v2, ex::body_encoding::snappy, 1,
                        1) == ex::submit_status::unsupported);
    drain_for(*e);
    CHECK(e->stats().sent_points == 10);
}

TEST_CASE("forward_linger: forwarded bodies submitted within it go in one upstream request",
          "[export][exporter]") {
    fake_backend backend;
    prometheus::Registry reg;
    auto c = config_for(backend.url());
    // Longer than the test: only the drain sends them, so what arrives shows what the linger
    // held together (without it the first body goes alone as soon as it is queued).
    c.flush_interval = 1h;
    c.forward_linger = 1h;
    auto e = make_exporter(c, reg);
    for (const auto* prefix : {"a", "b", "c"}) {
        auto r = make_rw(names(2, prefix));
        std::string snappy = r->snappy();
        REQUIRE(e->submit_raw(snappy, pr::source_protocol::remote_write_v1,
                              ex::body_encoding::snappy, 2, 2) == ex::submit_status::accepted);
    }
    REQUIRE(drain_for(*e).complete);
    REQUIRE(backend.log().all().size() == 1);
    CHECK(as_set(decode_names(backend.log().all()[0])) ==
          std::multiset<std::string>{"a0", "a1", "b0", "b1", "c0", "c1"});
    check_accounting(e->stats());
}

TEST_CASE("a 500 is retried until it succeeds", "[export][exporter]") {
    fake_backend backend([](const mg::http::request& req, std::size_t n) {
        return ex::test::reply(req, n < 2 ? 500 : 204, "try later");
    });
    prometheus::Registry reg;
    auto e = make_exporter(config_for(backend.url()), reg);
    auto r = make_rw(names(4));
    REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
    REQUIRE(backend.log().wait(3));
    REQUIRE(drain_for(*e).complete);
    const auto s = e->stats();
    CHECK(s.sent_series == 4);
    CHECK(s.retries == 2);
    CHECK(s.dropped_series == 0);
    check_accounting(s);
    for (const auto& req : backend.log().all()) CHECK(decode_names(req) == names(4));
    CHECK(metric(reg, "metrics_governor_export_retries_total") == 2);
    CHECK(metric(reg, "metrics_governor_export_requests_total", {{"code", "500"}}) == 2);
    CHECK(metric(reg, "metrics_governor_export_errors_total", {{"reason", "http_5xx"}}) == 2);
}

TEST_CASE("a 429 waits for Retry-After instead of the backoff", "[export][exporter]") {
    fake_backend backend([](const mg::http::request& req, std::size_t n) {
        auto res = ex::test::reply(req, n == 0 ? 429 : 204);
        if (n == 0) res.set(mg::http::bhttp::field::retry_after, "1");
        return res;
    });
    prometheus::Registry reg;
    auto c = config_for(backend.url());
    c.retry_backoff_base = 20s;  // the backoff alone would wait 20s (jitter pinned to 1)
    c.retry_backoff_max = 20s;
    ex::exporter_deps deps;
    deps.random = [] { return 1.0; };
    auto e = make_exporter(c, reg, queue_of(), deps);
    auto r = make_rw(names(2));
    REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
    REQUIRE(backend.log().wait(2, 8s));
    const auto t = backend.log().times();
    CHECK(t[1] - t[0] >= 950ms);
    CHECK(t[1] - t[0] < 5s);
    REQUIRE(drain_for(*e).complete);
    CHECK(e->stats().sent_series == 2);
    CHECK(metric(reg, "metrics_governor_export_errors_total", {{"reason", "http_429"}}) == 1);
}

TEST_CASE("a 400 is not retried: the data is counted as rejected", "[export][exporter]") {
    fake_backend backend([](const mg::http::request& req, std::size_t) {
        return ex::test::reply(req, 400, "invalid label name \"1x\"");
    });
    prometheus::Registry reg;
    auto e = make_exporter(config_for(backend.url()), reg);
    auto r = make_rw(names(3));
    REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
    REQUIRE(drain_for(*e).complete);
    CHECK(backend.log().count() == 1);
    const auto s = e->stats();
    CHECK(s.retries == 0);
    CHECK(s.dropped_series == 3);
    CHECK(s.dropped_points_by_reason.at("rejected") == 6);
    check_accounting(s);
    CHECK(metric(reg, "metrics_governor_export_errors_total", {{"reason", "http_4xx"}}) == 1);
    CHECK(metric(reg, "metrics_governor_export_dropped_series_total", {{"reason", "rejected"}}) ==
          3);
    CHECK(metric(reg, "metrics_governor_export_dropped_datapoints_total",
                 {{"reason", "rejected"}}) == 6);
}

TEST_CASE("a 413 splits the batch in halves - a single series still too large is rejected",
          "[export][exporter]") {
    // Too large: more than 2 series, or any request carrying "huge".
    fake_backend backend([](const mg::http::request& req, std::size_t) {
        const auto n = decode_names(req);
        const bool huge = std::find(n.begin(), n.end(), "huge") != n.end();
        return ex::test::reply(req, n.size() > 2 || huge ? 413 : 204);
    });
    prometheus::Registry reg;
    auto c = config_for(backend.url());
    c.batch_size = 8;
    auto e = make_exporter(c, reg);
    const std::vector<std::string> sent = {"a", "b", "huge", "c", "d", "e", "f", "g"};
    auto r = make_rw(sent);
    REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
    REQUIRE(drain_for(*e).complete);

    std::multiset<std::string> delivered;
    for (const auto& req : backend.log().all()) {
        const auto n = decode_names(req);
        const bool huge = std::find(n.begin(), n.end(), "huge") != n.end();
        if (n.size() <= 2 && !huge) delivered.insert(n.begin(), n.end());
    }
    CHECK(delivered == std::multiset<std::string>{"a", "b", "c", "d", "e", "f", "g"});
    const auto s = e->stats();
    CHECK(s.sent_series == 7);
    CHECK(s.dropped_series == 1);
    CHECK(s.dropped_points_by_reason.at("too_large") == 2);
    CHECK(s.retries == 0);
    check_accounting(s);
    CHECK(metric(reg, "metrics_governor_export_dropped_series_total", {{"reason", "too_large"}}) ==
          1);
}

TEST_CASE("connection refused then the backend comes up: nothing is lost", "[export][exporter]") {
    const std::uint16_t port = free_port();
    prometheus::Registry reg;
    auto c = config_for("http://127.0.0.1:" + std::to_string(port) + "/api/v1/write");
    c.max_conns = 2;
    auto e = make_exporter(c, reg);
    std::vector<std::unique_ptr<rw_request>> reqs;
    for (int i = 0; i < 5; ++i) {
        reqs.push_back(make_rw(names(4, "r" + std::to_string(i) + "_")));
        REQUIRE(e->submit(reqs.back()->batch, reqs.back()->keep_all()) ==
                ex::submit_status::accepted);
    }
    REQUIRE(eventually([&] {
        return metric(reg, "metrics_governor_export_errors_total", {{"reason", "connect"}}) >= 3;
    }));
    CHECK(e->stats().sent_series == 0);
    check_accounting(e->stats());

    fake_backend backend(ex::test::always(204), port);
    REQUIRE(eventually([&] { return e->stats().sent_series == 20; }));
    REQUIRE(drain_for(*e).complete);
    std::vector<std::string> want;
    for (int i = 0; i < 5; ++i) {
        for (auto& n : names(4, "r" + std::to_string(i) + "_")) want.push_back(n);
    }
    CHECK(all_names(backend.log()) == as_set(want));
    const auto s = e->stats();
    CHECK(s.dropped_series == 0);
    CHECK(s.retries >= 3);
    check_accounting(s);
}

TEST_CASE("a full queue refuses without blocking and counts it - drain reports what is left",
          "[export][exporter]") {
    const std::uint16_t port = free_port();
    prometheus::Registry reg;
    auto c = config_for("http://127.0.0.1:" + std::to_string(port));
    c.max_conns = 1;
    c.batch_size = 1;
    auto e = make_exporter(c, reg, queue_of(4096));
    CHECK(metric(reg, "metrics_governor_queue_max_bytes") == 4096);
    std::vector<std::unique_ptr<rw_request>> reqs;
    ex::submit_status st = ex::submit_status::accepted;
    int accepted = 0;
    for (int i = 0; i < 1000 && st == ex::submit_status::accepted; ++i) {
        reqs.push_back(make_rw({"q" + std::to_string(i)}));
        const auto t0 = std::chrono::steady_clock::now();
        st = e->submit(reqs.back()->batch, reqs.back()->keep_all());
        CHECK(std::chrono::steady_clock::now() - t0 < 1s);  // never blocks
        if (st == ex::submit_status::accepted) ++accepted;
    }
    REQUIRE(st == ex::submit_status::queue_full);
    CHECK(accepted > 1);
    CHECK(e->queue_bytes() <= 4096);
    CHECK(metric(reg, "metrics_governor_queue_bytes") > 0);
    CHECK(metric(reg, "metrics_governor_export_queue_full_total") == 1);
    CHECK(e->stats().queue_full == 1);
    CHECK(e->retry_after_hint() >= 1s);
    check_accounting(e->stats());

    const auto report = drain_for(*e, 100ms);
    CHECK_FALSE(report.complete);
    CHECK(report.series_left == static_cast<std::uint64_t>(accepted));
    CHECK(report.points_left == static_cast<std::uint64_t>(accepted) * 2);
    const auto s = e->stats();
    CHECK(s.outstanding_series == 0);
    CHECK(s.dropped_points_by_reason.at("shutdown") == s.submitted_points);
    check_accounting(s);
    CHECK(e->queue_bytes() == 0);
    CHECK(e->submit(reqs[0]->batch, reqs[0]->keep_all()) == ex::submit_status::closed);
}

TEST_CASE("drain at shutdown delivers everything queued within the deadline",
          "[export][exporter]") {
    fake_backend backend;
    prometheus::Registry reg;
    auto c = config_for(backend.url());
    c.batch_size = 1000;
    c.flush_interval = 1h;
    c.max_conns = 3;
    auto e = make_exporter(c, reg);
    std::vector<std::unique_ptr<rw_request>> reqs;
    std::vector<std::string> want;
    for (int i = 0; i < 50; ++i) {
        reqs.push_back(make_rw({"d" + std::to_string(i)}));
        want.push_back("d" + std::to_string(i));
        REQUIRE(e->submit(reqs.back()->batch, reqs.back()->keep_all()) ==
                ex::submit_status::accepted);
    }
    CHECK(backend.log().count() == 0);
    const auto report = drain_for(*e, 5s);
    CHECK(report.complete);
    CHECK(report.series_left == 0);
    CHECK(all_names(backend.log()) == as_set(want));
    check_accounting(e->stats());
    CHECK(e->stats().outstanding_series == 0);
}

TEST_CASE("retries give up after max_retry_time (injected clock)", "[export][exporter]") {
    mg::fake_clock clock;
    fake_backend backend([&clock](const mg::http::request& req, std::size_t) {
        clock.advance(2min);
        return ex::test::reply(req, 503);
    });
    prometheus::Registry reg;
    auto c = config_for(backend.url());
    c.max_retry_time = 1min;
    ex::exporter_deps deps;
    deps.clock = &clock;
    auto e = make_exporter(c, reg, queue_of(), deps);
    auto r = make_rw(names(2));
    REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
    REQUIRE(drain_for(*e).complete);
    CHECK(backend.log().count() == 2);
    const auto s = e->stats();
    CHECK(s.retries == 1);
    CHECK(s.dropped_points_by_reason.at("retries_exhausted") == 4);
    check_accounting(s);
}

TEST_CASE("observe-only mode counts and discards and says so once", "[export][exporter]") {
    std::ostringstream out;
    mg::logging::init(spdlog::level::info, mg::logging::format::json,
                      std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
    prometheus::Registry reg;
    auto e = make_exporter(config_for(""), reg);
    CHECK(e->observe_only());
    CHECK(e->check_source(pr::source_protocol::otlp_json).ok());
    auto r = make_rw(names(3));
    for (int i = 0; i < 3; ++i) {
        CHECK(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
    }
    const auto s = e->stats();
    CHECK(s.discarded_points == 18);
    CHECK(s.submitted_points == 0);
    CHECK(metric(reg, "metrics_governor_export_discarded_datapoints_total") == 18);
    CHECK(metric(reg, "metrics_governor_export_observe_only") == 1);
    CHECK(drain_for(*e).complete);
    const std::string text = out.str();
    const auto first = text.find("observe-only");
    CHECK(first != std::string::npos);
    CHECK(text.find("observe-only", first + 1) == std::string::npos);
    mg::logging::init(spdlog::level::info, mg::logging::format::json);
}

TEST_CASE("keep-alive: sequential requests reuse one connection", "[export][exporter]") {
    raw_backend backend(nullptr);
    prometheus::Registry reg;
    auto c = config_for("http://127.0.0.1:" + std::to_string(backend.port()));
    c.max_conns = 1;
    c.batch_size = 1;
    auto e = make_exporter(c, reg);
    std::vector<std::unique_ptr<rw_request>> reqs;
    for (std::size_t i = 0; i < 5; ++i) {
        reqs.push_back(make_rw({"k" + std::to_string(i)}));
        REQUIRE(e->submit(reqs.back()->batch, reqs.back()->keep_all()) ==
                ex::submit_status::accepted);
        REQUIRE(backend.log().wait(i + 1));
    }
    REQUIRE(drain_for(*e).complete);
    CHECK(backend.accepted() == 1);
    CHECK(e->stats().connections_opened == 1);
    CHECK(e->stats().sent_series == 5);
}

TEST_CASE("a connection the backend closed while idle is replaced transparently",
          "[export][exporter]") {
    // Every response says Connection: close half of the time; no request may be lost or retried.
    raw_backend backend(nullptr, [](const mg::http::request& req, std::size_t n) {
        auto res = ex::test::reply(req, 204);
        res.keep_alive(n % 2 == 0);
        return res;
    });
    prometheus::Registry reg;
    auto c = config_for("http://127.0.0.1:" + std::to_string(backend.port()));
    c.max_conns = 1;
    c.batch_size = 1;
    auto e = make_exporter(c, reg);
    std::vector<std::unique_ptr<rw_request>> reqs;
    for (std::size_t i = 0; i < 6; ++i) {
        reqs.push_back(make_rw({"c" + std::to_string(i)}));
        REQUIRE(e->submit(reqs.back()->batch, reqs.back()->keep_all()) ==
                ex::submit_status::accepted);
        REQUIRE(backend.log().wait(i + 1));
    }
    REQUIRE(drain_for(*e).complete);
    CHECK(e->stats().sent_series == 6);
    CHECK(e->stats().retries == 0);
    CHECK(backend.accepted() == 3);
}

TEST_CASE("TLS: verified with the CA file refused without it or skip-verify",
          "[export][exporter][tls]") {
    ex::test::self_signed_cert cert;
    raw_backend backend(ex::test::server_tls_context(cert));
    const std::string url = "https://127.0.0.1:" + std::to_string(backend.port()) + "/api/v1/write";

    SECTION("CA file") {
        prometheus::Registry reg;
        auto c = config_for(url);
        c.tls_ca_file = cert.cert_file;
        auto e = make_exporter(c, reg);
        auto r = make_rw(names(3));
        REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
        REQUIRE(backend.log().wait(1));
        CHECK(decode_names(backend.log().all()[0]) == names(3));
        REQUIRE(drain_for(*e).complete);
        CHECK(e->stats().sent_series == 3);
    }
    SECTION("system CAs do not know the self-signed certificate") {
        prometheus::Registry reg;
        auto e = make_exporter(config_for(url), reg);
        auto r = make_rw(names(1));
        REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
        REQUIRE(eventually([&] {
            return metric(reg, "metrics_governor_export_errors_total", {{"reason", "tls"}}) >= 1;
        }));
        CHECK(backend.log().count() == 0);
        const auto report = drain_for(*e, 50ms);
        CHECK_FALSE(report.complete);
        CHECK(report.series_left == 1);
        check_accounting(e->stats());
    }
    SECTION("insecure skip verify") {
        prometheus::Registry reg;
        auto c = config_for(url);
        c.tls_insecure_skip_verify = true;
        auto e = make_exporter(c, reg);
        auto r = make_rw(names(2));
        REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
        REQUIRE(backend.log().wait(1));
        REQUIRE(drain_for(*e).complete);
        CHECK(e->stats().sent_series == 2);
    }
    SECTION("a missing CA file fails at creation") {
        prometheus::Registry reg;
        auto c = config_for(url);
        c.tls_ca_file = cert.dir + "/nope.pem";
        auto e = ex::exporter::create(c, reg);
        REQUIRE_FALSE(e.ok());
        CHECK(e.error_message().find("nope.pem") != std::string::npos);
    }
}

TEST_CASE("OTLP: kept points are sent as gzip protobuf to /v1/metrics", "[export][exporter]") {
    fake_backend backend;
    prometheus::Registry reg;
    auto c = config_for("http://127.0.0.1:" + std::to_string(backend.port()));
    c.protocol = "otlp";
    auto e = make_exporter(c, reg);
    CHECK_FALSE(e->check_source(pr::source_protocol::remote_write_v1).ok());

    pr::otlp_resource res;
    pr::otlp_scope scope;
    scope.name = "s";
    for (int i = 0; i < 3; ++i) {
        pr::otlp_metric m;
        m.name = "otel_" + std::to_string(i);
        m.points.push_back(pr::otlp_point{{}, 1.0, 1000, 0});
        scope.metrics.push_back(m);
    }
    res.scopes.push_back(scope);
    std::string body;
    pr::encode_otlp_protobuf(std::span<const pr::otlp_resource>(&res, 1), body);
    pr::series_batch b;
    REQUIRE(pr::decode_otlp_protobuf(pr::bytes_view(body.data(), body.size()), b).ok());
    const std::vector<std::uint8_t> keep = {1, 0, 1};
    REQUIRE(e->submit(b, keep) == ex::submit_status::accepted);
    REQUIRE(backend.log().wait(1));
    const auto plain = otlp_body(backend.log().all()[0], "application/x-protobuf");
    pr::series_batch got;
    REQUIRE(pr::decode_otlp_protobuf(pr::bytes_view(plain.data(), plain.size()), got).ok());
    REQUIRE(got.size() == 2);
    CHECK(got[0].metric_name == "otel_0");
    CHECK(got[1].metric_name == "otel_2");
    REQUIRE(drain_for(*e).complete);
}

TEST_CASE("OTLP/HTTP: partial_success in a 2xx answer is counted - protobuf and JSON",
          "[export][exporter]") {
    const bool json = GENERATE(false, true);
    INFO((json ? "JSON" : "protobuf"));
    fake_backend backend([json](const mg::http::request& req, std::size_t) {
        std::string body;
        if (json) {
            body = pr::encode_otlp_response_json(2, "points too old");
        } else {
            pr::encode_otlp_response_protobuf(2, "points too old", body);
        }
        return ex::test::reply(req, 200, body);
    });
    prometheus::Registry reg;
    auto c = config_for("http://127.0.0.1:" + std::to_string(backend.port()));
    c.protocol = "otlp";
    auto e = make_exporter(c, reg);
    ob::scope sc{"s", "", {}, {}};
    for (const char* name : {"a", "b", "c"}) {
        ob::point p;
        p.time_ns = 1000;
        p.as_double = 1.0;
        sc.metrics.push_back(ob::metric{name, ob::metric_kind::gauge, 2, true, false, {p}});
    }
    const std::vector<ob::resource> res{{{}, {sc}}};
    if (json) {
        REQUIRE(e->submit_raw(ob::to_json(res), pr::source_protocol::otlp_json,
                              ex::body_encoding::identity, 3, 3) == ex::submit_status::accepted);
    } else {
        const auto body = ob::to_protobuf(res);
        pr::series_batch b;
        REQUIRE(pr::decode_otlp_protobuf(pr::bytes_view(body.data(), body.size()), b).ok());
        REQUIRE(e->submit(b, std::vector<std::uint8_t>(3, 1)) == ex::submit_status::accepted);
    }
    REQUIRE(drain_for(*e).complete);
    // Delivered as far as the accounting goes (the backend took the request), and counted.
    CHECK(e->stats().sent_points == 3);
    CHECK(metric(reg, "metrics_governor_export_backend_rejected_datapoints_total") == 2);
}

TEST_CASE("remote write input for an OTLP backend is refused with a message",
          "[export][exporter]") {
    fake_backend backend;
    prometheus::Registry reg;
    auto c = config_for("http://127.0.0.1:" + std::to_string(backend.port()));
    c.protocol = "otlp";
    auto e = make_exporter(c, reg);
    const auto st = e->check_source(pr::source_protocol::remote_write_v1);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error_message().find("-exporter-protocol=otlp") != std::string::npos);
    CHECK(st.error_message().find("not implemented") != std::string::npos);
    CHECK(e->check_source(pr::source_protocol::otlp_json).ok());
    CHECK_FALSE(e->converts(pr::source_protocol::otlp_protobuf));
    auto r = make_rw({"m"});
    CHECK(e->submit(r->batch, r->keep_all()) == ex::submit_status::unsupported);
    CHECK(e->submit_raw(r->body, pr::source_protocol::remote_write_v1, ex::body_encoding::identity,
                        1, 2) == ex::submit_status::unsupported);
    drain_for(*e);
    CHECK(e->stats().submitted_series == 0);
}

namespace {

// A decoded OTLP request built with the test builder (the views point into body / doc).
struct otlp_request {
    std::string body;
    pr::otlp_json_document doc;
    pr::series_batch batch;
    std::vector<std::uint8_t> keep_all() const {
        return std::vector<std::uint8_t>(batch.size(), 1);
    }
};

std::unique_ptr<otlp_request> make_otlp(const std::vector<ob::resource>& req, bool json) {
    auto r = std::make_unique<otlp_request>();
    r->body = json ? ob::to_json(req) : ob::to_protobuf(req);
    const pr::bytes_view v(r->body.data(), r->body.size());
    REQUIRE(
        (json ? pr::decode_otlp_json(v, r->doc, r->batch) : pr::decode_otlp_protobuf(v, r->batch))
            .ok());
    return r;
}

ob::point gauge_point(std::vector<ob::attr> attrs, double v) {
    ob::point p;
    p.attrs = std::move(attrs);
    p.time_ns = 1700000000000000000ULL;
    p.as_double = v;
    return p;
}

// gauge `temp` (2 points), histogram `lat` of unit `s` (1 point, one bound: 5 series), delta
// sum `hits`.
std::vector<ob::resource> mixed_otlp() {
    ob::metric g{"temp", ob::metric_kind::gauge,
                 2,      false,
                 false,  {gauge_point({{"room", "a"}}, 20), gauge_point({{"room", "b"}}, 21)}};
    ob::metric h{"lat", ob::metric_kind::histogram, 2, false, false, {}, "s"};
    ob::point hp = gauge_point({}, 0);
    hp.as_double.reset();
    hp.count = 3;
    hp.sum = 1.5;
    hp.bounds = {1};
    hp.bucket_counts = {2, 1};
    h.points.push_back(hp);
    ob::metric d{"hits", ob::metric_kind::sum, 1, true, false, {gauge_point({}, 1)}};
    ob::scope s;
    s.metrics = {g, h, d};
    return {ob::resource{{{"service.name", "svc"}}, {s}}};
}

// "name{k=v,...}" of every TimeSeries of one remote-write request (snappy body).
std::vector<std::string> decode_series(const mg::http::request& req) {
    upstream u(req);
    const auto& b = u.batch;
    std::vector<std::string> out;
    for (std::size_t i = 0; i < b.size(); ++i) {
        std::string s(b[i].metric_name);
        s += "{";
        for (const auto& l : b[i].labels)
            s += std::string(l.name) + "=" + std::string(l.value) + ",";
        out.push_back(s + "}");
    }
    return out;
}

}  // namespace

TEST_CASE("OTLP input for a remote-write backend is converted and sent as remote write",
          "[export][exporter][otlp_to_prw]") {
    const bool json = GENERATE(false, true);
    INFO((json ? "JSON" : "protobuf"));
    fake_backend backend;
    prometheus::Registry reg;
    auto e = make_exporter(config_for(backend.url()), reg);
    CHECK(e->check_source(pr::source_protocol::otlp_protobuf).ok());
    CHECK(e->converts(json ? pr::source_protocol::otlp_json : pr::source_protocol::otlp_protobuf));
    CHECK_FALSE(e->converts(pr::source_protocol::remote_write_v1));

    auto r = make_otlp(mixed_otlp(), json);
    REQUIRE(r->batch.size() == 4);
    std::vector<std::uint8_t> keep = {1, 0, 1, 1};  // room b was dropped by the governor
    ex::submit_details details;
    REQUIRE(e->submit(r->batch, keep, {}, details) == ex::submit_status::accepted);
    r.reset();  // the exporter must not hold views into the request
    CHECK(details.unconverted_points == 1);
    CHECK(details.message.find("\"hits\"") != std::string::npos);
    CHECK(details.message.find("delta") != std::string::npos);
    REQUIRE(backend.log().wait(1));
    const auto req = backend.log().all()[0];
    CHECK(req.target() == "/api/v1/write");
    CHECK(req[mg::http::bhttp::field::content_encoding] == "snappy");
    CHECK(req["X-Prometheus-Remote-Write-Version"] == "0.1.0");
    CHECK(decode_series(req) == std::vector<std::string>{
                                    "temp{job=svc,room=a,service_name=svc,}",
                                    "lat_seconds_bucket{job=svc,le=1,service_name=svc,}",
                                    "lat_seconds_bucket{job=svc,le=+Inf,service_name=svc,}",
                                    "lat_seconds_sum{job=svc,service_name=svc,}",
                                    "lat_seconds_count{job=svc,service_name=svc,}",
                                });
    REQUIRE(drain_for(*e).complete);
    const auto s = e->stats();
    // The exporter counts what it sends: 5 TimeSeries of one sample each.
    CHECK(s.submitted_series == 5);
    CHECK(s.submitted_points == 5);
    CHECK(s.sent_series == 5);
    CHECK(s.sent_points == 5);
    check_accounting(s);
    // The conversion counts OTLP points: 2 kept points converted, 1 dropped.
    CHECK(s.converted_points == 2);
    CHECK(s.conversion_dropped_points == 1);
    CHECK(s.conversion_dropped_points_by_reason ==
          std::map<std::string, std::uint64_t>{{"delta_temporality", 1}});
    CHECK(metric(reg, "metrics_governor_export_converted_datapoints_total") == 2);
    CHECK(metric(reg, "metrics_governor_export_conversion_dropped_datapoints_total",
                 {{"reason", "delta_temporality"}}) == 1);
    CHECK(metric(reg, "metrics_governor_datapoints_sent_total") == 5);
}

TEST_CASE("OTLP conversion: otlp_name_suffixes off sends the names without unit suffixes",
          "[export][exporter][otlp_to_prw]") {
    fake_backend backend;
    prometheus::Registry reg;
    auto c = config_for(backend.url());
    c.otlp_name_suffixes = false;
    auto e = make_exporter(c, reg);
    auto r = make_otlp(mixed_otlp(), false);
    ex::submit_details details;
    REQUIRE(e->submit(r->batch, std::vector<std::uint8_t>{0, 0, 1, 0}, {}, details) ==
            ex::submit_status::accepted);
    REQUIRE(backend.log().wait(1));
    CHECK(decode_series(backend.log().all()[0]) ==
          std::vector<std::string>{"lat_bucket{job=svc,le=1,service_name=svc,}",
                                   "lat_bucket{job=svc,le=+Inf,service_name=svc,}",
                                   "lat_sum{job=svc,service_name=svc,}",
                                   "lat_count{job=svc,service_name=svc,}"});
    REQUIRE(drain_for(*e).complete);
}

TEST_CASE("OTLP conversion: strip masks apply, nothing convertible queues nothing, no raw path",
          "[export][exporter][otlp_to_prw]") {
    fake_backend backend;
    prometheus::Registry reg;
    auto e = make_exporter(config_for(backend.url()), reg);
    auto r = make_otlp(mixed_otlp(), false);

    // Only the delta sum kept: accepted, nothing queued, the point reported.
    ex::submit_details details;
    REQUIRE(e->submit(r->batch, std::vector<std::uint8_t>{0, 0, 0, 1}, {}, details) ==
            ex::submit_status::accepted);
    CHECK(details.unconverted_points == 1);
    CHECK(e->stats().submitted_series == 0);
    CHECK(e->queue_bytes() == 0);

    // The fast path is not for converted input.
    CHECK(e->submit_raw(r->body, pr::source_protocol::otlp_protobuf, ex::body_encoding::identity, 4,
                        4) == ex::submit_status::unsupported);

    // Strip "room" (sorted labels of the gauge points: room, service.name) from the first point.
    const std::vector<std::uint64_t> masks = {0b01, 0, 0, 0};
    REQUIRE(e->submit(r->batch, std::vector<std::uint8_t>{1, 1, 0, 0}, masks, details) ==
            ex::submit_status::accepted);
    CHECK(details.unconverted_points == 0);
    CHECK(details.message.empty());
    REQUIRE(backend.log().wait(1));
    CHECK(decode_series(backend.log().all()[0]) ==
          std::vector<std::string>{"temp{job=svc,service_name=svc,}",
                                   "temp{job=svc,room=b,service_name=svc,}"});
    REQUIRE(drain_for(*e).complete);
    check_accounting(e->stats());
    CHECK(e->stats().conversion_dropped_points == 1);
}

TEST_CASE(
    "raw path: one rule decides it, and OTLP/JSON nothing changed goes to an OTLP backend "
    "as it came",
    "[export][exporter][raw]") {
    fake_backend backend;
    prometheus::Registry reg;
    auto c = config_for(backend.url("/v1/metrics"));
    c.protocol = "otlp";
    auto e = make_exporter(c, reg);
    // Indented JSON: re-encoding the kept points would write it compact, so only a forwarded
    // body arrives with this layout.
    otlp_request r;
    r.body = nlohmann::json::parse(ob::to_json(mixed_otlp())).dump(2);
    REQUIRE(
        pr::decode_otlp_json(pr::bytes_view(r.body.data(), r.body.size()), r.doc, r.batch).ok());
    const auto keep = r.keep_all();
    const std::vector<std::uint64_t> no_strip(r.batch.size(), 0);

    // Everything kept and nothing stripped (masks absent or all zero): as it came.
    CHECK(e->can_forward_raw(r.batch, keep, {}));
    CHECK(e->can_forward_raw(r.batch, keep, no_strip));
    // A series dropped or a label stripped changes the request: re-encoded.
    auto dropped = keep;
    dropped[1] = 0;
    CHECK_FALSE(e->can_forward_raw(r.batch, dropped, {}));
    auto stripped = no_strip;
    stripped[0] = 0b01;
    CHECK_FALSE(e->can_forward_raw(r.batch, keep, stripped));
    CHECK_FALSE(e->can_forward_raw(r.batch, std::vector<std::uint8_t>(2, 1), {}));  // a bug

    REQUIRE(e->submit_raw(r.body, pr::source_protocol::otlp_json, ex::body_encoding::identity, 4,
                          4) == ex::submit_status::accepted);
    REQUIRE(backend.log().wait(1));
    CHECK(otlp_body(backend.log().all()[0], "application/json") == r.body);
    REQUIRE(drain_for(*e).complete);
    check_accounting(e->stats());

    // A remote-write backend converts OTLP: never as it came.
    fake_backend prw_backend;
    prometheus::Registry prw_reg;
    auto prw = make_exporter(config_for(prw_backend.url()), prw_reg);
    CHECK_FALSE(prw->can_forward_raw(r.batch, keep, {}));
    REQUIRE(drain_for(*prw).complete);
}

TEST_CASE("OTLP conversion: exponential histograms are not exported (native histograms off)",
          "[export][exporter][otlp_to_prw]") {
    fake_backend backend;
    prometheus::Registry reg;
    const auto c = config_for(backend.url());
    REQUIRE_FALSE(c.native_histograms);  // the default
    auto e = make_exporter(c, reg);
    ob::point p = gauge_point({}, 0);
    p.as_double.reset();
    p.count = 2;
    p.pos_counts = {2};
    ob::metric m{"size", ob::metric_kind::exponential_histogram, 2, false, false, {p}};
    ob::scope s;
    s.metrics = {m};
    auto r = make_otlp({ob::resource{{}, {s}}}, false);
    ex::submit_details details;
    REQUIRE(e->submit(r->batch, r->keep_all(), {}, details) == ex::submit_status::accepted);
    CHECK(details.unconverted_points == 1);
    CHECK(details.message.find("native histograms") != std::string::npos);
    REQUIRE(drain_for(*e).complete);
    CHECK(backend.log().count() == 0);
    CHECK(e->stats().submitted_series == 0);
    CHECK(metric(reg, "metrics_governor_export_conversion_dropped_datapoints_total",
                 {{"reason", "exponential_histogram"}}) == 1);
    CHECK(e->stats().conversion_dropped_points_by_reason ==
          std::map<std::string, std::uint64_t>{{"exponential_histogram", 1}});
}

namespace {

// The native histograms of one remote-write request (snappy body), read off the wire:
// "name{labels}" -> (count, sum, schema). Our decoder passes histograms through unparsed.
struct native_histogram {
    std::uint64_t count = 0;
    double sum = 0;
    std::int32_t schema = 0;
    std::int64_t zero_count = 0;
};

std::map<std::string, native_histogram> decode_native_histograms(const mg::http::request& req) {
    std::string plain;
    const auto& body = req.body();
    REQUIRE(pr::snappy_decode(pr::bytes_view(body.data(), body.size()), 1 << 30, plain).ok());
    std::map<std::string, native_histogram> out;
    pr::wire_reader r(plain);
    pr::wire_field ts;
    while (r.next(ts)) {
        if (ts.number != 1) continue;
        std::string name, labels;
        std::vector<native_histogram> hs;
        pr::wire_reader tr(ts.bytes);
        pr::wire_field f;
        while (tr.next(f)) {
            if (f.number == 1) {
                std::string n, v;
                pr::wire_reader lr(f.bytes);
                pr::wire_field l;
                while (lr.next(l)) {
                    if (l.number == 1) n = std::string(l.bytes);
                    if (l.number == 2) v = std::string(l.bytes);
                }
                if (n == "__name__") {
                    name = v;
                } else {
                    labels += n + "=" + v + ",";
                }
            } else if (f.number == 4) {  // Histogram
                native_histogram h;
                pr::wire_reader hr(f.bytes);
                pr::wire_field x;
                while (hr.next(x)) {
                    if (x.number == 1) h.count = x.value;  // count_int
                    if (x.number == 3) h.sum = x.as_double();
                    if (x.number == 4)
                        h.schema = pr::zigzag_decode32(static_cast<std::uint32_t>(x.value));
                    if (x.number == 6) h.zero_count = x.as_int64();  // zero_count_int
                }
                REQUIRE(hr.error() == nullptr);
                hs.push_back(h);
            }
        }
        REQUIRE(tr.error() == nullptr);
        for (const auto& h : hs) out[name + "{" + labels + "}"] = h;
    }
    REQUIRE(r.error() == nullptr);
    return out;
}

}  // namespace

TEST_CASE(
    "OTLP conversion: -exporter-native-histograms sends exponential histograms as native "
    "histograms",
    "[export][exporter][otlp_to_prw]") {
    fake_backend backend;
    prometheus::Registry reg;
    auto c = config_for(backend.url());
    c.native_histograms = true;
    auto e = make_exporter(c, reg);
    ob::point p = gauge_point({{"dir", "in"}}, 0);
    p.as_double.reset();
    p.count = 7;
    p.sum = 12.5;
    p.scale = 2;
    p.zero_count = 1;
    p.pos_counts = {2, 4};
    ob::metric m{"size", ob::metric_kind::exponential_histogram, 2, false, false, {p}};
    ob::metric g{"temp", ob::metric_kind::gauge, 2, false, false, {gauge_point({}, 20)}};
    ob::scope s;
    s.metrics = {m, g};
    auto r = make_otlp({ob::resource{{{"service.name", "svc"}}, {s}}}, false);
    ex::submit_details details;
    REQUIRE(e->submit(r->batch, r->keep_all(), {}, details) == ex::submit_status::accepted);
    r.reset();
    CHECK(details.unconverted_points == 0);
    REQUIRE(backend.log().wait(1));
    const auto req = backend.log().all()[0];
    CHECK(decode_series(req) == std::vector<std::string>{"size{dir=in,job=svc,service_name=svc,}",
                                                         "temp{job=svc,service_name=svc,}"});
    const auto hs = decode_native_histograms(req);
    REQUIRE(hs.size() == 1);
    const auto& h = hs.at("size{dir=in,job=svc,service_name=svc,}");
    CHECK(h.count == 7);
    CHECK(h.sum == 12.5);
    CHECK(h.schema == 2);
    CHECK(h.zero_count == 1);
    REQUIRE(drain_for(*e).complete);
    const auto st = e->stats();
    // One native histogram and one sample: two series, two data points.
    CHECK(st.sent_series == 2);
    CHECK(st.sent_points == 2);
    check_accounting(st);
    CHECK(st.converted_points == 2);
    CHECK(st.conversion_dropped_points == 0);
    CHECK(metric(reg, "metrics_governor_export_conversion_dropped_datapoints_total",
                 {{"reason", "exponential_histogram"}}) == 0);
}

TEST_CASE("OTLP conversion: a 413 split keeps the accounting exact",
          "[export][exporter][otlp_to_prw]") {
    fake_backend backend([](const mg::http::request& req, std::size_t n) {
        return ex::test::reply(req, n == 0 ? 413 : 204);
    });
    prometheus::Registry reg;
    auto e = make_exporter(config_for(backend.url()), reg);
    auto r = make_otlp(mixed_otlp(), true);
    REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
    REQUIRE(backend.log().wait(3));
    REQUIRE(drain_for(*e).complete);
    const auto s = e->stats();
    CHECK(s.sent_series == 6);
    CHECK(s.sent_points == 6);
    CHECK(s.dropped_series == 0);
    check_accounting(s);
    std::multiset<std::string> got;
    for (std::size_t i = 1; i < backend.log().count(); ++i) {
        for (auto& x : decode_series(backend.log().all()[i])) got.insert(x);
    }
    CHECK(got.size() == 6);
    CHECK(got.count("temp{job=svc,room=b,service_name=svc,}") == 1);
}

TEST_CASE("many concurrent submitters over several connections: exact delivery",
          "[export][exporter]") {
    fake_backend backend;
    prometheus::Registry reg;
    auto c = config_for(backend.url());
    c.max_conns = 4;
    c.batch_size = 7;
    auto e = make_exporter(c, reg);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 25; ++i) {
                auto r = make_rw({"t" + std::to_string(t) + "_" + std::to_string(i)});
                while (e->submit(r->batch, r->keep_all()) == ex::submit_status::queue_full) {
                    std::this_thread::yield();
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    REQUIRE(drain_for(*e).complete);
    std::multiset<std::string> want;
    for (int t = 0; t < 4; ++t) {
        for (int i = 0; i < 25; ++i) want.insert("t" + std::to_string(t) + "_" + std::to_string(i));
    }
    CHECK(all_names(backend.log()) == want);
    for (const auto& req : backend.log().all()) CHECK(decode_names(req).size() <= 7);
    check_accounting(e->stats());
}

// ---- disk queue (-queue-path) ----------------------------------------------------------------

namespace {

namespace fs = std::filesystem;

using mg::test::temp_dir;

ex::queue_options disk_queue_of(const std::string& dir, std::uint64_t max_disk = 64 * 1024 * 1024) {
    auto q = queue_of();
    q.path = dir;
    q.max_disk_bytes = max_disk;
    return q;
}

std::string url_of(std::uint16_t port) {
    return "http://127.0.0.1:" + std::to_string(port) + "/api/v1/write";
}

// Submits one request per name group with the backend down and waits until the exporter tried.
std::vector<std::string> submit_groups(ex::exporter& e, prometheus::Registry& reg, int groups) {
    std::vector<std::string> want;
    for (int i = 0; i < groups; ++i) {
        auto r = make_rw(names(3, "g" + std::to_string(i) + "_"));
        REQUIRE(e.submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
        for (auto& n : names(3, "g" + std::to_string(i) + "_")) want.push_back(n);
    }
    REQUIRE(eventually([&] {
        return metric(reg, "metrics_governor_export_errors_total", {{"reason", "connect"}}) >= 1;
    }));
    return want;
}

std::vector<fs::path> segment_files(const std::string& dir) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() == ".mgq") out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST_CASE("disk queue: accepted data survives a restart with the backend down",
          "[export][exporter][disk]") {
    temp_dir d;
    const auto port = free_port();
    auto c = config_for(url_of(port));
    c.max_conns = 1;
    std::vector<std::string> want;
    std::string snappy;
    std::uint64_t submitted_series = 0;
    {
        prometheus::Registry reg;
        auto e = make_exporter(c, reg, disk_queue_of(d.path()));
        want = submit_groups(*e, reg, 4);
        auto raw = make_rw(names(2, "raw_"));
        snappy = raw->snappy();
        REQUIRE(e->submit_raw(snappy, pr::source_protocol::remote_write_v1,
                              ex::body_encoding::snappy, 2, 4) == ex::submit_status::accepted);
        CHECK(metric(reg, "metrics_governor_queue_disk_bytes") > 0);
        CHECK(metric(reg, "metrics_governor_queue_disk_max_bytes") == 64 * 1024 * 1024);

        const auto report = drain_for(*e, 50ms);
        CHECK(report.complete);  // nothing lost: it is on disk
        CHECK(report.series_left == 14);
        CHECK(report.points_left == 28);
        CHECK(report.disk_bytes_left > 0);
        const auto s = e->stats();
        submitted_series = s.submitted_series;
        CHECK(s.dropped_series == 0);
        CHECK(s.outstanding_series == 14);  // submitted = sent + dropped + on disk
        CHECK(s.disk_bytes == report.disk_bytes_left);
        check_accounting(s);
    }
    CHECK(submitted_series == 14);

    fake_backend backend(ex::test::always(204), port);
    prometheus::Registry reg;
    auto e = make_exporter(c, reg, disk_queue_of(d.path()));
    CHECK(metric(reg, "metrics_governor_queue_disk_replayed_payloads_total") == 5);
    REQUIRE(eventually([&] { return e->stats().sent_series == 14; }));
    const auto report = drain_for(*e);
    CHECK(report.complete);
    CHECK(report.disk_bytes_left == 0);
    CHECK(segment_files(d.path()).empty());
    // Everything arrived exactly as submitted, the raw body byte for byte, in order.
    const auto got = backend.log().all();
    std::vector<std::string> names_in_order;
    bool raw_seen = false;
    // Joined after the replayed payloads of its lane, the raw body is that request's last
    // snappy elements, byte for byte (snappy_concat.h).
    std::size_t raw_size = 0;
    std::size_t raw_header = 0;
    REQUIRE(pr::snappy_block_header(snappy, raw_size, raw_header));
    const std::string raw_elements = snappy.substr(raw_header);
    for (const auto& req : got) {
        if (req.body() == snappy || std::string_view(req.body()).ends_with(raw_elements))
            raw_seen = true;
        for (auto& n : decode_names(req)) names_in_order.push_back(n);
    }
    CHECK(raw_seen);
    want.push_back("raw_0");
    want.push_back("raw_1");
    CHECK(names_in_order == want);
    const auto s = e->stats();
    CHECK(s.replayed_payloads == 5);
    CHECK(s.submitted_series == 14);
    CHECK(s.sent_series == 14);
    check_accounting(s);
}

TEST_CASE("disk queue: a torn tail is cut off, counted, and the complete records are delivered",
          "[export][exporter][disk]") {
    temp_dir d;
    const auto port = free_port();
    auto c = config_for(url_of(port));
    c.max_conns = 1;
    std::vector<std::string> want;
    {
        prometheus::Registry reg;
        auto e = make_exporter(c, reg, disk_queue_of(d.path()));
        want = submit_groups(*e, reg, 3);
    }
    const auto segs = segment_files(d.path());
    REQUIRE(segs.size() == 1);
    fs::resize_file(segs[0], fs::file_size(segs[0]) - 10);  // kill -9 in the middle of a write

    fake_backend backend(ex::test::always(204), port);
    prometheus::Registry reg;
    auto e = make_exporter(c, reg, disk_queue_of(d.path()));
    CHECK(metric(reg, "metrics_governor_queue_disk_corrupt_total") == 1);
    CHECK(metric(reg, "metrics_governor_queue_disk_replayed_payloads_total") == 2);
    REQUIRE(eventually([&] { return e->stats().sent_series == 6; }));
    drain_for(*e);
    want.resize(6);
    CHECK(all_names(backend.log()) == as_set(want));
    CHECK(e->stats().disk_corrupt == 1);
    check_accounting(e->stats());
}

TEST_CASE("disk queue: a garbage segment file does not crash the exporter",
          "[export][exporter][disk]") {
    temp_dir d;
    {
        std::ofstream g(d.path() + "/seg-00000000000000000001.mgq", std::ios::binary);
        for (int i = 0; i < 4096; ++i) g.put(static_cast<char>((i * 131) & 0xff));
    }
    fake_backend backend;
    prometheus::Registry reg;
    auto e = make_exporter(config_for(backend.url()), reg, disk_queue_of(d.path()));
    CHECK(metric(reg, "metrics_governor_queue_disk_corrupt_total") == 1);
    auto r = make_rw(names(2));
    REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
    REQUIRE(eventually([&] { return e->stats().sent_series == 2; }));
    CHECK(drain_for(*e).complete);
}

TEST_CASE("disk queue: full at -queue-max-disk-bytes answers queue_full",
          "[export][exporter][disk]") {
    temp_dir d;
    auto c = config_for(url_of(free_port()));
    c.max_conns = 1;
    c.batch_size = 1;
    prometheus::Registry reg;
    auto e = make_exporter(c, reg, disk_queue_of(d.path(), 2048));
    ex::submit_status st = ex::submit_status::accepted;
    int accepted = 0;
    for (int i = 0; i < 1000 && st == ex::submit_status::accepted; ++i) {
        auto r = make_rw({"f" + std::to_string(i)});
        st = e->submit(r->batch, r->keep_all());
        if (st == ex::submit_status::accepted) ++accepted;
    }
    CHECK(st == ex::submit_status::queue_full);
    CHECK(accepted > 1);
    CHECK(metric(reg, "metrics_governor_export_queue_full_total") == 1);
    CHECK(metric(reg, "metrics_governor_queue_disk_bytes") <= 2048);
    CHECK(metric(reg, "metrics_governor_queue_disk_bytes") > 2048 - 200);
    const auto report = drain_for(*e, 50ms);
    CHECK(report.complete);
    CHECK(report.series_left == static_cast<std::uint64_t>(accepted));
    check_accounting(e->stats());
}

TEST_CASE("disk queue: acknowledged payloads are not replayed", "[export][exporter][disk]") {
    temp_dir d;
    fake_backend backend;
    auto c = config_for(backend.url());
    {
        prometheus::Registry reg;
        auto e = make_exporter(c, reg, disk_queue_of(d.path()));
        for (int i = 0; i < 3; ++i) {
            auto r = make_rw(names(2, "a" + std::to_string(i)));
            REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
        }
        REQUIRE(eventually([&] { return e->stats().sent_series == 6; }));
        CHECK(eventually([&] { return e->stats().disk_bytes == 0; }));
        CHECK(drain_for(*e).disk_bytes_left == 0);
    }
    CHECK(segment_files(d.path()).empty());
    const auto before = backend.log().count();
    prometheus::Registry reg;
    auto e = make_exporter(c, reg, disk_queue_of(d.path()));
    CHECK(metric(reg, "metrics_governor_queue_disk_replayed_payloads_total") == 0);
    CHECK(drain_for(*e).complete);
    CHECK(backend.log().count() == before);
    CHECK(e->stats().submitted_series == 0);
}

TEST_CASE("disk queue: at-least-once - a payload in flight at shutdown is sent again",
          "[export][exporter][disk]") {
    temp_dir d;
    const auto port = free_port();
    auto c = config_for(url_of(port));
    std::size_t seen_first = 0;
    {
        // The backend gets the request but never acknowledges it (503, retried).
        fake_backend down(ex::test::always(503), port);
        prometheus::Registry reg;
        auto e = make_exporter(c, reg, disk_queue_of(d.path()));
        auto r = make_rw(names(3, "inflight_"));
        REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
        REQUIRE(down.log().wait(1));
        seen_first = down.log().count();
        e.reset();  // destroyed with the request unacknowledged
    }
    CHECK(seen_first >= 1);
    fake_backend up(ex::test::always(204), port);
    prometheus::Registry reg;
    auto e = make_exporter(c, reg, disk_queue_of(d.path()));
    REQUIRE(up.log().wait(1));
    CHECK(all_names(up.log()) == as_set(names(3, "inflight_")));
    REQUIRE(eventually([&] { return e->stats().sent_series == 3; }));
    CHECK(drain_for(*e).disk_bytes_left == 0);
}

TEST_CASE("disk queue: an unusable -queue-path fails create with its name",
          "[export][exporter][disk]") {
    temp_dir d;
    std::ofstream(d.path() + "/file") << "x";
    prometheus::Registry reg;
    const std::string bad = d.path() + "/file/queue";
    auto e = ex::exporter::create(with_queue(config_for("http://127.0.0.1:1/"), disk_queue_of(bad)),
                                  reg);
    REQUIRE_FALSE(e.ok());
    CHECK(e.error_message().find(bad) != std::string::npos);
}

TEST_CASE(
    "disk queue: a disk write error answers queue_full and is counted, the exporter "
    "recovers when the disk does",
    "[export][exporter][disk][faults]") {
    temp_dir d;
    mg::test::fault_file_system faults;
    fake_backend backend;
    prometheus::Registry reg;
    ex::exporter_deps deps;
    deps.file_system = &faults;
    auto e = make_exporter(config_for(backend.url()), reg, disk_queue_of(d.path()), deps);

    for (const char* fault : {"write", "full disk", "sync"}) {
        INFO(fault);
        if (std::string(fault) == "write") faults.fail_append("seg-");
        if (std::string(fault) == "full disk") faults.disk_budget(10);
        if (std::string(fault) == "sync") faults.fail_sync("seg-");
        auto r = make_rw(names(2, "lost_"));
        CHECK(e->submit(r->batch, r->keep_all()) == ex::submit_status::queue_full);
        faults.clear();
    }
    CHECK(metric(reg, "metrics_governor_export_errors_total", {{"reason", "disk"}}) == 3);
    CHECK(e->stats().submitted_series == 0);  // refused: never accepted

    auto r = make_rw(names(2, "kept_"));
    REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
    REQUIRE(eventually([&] { return e->stats().sent_series == 2; }));
    REQUIRE(drain_for(*e).complete);
    CHECK(all_names(backend.log()) == as_set(names(2, "kept_")));
    check_accounting(e->stats());
}

TEST_CASE("check_settings refuses what create refuses, with its message, and starts nothing",
          "[export][exporter][tls]") {
    ex::test::self_signed_cert cert;
    temp_dir d;
    const std::string queue_dir = d.path() + "/queue";
    auto refused_alike = [&](const ex::exporter_options& c) {
        const auto checked = ex::exporter::check_settings(c);
        prometheus::Registry reg;
        const auto created = ex::exporter::create(with_queue(c, disk_queue_of(queue_dir)), reg);
        REQUIRE_FALSE(checked.ok());
        REQUIRE_FALSE(created.ok());
        CHECK(checked.error_message() == created.error_message());
        return checked.error_message();
    };
    auto missing_ca = config_for("https://backend.example:8428/api/v1/write");
    missing_ca.tls_ca_file = cert.dir + "/nope.pem";
    CHECK_THAT(refused_alike(missing_ca),
               Catch::StartsWith("-exporter-tls-ca-file \"" + cert.dir + "/nope.pem\""));
    auto bad_key = config_for("https://backend.example:8428/");
    bad_key.tls_cert_file = cert.cert_file;
    bad_key.tls_key_file = cert.dir + "/no-key.pem";
    CHECK_THAT(refused_alike(bad_key), Catch::StartsWith("-exporter-tls-key-file"));
    auto bad_headers = config_for("http://backend.example:8428/");
    bad_headers.headers = "no-equals-sign";
    CHECK_THAT(refused_alike(bad_headers), Catch::StartsWith("-exporter-headers: "));

    // Loaded, not just named: a readable file that is not a certificate is refused too.
    auto junk_ca = config_for("https://backend.example:8428/");
    junk_ca.tls_ca_file = d.path() + "/junk.pem";
    std::ofstream(junk_ca.tls_ca_file) << "not a certificate\n";
    CHECK_FALSE(ex::exporter::check_settings(junk_ca).ok());

    // What the daemon does not load is not checked: TLS files of a plain-http endpoint, and
    // everything in observe-only mode.
    auto plain = config_for("http://backend.example:8428/");
    plain.tls_ca_file = cert.dir + "/nope.pem";
    CHECK(ex::exporter::check_settings(plain).ok());
    auto observe = config_for("");
    observe.tls_ca_file = cert.dir + "/nope.pem";
    CHECK(ex::exporter::check_settings(observe).ok());
    auto good = config_for("https://backend.example:8428/");
    good.tls_ca_file = cert.cert_file;
    CHECK(ex::exporter::check_settings(good).ok());
    // The disk queue is the running daemon's: check_settings never creates it.
    CHECK_FALSE(std::filesystem::exists(queue_dir));
}
