// The exporter with -exporter-protocol=otlp-grpc against an in-process gRPC backend
// (fake_grpc_backend: grpc::CallbackGenericService on 127.0.0.1, port 0): the bytes delivered,
// the metadata, the status codes (retried, rejected, throttled with RetryInfo, too large), the
// deadline, TLS, a backend that is down for a while, and the settings refused at startup.
#include <prometheus/registry.h>
#include <spdlog/sinks/ostream_sink.h>

#include <catch2/catch.hpp>
#include <sstream>

#include "export/exporter.h"
#include "exporter_fixture.h"
#include "fake_grpc_backend.h"
#include "integration/support/test_pki.h"
#include "logging/log.h"
#include "protocol/compression.h"
#include "protocol/encode_kept.h"
#include "protocol/otlp.h"
#include "protocol/otlp_builder.h"

using namespace exporter_fixture;
using ex::test::fake_grpc_backend;
using ex::test::grpc_answer;
using ex::test::grpc_call;

namespace {

constexpr const char* k_method = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

// grpc::StatusCode numbers.
constexpr int k_ok = 0;
constexpr int k_invalid_argument = 3;
constexpr int k_resource_exhausted = 8;
constexpr int k_unavailable = 14;

// An OTLP protobuf request with one gauge point per name; the batch's views point into body.
struct otlp_request {
    std::string body;
    pr::series_batch batch;
    std::vector<std::uint8_t> keep_all() const {
        return std::vector<std::uint8_t>(batch.size(), 1);
    }
};

std::unique_ptr<otlp_request> make_otlp(const std::vector<std::string>& metric_names) {
    pr::otlp_resource res;
    pr::otlp_scope scope;
    scope.name = "s";
    for (const auto& n : metric_names) {
        pr::otlp_metric m;
        m.name = n;
        pr::otlp_point p;
        p.attributes.push_back(pr::otlp_key_value{"host", pr::otlp_any_value::str("h-" + n)});
        p.value = 1.5;
        p.time_unix_nano = 1000;
        m.points.push_back(p);
        scope.metrics.push_back(m);
    }
    res.scopes.push_back(scope);
    auto r = std::make_unique<otlp_request>();
    pr::encode_otlp_protobuf(std::span<const pr::otlp_resource>(&res, 1), r->body);
    REQUIRE(
        pr::decode_otlp_protobuf(pr::bytes_view(r->body.data(), r->body.size()), r->batch).ok());
    return r;
}

// The metric names one delivered Export request carries.
std::vector<std::string> names_in(const grpc_call& c) {
    pr::series_batch b;
    const auto st = pr::decode_otlp_protobuf(pr::bytes_view(c.body.data(), c.body.size()), b);
    INFO(st.error_message());
    REQUIRE(st.ok());
    std::vector<std::string> out;
    for (std::size_t i = 0; i < b.size(); ++i) out.emplace_back(b[i].metric_name);
    return out;
}

// Requests submitted together: the batches point into the requests' bodies, so they live here.
struct submitted {
    std::vector<std::unique_ptr<otlp_request>> reqs;
    std::vector<std::string> all_names;
};

// Submits `count` requests of `per_request` gauges each, named <prefix><i>_<j>; each accepted.
submitted submit_requests(ex::exporter& e, int count, std::size_t per_request,
                          const std::string& prefix) {
    submitted out;
    for (int i = 0; i < count; ++i) {
        const auto n = names(per_request, prefix + std::to_string(i) + "_");
        out.all_names.insert(out.all_names.end(), n.begin(), n.end());
        out.reqs.push_back(make_otlp(n));
        REQUIRE(e.submit(out.reqs.back()->batch, out.reqs.back()->keep_all()) ==
                ex::submit_status::accepted);
    }
    return out;
}

// The metric names of every Export call the backend received, duplicates kept.
std::multiset<std::string> delivered_names(const fake_grpc_backend& backend) {
    std::multiset<std::string> out;
    for (const auto& call : backend.all()) {
        for (auto& n : names_in(call)) out.insert(n);
    }
    return out;
}

ex::test::grpc_backend_options server_tls(const mg::test::test_pki& pki) {
    ex::test::grpc_backend_options o;
    o.cert_file = pki.server_cert;
    o.key_file = pki.server_key;
    return o;
}

ex::test::grpc_backend_options mutual_tls(const mg::test::test_pki& pki) {
    auto o = server_tls(pki);
    o.client_ca_file = pki.client_ca;
    return o;
}

ex::exporter_options grpc_config(const std::string& url) {
    auto c = config_for(url);
    c.protocol = "otlp-grpc";
    return c;
}

double requests(prometheus::Registry& reg, const std::string& code) {
    return metric(reg, "metrics_governor_export_requests_total", {{"code", code}});
}

double errors(prometheus::Registry& reg, const std::string& reason) {
    return metric(reg, "metrics_governor_export_errors_total", {{"reason", reason}});
}

// An exporter with options `c` sends one request of `n` series: it arrives as one call with the
// request's bytes and the exporter drains.
void check_delivered(const fake_grpc_backend& backend, const ex::exporter_options& c,
                     std::size_t n) {
    prometheus::Registry reg;
    auto e = make_exporter(c, reg);
    auto r = make_otlp(names(n));
    REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
    REQUIRE(drain_for(*e).complete);
    REQUIRE(backend.count() == 1);
    CHECK(backend.all()[0].body == r->body);
    CHECK(e->stats().sent_series == n);
}

// An exporter with options `c` whose TLS handshake fails: the call ends UNAVAILABLE (retried),
// nothing arrives, and the series stays queued.
void check_refused(const fake_grpc_backend& backend, const ex::exporter_options& c) {
    prometheus::Registry reg;
    auto e = make_exporter(c, reg);
    auto r = make_otlp({"a"});
    REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
    REQUIRE(eventually([&] { return errors(reg, "grpc_unavailable") >= 1; }));
    CHECK(backend.count() == 0);
    const auto report = drain_for(*e, 50ms);
    CHECK_FALSE(report.complete);
    CHECK(report.series_left == 1);
    check_accounting(e->stats());
}

// Answers call n with `first` for n < times, then OK.
ex::test::grpc_responder fail_first(std::size_t times, grpc_answer first) {
    return [times, first](const grpc_call&, std::size_t n) {
        return n < times ? first : grpc_answer{};
    };
}

grpc_answer status(int code, std::string message = "no") {
    grpc_answer a;
    a.code = code;
    a.message = std::move(message);
    return a;
}

}  // namespace

