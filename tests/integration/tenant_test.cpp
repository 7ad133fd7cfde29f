// Tenants end to end (issue 19, the ingest and export side): two tenants' requests through one
// daemon to a recording backend; every upstream request carries one tenant's series and that
// tenant in the tenant header, for remote write, OTLP/HTTP, OTLP/gRPC and the label source.
// Hostile tenants get 400 with the reason, are counted, and the daemon keeps serving.
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "grpc_support.h"
#include "protocol/compression.h"
#include "protocol/remote_write_builder.h"
#include "support/daemon.h"
#include "support/fake_backend.h"
#include "support/grpc_client.h"
#include "support/http_client.h"
#include "support/metrics_page.h"
#include "support/remote_write_client.h"

using namespace std::chrono_literals;
using mg::test::k_prw_headers;
using mg::test::prw_body;
using mg::test::recorded_request;
using mg::test::running_daemon;
namespace bhttp = boost::beast::http;
namespace proto = mg::protocol;

namespace {

// {__name__=metric, id=<id>} plus tenant=<tenant> when given.
proto::owned_timeseries series(const std::string& metric, const std::string& id,
                               const std::string& tenant = {}) {
    proto::owned_timeseries ts;
    ts.labels = {{"__name__", metric}, {"id", id}};
    if (!tenant.empty()) ts.labels.push_back({"tenant", tenant});
    ts.samples = {{1, 1700000000000}};
    return ts;
}

// Every series the backend received, "metric/id", grouped by the tenant header of the request
// that carried it (`header`, lower case). Checks each request carries the header once at most.
std::map<std::string, std::multiset<std::string>> by_tenant(const std::vector<recorded_request>& r,
                                                            const std::string& header) {
    std::map<std::string, std::multiset<std::string>> out;
    for (const auto& req : r) {
        const auto values = req.header(header);
        CHECK(values.size() <= 1);
        const auto tenant = values.empty() ? std::string("<none>") : values.front();
        for (const auto& s : mg::test::series_ids(req.body)) out[tenant].insert(s);
    }
    return out;
}

std::size_t series_count(const std::vector<recorded_request>& reqs) {
    std::size_t n = 0;
    for (const auto& r : reqs) n += mg::test::series_ids(r.body).size();
    return n;
}

// Each request's series all belong to its tenant: their metric names start with its name.
void check_unmixed(const std::map<std::string, std::multiset<std::string>>& got) {
    for (const auto& [tenant, ids] : got) {
        for (const auto& id : ids) {
            INFO(tenant << " got " << id);
            CHECK(id.rfind(tenant + "_", 0) == 0);
        }
    }
}

double rejected(running_daemon& d, const std::string& protocol, const std::string& reason) {
    return mg::test::sample_value(mg::test::http_get(d.stats_port(), "/metrics").body,
                                  R"(metrics_governor_requests_rejected_total{protocol=")" +
                                      protocol + R"(",reason=")" + reason + R"("})")
        .value_or(0);
}

std::map<std::string, std::string> with_tenant(const std::string& tenant) {
    auto h = k_prw_headers;
    h["X-Scope-OrgID"] = tenant;
    return h;
}

}  // namespace

TEST_CASE("tenants from the header: each upstream request carries one tenant, with its header",
          "[tenant]") {
    mg::test::fake_backend backend;
    // A long flush interval and a large batch: everything waits together, so anything that
    // could merge two tenants' payloads would.
    running_daemon d({"-exporter-endpoint=" + backend.url(), "-tenancy-source=header",
                      "-flush-interval=300ms", "-batch-size=100000"});
    mg::test::http_client c("127.0.0.1", d.ingest_port());
    // Interleaved: team_a, team_b, none (the default tenant), ...; remote write and OTLP/HTTP
    // (converted to remote write for this backend).
    std::size_t sent = 0;
    for (int round = 0; round < 3; ++round) {
        for (const std::string t : {"team_a", "team_b"}) {
            const auto id = std::to_string(round);
            REQUIRE(c.request(bhttp::verb::post, "/api/v1/write",
                              prw_body({series(t + "_rw", id), series(t + "_rw", id + "x")}),
                              with_tenant(t))
                        .status == 204);
            const auto otlp = mg::test::grpc_test::export_request(t + "_otlp", round, 1);
            REQUIRE(c.request(bhttp::verb::post, "/v1/metrics", otlp,
                              {{"Content-Type", "application/x-protobuf"}, {"X-Scope-OrgID", t}})
                        .status == 200);
            sent += 3;
        }
        REQUIRE(c.request(bhttp::verb::post, "/api/v1/write",
                          prw_body({series("default_rw", std::to_string(round))}), k_prw_headers)
                    .status == 204);
        ++sent;
    }
    REQUIRE(backend.wait_until([&](const auto& r) { return series_count(r) >= sent; }));
    const auto got = by_tenant(backend.requests(), "x-scope-orgid");
    check_unmixed(got);
    CHECK(got.count("<none>") == 0);  // tenancy on: every request names its tenant upstream
    REQUIRE(got.count("team_a") == 1);
    CHECK(got.at("team_a") ==
          std::multiset<std::string>{"team_a_rw/0", "team_a_rw/0x", "team_a_rw/1", "team_a_rw/1x",
                                     "team_a_rw/2", "team_a_rw/2x", "team_a_otlp/0",
                                     "team_a_otlp/1", "team_a_otlp/2"});
    REQUIRE(got.count("team_b") == 1);
    CHECK(got.at("team_b").size() == 9);
    REQUIRE(got.count("default") == 1);
    CHECK(got.at("default") ==
          std::multiset<std::string>{"default_rw/0", "default_rw/1", "default_rw/2"});
}