TEST_CASE("OTLP/gRPC: the Export call carries the OTLP request bytes and the metadata",
          "[export][grpc]") {
    fake_grpc_backend backend;
    prometheus::Registry reg;
    auto c = grpc_config(backend.url());
    c.bearer_token = "s3cret";
    c.headers = "X-Scope-OrgID=acme, Authorization=overridden";
    auto e = make_exporter(c, reg);
    auto r = make_otlp({"a", "b", "c"});

    SECTION("submit: the kept subset, encoded as the otlp protocol encodes it") {
        const std::vector<std::uint8_t> keep = {1, 0, 1};
        std::string expected;
        REQUIRE(pr::encode_kept(r->batch, keep, expected).ok());
        REQUIRE(e->submit(r->batch, keep) == ex::submit_status::accepted);
        REQUIRE(backend.wait(1));
        const auto call = backend.all().at(0);
        CHECK(call.body == expected);
        CHECK(names_in(call) == std::vector<std::string>{"a", "c"});
    }
    SECTION("submit_raw: the sender's bytes, identity") {
        REQUIRE(e->submit_raw(r->body, pr::source_protocol::otlp_protobuf,
                              ex::body_encoding::identity, 3, 3) == ex::submit_status::accepted);
        REQUIRE(backend.wait(1));
        CHECK(backend.all().at(0).body == r->body);
    }
    SECTION("submit_raw: the sender's gzip body arrives as the same message") {
        std::string gz;
        REQUIRE(pr::gzip_encode(pr::bytes_view(r->body.data(), r->body.size()), 6, gz).ok());
        REQUIRE(e->submit_raw(gz, pr::source_protocol::otlp_protobuf, ex::body_encoding::gzip, 3,
                              3) == ex::submit_status::accepted);
        REQUIRE(backend.wait(1));
        CHECK(backend.all().at(0).body == r->body);
    }
    REQUIRE(drain_for(*e).complete);
    const auto call = backend.all().at(0);
    CHECK(call.method == k_method);
    CHECK(call.meta("authorization") == "Bearer s3cret");
    CHECK(call.metadata.count("authorization") == 1);
    CHECK(call.meta("x-scope-orgid") == "acme");
    CHECK(call.meta("user-agent").find("metrics-governor/0.1") != std::string::npos);
    CHECK(backend.count() == 1);
    const auto s = e->stats();
    CHECK(s.sent_series == s.submitted_series);
    CHECK(s.retries == 0);
    check_accounting(s);
    CHECK(requests(reg, "OK") == 1);
}