TEST_CASE("tenants from a label: a request of two tenants is split, the series keep the label",
          "[tenant]") {
    mg::test::fake_backend backend;
    running_daemon d({"-exporter-endpoint=" + backend.url(), "-tenancy-source=label",
                      "-tenancy-label=tenant", "-exporter-tenant-header=X-Upstream-Tenant",
                      "-flush-interval=200ms"});
    mg::test::http_client c("127.0.0.1", d.ingest_port());
    REQUIRE(
        c.request(bhttp::verb::post, "/api/v1/write",
                  prw_body({series("team_a_m", "1", "team_a"), series("team_b_m", "1", "team_b"),
                            series("team_a_m", "2", "team_a"), series("default_m", "1")}),
                  k_prw_headers)
            .status == 204);
    REQUIRE(backend.wait_until([&](const auto& r) { return series_count(r) >= 4; }));
    const auto reqs = backend.requests();
    for (const auto& r : reqs) CHECK(r.header("x-scope-orgid").empty());  // mapped to another
    const auto got = by_tenant(reqs, "x-upstream-tenant");
    check_unmixed(got);
    CHECK(got == std::map<std::string, std::multiset<std::string>>{
                     {"team_a", {"team_a_m/1", "team_a_m/2"}},
                     {"team_b", {"team_b_m/1"}},
                     {"default", {"default_m/1"}}});
    // The label stays on the series (the default tenant's series had none).
    for (const auto& r : reqs) {
        if (r.header("x-upstream-tenant") == std::vector<std::string>{"default"}) continue;
        std::string raw;
        REQUIRE(proto::snappy_decode(r.body, 1 << 28, raw).ok());
        CHECK(raw.find("tenant") != std::string::npos);
        CHECK(raw.find(r.header("x-upstream-tenant").at(0)) != std::string::npos);
    }
}