TEST_CASE("OTLP/gRPC: each call carries its payload's one tenant as metadata", "[export][grpc]") {
    fake_grpc_backend backend;
    prometheus::Registry reg;
    auto c = grpc_config(backend.url());
    c.tenant_header = "X-Scope-OrgID";   // lower-cased for gRPC
    c.headers = "X-Scope-OrgID=static";  // the payload's tenant wins
    c.flush_interval = 1h;               // merged where they may be, at the drain
    auto e = make_exporter(c, reg);
    auto r = make_otlp({"a1", "b1", "a2"});
    const std::vector<std::string_view> tenants = {"a", "b"};
    const std::vector<std::uint32_t> of = {0, 1, 0};
    ex::submit_details details;
    REQUIRE(e->submit(r->batch, r->keep_all(), {}, details, nullptr, {tenants, of}) ==
            ex::submit_status::accepted);
    auto raw = make_otlp({"c1"});
    REQUIRE(e->submit_raw(raw->body, pr::source_protocol::otlp_protobuf,
                          ex::body_encoding::identity, 1, 1, nullptr,
                          "c") == ex::submit_status::accepted);
    // Not printable ASCII: gRPC metadata cannot carry it; dropped and counted, never sent.
    auto utf8 = make_otlp({"u1"});
    REQUIRE(e->submit_raw(utf8->body, pr::source_protocol::otlp_protobuf,
                          ex::body_encoding::identity, 1, 1, nullptr,
                          "\xc3\xbc") == ex::submit_status::accepted);
    REQUIRE(drain_for(*e).complete);
    std::map<std::string, std::multiset<std::string>> got;
    for (const auto& call : backend.all()) {
        CHECK(call.metadata.count("x-scope-orgid") == 1);
        const auto names = names_in(call);
        got[call.meta("x-scope-orgid")].insert(names.begin(), names.end());
    }
    CHECK(got == std::map<std::string, std::multiset<std::string>>{
                     {"a", {"a1", "a2"}}, {"b", {"b1"}}, {"c", {"c1"}}});
    const auto s = e->stats();
    CHECK(s.dropped_series == 1);
    check_accounting(s);
}

TEST_CASE("OTLP/gRPC: basic auth becomes authorization metadata", "[export][grpc]") {
    fake_grpc_backend backend;
    prometheus::Registry reg;
    auto c = grpc_config(backend.url());
    c.basic_auth_username = "user";
    c.basic_auth_password = "pw";
    auto e = make_exporter(c, reg);
    auto r = make_otlp({"a"});
    REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
    REQUIRE(backend.wait(1));
    CHECK(backend.all().at(0).meta("authorization") == "Basic dXNlcjpwdw==");
    REQUIRE(drain_for(*e).complete);
}

TEST_CASE("OTLP/gRPC: UNAVAILABLE is retried and the data delivered once", "[export][grpc]") {
    fake_grpc_backend backend(fail_first(1, status(k_unavailable, "warming up")));
    prometheus::Registry reg;
    auto e = make_exporter(grpc_config(backend.url()), reg);
    auto r = make_otlp({"a", "b"});
    REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
    REQUIRE(backend.wait(2));
    REQUIRE(drain_for(*e).complete);
    CHECK(backend.count() == 2);
    CHECK(backend.all()[0].body == backend.all()[1].body);
    const auto s = e->stats();
    CHECK(s.sent_series == 2);
    CHECK(s.sent_points == 2);
    CHECK(s.retries == 1);
    CHECK(s.dropped_series == 0);
    check_accounting(s);
    CHECK(requests(reg, "UNAVAILABLE") == 1);
    CHECK(requests(reg, "OK") == 1);
    CHECK(errors(reg, "grpc_unavailable") == 1);
}