TEST_CASE("tenants over OTLP/gRPC: the metadata key in lower case, and require_tenant refuses",
          "[tenant]") {
    mg::test::fake_backend backend;
    running_daemon d({"-exporter-endpoint=" + backend.url(), "-tenancy-source=header",
                      "-tenancy-require-tenant", "-flush-interval=100ms"});
    REQUIRE(d.grpc_port() != 0);
    mg::test::otlp_grpc_client g(d.grpc_port());
    const auto msg = mg::test::grpc_test::export_request("team_g_m", 0, 2);
    auto a = g.call(msg, {.metadata = {{"x-scope-orgid", "team_g"}}});
    REQUIRE(a.ok());
    a = g.call(msg);
    CHECK(a.code == grpc::StatusCode::UNAUTHENTICATED);
    CHECK_THAT(a.message, Catch::Contains("no X-Scope-OrgID header"));
    a = g.call(msg, {.metadata = {{"x-scope-orgid", "a"}, {"x-scope-orgid", "b"}}});
    CHECK(a.code == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(a.message, Catch::Contains("was given 2 times"));
    CHECK(rejected(d, "otlp_grpc", "missing_tenant") == 1);
    CHECK(rejected(d, "otlp_grpc", "bad_tenant") == 1);

    // Remote write without the header: 401.
    mg::test::http_client c("127.0.0.1", d.ingest_port());
    const auto r =
        c.request(bhttp::verb::post, "/api/v1/write", prw_body({series("x", "1")}), k_prw_headers);
    CHECK(r.status == 401);
    CHECK(rejected(d, "remote_write_v1", "missing_tenant") == 1);

    REQUIRE(backend.wait_until([&](const auto& rs) { return series_count(rs) >= 2; }));
    const auto got = by_tenant(backend.requests(), "x-scope-orgid");
    CHECK(got == std::map<std::string, std::multiset<std::string>>{
                     {"team_g", {"team_g_m/0", "team_g_m/1"}}});
}

TEST_CASE("hostile tenants get 400 with the reason, are counted, and the daemon still serves",
          "[tenant]") {
    mg::test::fake_backend backend;
    SECTION("in the header") {
        running_daemon d({"-exporter-endpoint=" + backend.url(), "-tenancy-source=header",
                          "-flush-interval=50ms"});
        const std::vector<std::pair<std::string, std::string>> cases = {
            {"X-Scope-OrgID: ..\r\n", "\"..\""},
            {"X-Scope-OrgID: /\r\n", "path separator"},
            {"X-Scope-OrgID: ../../etc/passwd\r\n", "path separator"},
            {"X-Scope-OrgID: \xff\xfe\xfd\r\n", "not valid UTF-8"},
            {"X-Scope-OrgID: team_a\r\nX-Scope-OrgID: team_b\r\n", "was given 2 times"},
            {"X-Scope-OrgID: team_a, team_b\r\n", "comma-separated"},
            {"X-Scope-OrgID: " + std::string(129, 't') + "\r\n", "at most 128"},
        };
        const auto body = prw_body({series("hostile", "1")});
        for (const auto& [header, why] : cases) {
            INFO(why);
            mg::test::http_client c("127.0.0.1", d.ingest_port());
            const auto r = c.raw(
                "POST /api/v1/write HTTP/1.1\r\nHost: x\r\n"
                "Content-Type: application/x-protobuf\r\n"
                "Content-Encoding: snappy\r\n" +
                header + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
            CHECK(r.status == 400);
            CHECK_THAT(r.body, Catch::Contains(why));
        }
        CHECK(rejected(d, "remote_write_v1", "bad_tenant") == static_cast<double>(cases.size()));
        mg::test::http_client c("127.0.0.1", d.ingest_port());
        CHECK(c.request(bhttp::verb::post, "/api/v1/write", prw_body({series("team_a_ok", "1")}),
                        with_tenant("team_a"))
                  .status == 204);
        REQUIRE(backend.wait_until([&](const auto& r) { return series_count(r) >= 1; }));
        const auto got = by_tenant(backend.requests(), "x-scope-orgid");
        CHECK(got ==
              std::map<std::string, std::multiset<std::string>>{{"team_a", {"team_a_ok/1"}}});
    }
    SECTION("in the label: NUL, 64 KiB, a path") {
        running_daemon d({"-exporter-endpoint=" + backend.url(), "-tenancy-source=label",
                          "-tenancy-label=tenant", "-flush-interval=50ms"});
        mg::test::http_client c("127.0.0.1", d.ingest_port());
        const std::vector<std::pair<std::string, std::string>> cases = {
            {std::string("a\0b", 3), "control character"},
            {std::string(64 * 1024, 't'), "65536 bytes long"},
            {"..", "\"..\""},
            {"a/b", "path separator"},
        };
        for (const auto& [tenant, why] : cases) {
            INFO(why);
            const auto r = c.request(
                bhttp::verb::post, "/api/v1/write",
                prw_body({series("ok_m", "1", "ok"), series("x", "1", tenant)}), k_prw_headers);
            CHECK(r.status == 400);
            CHECK_THAT(r.body, Catch::Contains(why));
        }
        CHECK(rejected(d, "remote_write_v1", "bad_tenant") == static_cast<double>(cases.size()));
        CHECK(c.request(bhttp::verb::post, "/api/v1/write",
                        prw_body({series("team_b_ok", "1", "team_b")}), k_prw_headers)
                  .status == 204);
        REQUIRE(backend.wait_until([&](const auto& r) { return series_count(r) >= 1; }));
        const auto got = by_tenant(backend.requests(), "x-scope-orgid");
        // Nothing of a refused request went anywhere.
        CHECK(got ==
              std::map<std::string, std::multiset<std::string>>{{"team_b", {"team_b_ok/1"}}});
    }
}

TEST_CASE("tenancy off: no tenant header upstream, whatever the sender sent", "[tenant]") {
    mg::test::fake_backend backend;
    running_daemon d({"-exporter-endpoint=" + backend.url(), "-flush-interval=50ms"});
    mg::test::http_client c("127.0.0.1", d.ingest_port());
    REQUIRE(c.request(bhttp::verb::post, "/api/v1/write", prw_body({series("m", "1")}),
                      with_tenant(".."))
                .status == 204);
    REQUIRE(backend.wait_until([&](const auto& r) { return series_count(r) >= 1; }));
    for (const auto& r : backend.requests()) CHECK(r.header("x-scope-orgid").empty());
}