TEST_CASE("OTLP/gRPC: INVALID_ARGUMENT is not retried: the data is dropped as rejected",
          "[export][grpc]") {
    fake_grpc_backend backend(ex::test::grpc_always(k_invalid_argument));
    prometheus::Registry reg;
    auto e = make_exporter(grpc_config(backend.url()), reg);
    auto r = make_otlp({"a", "b", "c"});
    REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
    REQUIRE(drain_for(*e).complete);
    CHECK(backend.count() == 1);
    const auto s = e->stats();
    CHECK(s.retries == 0);
    CHECK(s.dropped_series == 3);
    CHECK(s.dropped_points_by_reason.at("rejected") == 3);
    check_accounting(s);
    CHECK(errors(reg, "grpc_invalid_argument") == 1);
    CHECK(metric(reg, "metrics_governor_export_dropped_datapoints_total",
                 {{"reason", "rejected"}}) == 3);
}

TEST_CASE("OTLP/gRPC: RESOURCE_EXHAUSTED with RetryInfo waits its delay, without it rejects",
          "[export][grpc]") {
    SECTION("with RetryInfo: retried after its delay, not the backoff") {
        grpc_answer throttled = status(k_resource_exhausted, "slow down");
        throttled.details = ex::test::retry_info_details(k_resource_exhausted, 1s);
        fake_grpc_backend backend(fail_first(1, throttled));
        prometheus::Registry reg;
        auto c = grpc_config(backend.url());
        c.retry_backoff_base = 20s;  // the backoff alone would wait 20s (jitter pinned to 1)
        c.retry_backoff_max = 20s;
        ex::exporter_deps deps;
        deps.random = [] { return 1.0; };
        auto e = make_exporter(c, reg, queue_of(), deps);
        auto r = make_otlp({"a"});
        REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
        REQUIRE(backend.wait(2, 8s));
        const auto calls = backend.all();
        CHECK(calls[1].at - calls[0].at >= 950ms);
        CHECK(calls[1].at - calls[0].at < 5s);
        REQUIRE(drain_for(*e).complete);
        CHECK(e->stats().sent_series == 1);
        CHECK(e->stats().retries == 1);
        CHECK(errors(reg, "grpc_resource_exhausted") == 1);
    }
    SECTION("without RetryInfo: not retryable (OTLP spec): dropped as rejected") {
        fake_grpc_backend backend(ex::test::grpc_always(k_resource_exhausted));
        prometheus::Registry reg;
        auto e = make_exporter(grpc_config(backend.url()), reg);
        auto r = make_otlp({"a", "b"});
        REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
        REQUIRE(drain_for(*e).complete);
        CHECK(backend.count() == 1);
        CHECK(e->stats().dropped_points_by_reason.at("rejected") == 2);
        check_accounting(e->stats());
    }
}

TEST_CASE("OTLP/gRPC: a call past -exporter-timeout ends at its deadline and is retried",
          "[export][grpc]") {
    grpc_answer held;
    held.hold = true;
    fake_grpc_backend backend(fail_first(1, held));
    prometheus::Registry reg;
    auto c = grpc_config(backend.url());
    c.timeout = 300ms;
    auto e = make_exporter(c, reg);
    auto r = make_otlp({"a", "b"});
    REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
    REQUIRE(backend.wait(2));
    const auto calls = backend.all();
    CHECK(calls[1].at - calls[0].at >= 250ms);
    REQUIRE(drain_for(*e).complete);
    const auto s = e->stats();
    CHECK(s.sent_series == 2);
    CHECK(s.retries == 1);
    check_accounting(s);
    CHECK(errors(reg, "grpc_deadline_exceeded") == 1);
}

TEST_CASE("OTLP/gRPC: a message over the server's limit is split in halves", "[export][grpc]") {
    std::vector<std::string> many;
    for (int i = 0; i < 16; ++i) many.push_back("metric_with_a_long_name_" + std::to_string(i));
    auto r = make_otlp(many);
    ex::test::grpc_backend_options o;
    // The whole request is refused, a half fits (each half carries the resource and scope too).
    o.max_receive_bytes = static_cast<int>(r->body.size() * 3 / 4);
    fake_grpc_backend backend(ex::test::grpc_always(k_ok), o);
    prometheus::Registry reg;
    auto c = grpc_config(backend.url());
    c.batch_size = 16;
    auto e = make_exporter(c, reg);
    REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
    REQUIRE(drain_for(*e).complete);
    CHECK(delivered_names(backend) == as_set(many));
    const auto s = e->stats();
    CHECK(s.sent_series == 16);
    CHECK(s.dropped_series == 0);
    check_accounting(s);
    CHECK(errors(reg, "grpc_resource_exhausted") == 1);
}

TEST_CASE("OTLP/gRPC: partial_success is logged and counted, the points count as sent",
          "[export][grpc]") {
    std::ostringstream out;
    mg::logging::init(spdlog::level::info, mg::logging::format::json,
                      std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
    fake_grpc_backend backend([](const grpc_call&, std::size_t) {
        grpc_answer a;
        pr::encode_otlp_response_protobuf(1, "point 1 is too old", a.response);
        return a;
    });
    prometheus::Registry reg;
    auto e = make_exporter(grpc_config(backend.url()), reg);
    auto r = make_otlp({"a", "b"});
    REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
    REQUIRE(drain_for(*e).complete);
    CHECK(e->stats().sent_points == 2);
    // Counted too: the operator sees the backend's refusals on /metrics, not only in the log.
    CHECK(metric(reg, "metrics_governor_export_backend_rejected_datapoints_total") == 1);
    const std::string text = out.str();
    mg::logging::init(spdlog::level::info, mg::logging::format::json);
    CHECK(text.find("partial_success") != std::string::npos);
    CHECK(text.find("point 1 is too old") != std::string::npos);
}

TEST_CASE("OTLP/gRPC: the backend down for a while then up: nothing is lost", "[export][grpc]") {
    const std::uint16_t port = free_port<fake_grpc_backend>();
    prometheus::Registry reg;
    auto c = grpc_config("http://127.0.0.1:" + std::to_string(port));
    c.min_shards = 2;
    c.max_shards = 2;
    auto e = make_exporter(c, reg);
    const auto sent = submit_requests(*e, 5, 4, "r");
    REQUIRE(eventually([&] { return errors(reg, "grpc_unavailable") >= 3; }));
    CHECK(e->stats().sent_series == 0);
    ex::test::grpc_backend_options o;
    o.port = port;
    fake_grpc_backend backend(ex::test::grpc_always(k_ok), o);
    REQUIRE(drain_for(*e).complete);
    CHECK(delivered_names(backend) == as_set(sent.all_names));
    const auto s = e->stats();
    CHECK(s.sent_series == 20);
    CHECK(s.dropped_series == 0);
    check_accounting(s);
}

TEST_CASE("OTLP/gRPC: TLS with the CA file, mutual TLS, skip-verify, and unknown CAs refused",
          "[export][grpc][tls]") {
    mg::test::test_pki pki;
    SECTION("verified with the CA file") {
        fake_grpc_backend backend(ex::test::grpc_always(k_ok), server_tls(pki));
        auto c = grpc_config(backend.url());
        c.tls_ca_file = pki.ca;
        check_delivered(backend, c, 2);
    }
    SECTION("mutual TLS: the client certificate is presented") {
        fake_grpc_backend backend(ex::test::grpc_always(k_ok), mutual_tls(pki));
        auto c = grpc_config(backend.url());
        c.tls_ca_file = pki.ca;
        c.tls_cert_file = pki.client_cert;
        c.tls_key_file = pki.client_key;
        check_delivered(backend, c, 1);
    }
    SECTION("mutual TLS without a client certificate fails the handshake") {
        fake_grpc_backend backend(ex::test::grpc_always(k_ok), mutual_tls(pki));
        auto c = grpc_config(backend.url());
        c.tls_ca_file = pki.ca;
        check_refused(backend, c);
    }
    SECTION("insecure skip verify: a server no CA we have vouches for") {
        fake_grpc_backend backend(ex::test::grpc_always(k_ok), server_tls(pki));
        auto c = grpc_config(backend.url());
        c.tls_insecure_skip_verify = true;
        check_delivered(backend, c, 1);
    }
    SECTION("the default roots do not know the test CA: nothing is sent") {
        fake_grpc_backend backend(ex::test::grpc_always(k_ok), server_tls(pki));
        check_refused(backend, grpc_config(backend.url()));
    }
}

TEST_CASE("OTLP/gRPC: settings refused at startup name their flag", "[export][grpc]") {
    auto refused = [](const ex::exporter_options& c) {
        const auto st = ex::exporter::check_settings(c);
        REQUIRE_FALSE(st.ok());
        prometheus::Registry reg;
        ex::exporter_deps deps;
        deps.grpc_transport = ex::make_grpc_transport;
        const auto e = ex::exporter::create(c, reg, std::move(deps));
        REQUIRE_FALSE(e.ok());
        CHECK(e.error_message() == st.error_message());
        return st.error_message();
    };
    auto c = grpc_config("http://127.0.0.1:4317");
    REQUIRE(ex::exporter::check_settings(c).ok());
    SECTION("an endpoint with a path") {
        c.endpoint = "http://127.0.0.1:4317/v1/metrics";
        const auto m = refused(c);
        CHECK(m.rfind("-exporter-endpoint:", 0) == 0);
        CHECK(m.find("https://host:port") != std::string::npos);
    }
    SECTION("an endpoint with a query") {
        c.endpoint = "http://127.0.0.1:4317?x=1";
        CHECK(refused(c).rfind("-exporter-endpoint:", 0) == 0);
    }
    SECTION("a header that is no gRPC metadata key") {
        c.headers = "X Bad=1";
        CHECK(refused(c).rfind("-exporter-headers:", 0) == 0);
        c.headers = "X-Ok=1,X/Bad=2";
        CHECK(refused(c).find("header 2") != std::string::npos);
    }
    SECTION("a header gRPC sets itself") {
        c.headers = "grpc-timeout=1S";
        CHECK(refused(c).rfind("-exporter-headers:", 0) == 0);
    }
    SECTION("a TLS file that cannot be loaded") {
        c.endpoint = "https://127.0.0.1:4317";
        c.tls_ca_file = "/nonexistent/ca.pem";
        CHECK(refused(c).find("/nonexistent/ca.pem") != std::string::npos);
    }
    SECTION("an unknown protocol lists the accepted ones") {
        c.protocol = "grpc";
        CHECK(refused(c) == "-exporter-protocol: \"grpc\" is not prw, otlp or otlp-grpc");
    }
}

TEST_CASE("OTLP/gRPC: OTLP/JSON and remote-write input are refused with a message",
          "[export][grpc]") {
    fake_grpc_backend backend;
    prometheus::Registry reg;
    auto e = make_exporter(grpc_config(backend.url()), reg);
    CHECK(e->check_source(pr::source_protocol::otlp_protobuf).ok());
    CHECK_FALSE(e->converts(pr::source_protocol::otlp_protobuf));
    const auto json = e->check_source(pr::source_protocol::otlp_json);
    REQUIRE_FALSE(json.ok());
    CHECK(json.error_message().find("otlp-grpc") != std::string::npos);
    const auto rw = e->check_source(pr::source_protocol::remote_write_v1);
    REQUIRE_FALSE(rw.ok());
    CHECK(rw.error_message().find("-exporter-protocol=otlp-grpc") != std::string::npos);
    CHECK(e->submit_raw("{}", pr::source_protocol::otlp_json, ex::body_encoding::identity, 1, 1) ==
          ex::submit_status::unsupported);
    auto r = make_rw(names(2));
    CHECK(e->submit(r->batch, r->keep_all()) == ex::submit_status::unsupported);
    REQUIRE(drain_for(*e).complete);
    CHECK(backend.count() == 0);
}

TEST_CASE("OTLP/gRPC: several lanes in flight on one channel deliver every point once",
          "[export][grpc]") {
    fake_grpc_backend backend;
    prometheus::Registry reg;
    auto c = grpc_config(backend.url());
    c.min_shards = 4;
    c.max_shards = 4;
    c.batch_size = 8;
    auto e = make_exporter(c, reg);
    const auto sent = submit_requests(*e, 20, 10, "q");
    REQUIRE(drain_for(*e).complete);
    CHECK(delivered_names(backend) == as_set(sent.all_names));
    const auto s = e->stats();
    CHECK(s.sent_series == 200);
    check_accounting(s);
}

TEST_CASE("OTLP/gRPC: without the gRPC plugin's transport, create() says so", "[export][grpc]") {
    prometheus::Registry reg;
    const auto e = ex::exporter::create(grpc_config("http://127.0.0.1:4317"), reg);
    REQUIRE_FALSE(e.ok());
    CHECK(e.error_message().find("the gRPC plugin is not loaded") != std::string::npos);
}
