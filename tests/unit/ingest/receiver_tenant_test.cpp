// The receiver with tenancy on (ingest/tenant.h), against the fake ports: each request's tenant
// reaches the governor (series_ref::tenant, "" for the default tenant) and the exporter (the
// payload's tenant); a request of several tenants is never forwarded raw; refusals (401, 400)
// admit nothing and are counted.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "receiver_fixture.h"

using namespace mg::test::receiver_fixture;
using mg::ingest::tenancy_options;
using mg::ingest::tenant_source;

namespace {

tenancy_options header_source(bool require = false) {
    tenancy_options t;
    t.source = tenant_source::header;
    t.require_tenant = require;
    return t;
}

tenancy_options label_source() {
    tenancy_options t;
    t.source = tenant_source::label;
    t.label = "tenant";
    return t;
}

// Remote write 1.0 (snappy): one series per (name, tenant label value; null: no label).
std::string labelled(const std::vector<std::pair<std::string, const char*>>& series) {
    std::vector<pr::owned_timeseries> ts;
    for (const auto& [name, tenant] : series) {
        pr::owned_timeseries t;
        t.labels = {{"__name__", name}};
        if (tenant != nullptr) t.labels.push_back({"tenant", tenant});
        t.samples = {{1.0, 1000}};
        ts.push_back(std::move(t));
    }
    std::string raw;
    pr::encode_remote_write_v1(ts, {}, raw);
    return snappy(raw);
}

double rejected(fixture& f, const std::string& protocol, const std::string& reason) {
    return f.metric("metrics_governor_requests_rejected_total",
                    {{"protocol", protocol}, {"reason", reason}});
}

}  // namespace

TEST_CASE("tenancy off: no tenant reaches the governor or the exporter", "[ingest][tenant]") {
    fixture f;
    f.exporter.forward_raw = true;
    auto req = rw_post(snappy(remote_write({"a"})));
    req.set("X-Scope-OrgID", "team-a");  // ignored
    CHECK(f.receiver.handle_remote_write(req).result() == bhttp::status::no_content);
    CHECK(f.governor.decided_tenants == std::vector<std::string>{""});
    CHECK(f.exporter.raw_tenants == std::vector<std::string>{""});
}

TEST_CASE("source header: the tenant reaches the governor and the raw forward",
          "[ingest][tenant]") {
    fixture f(header_source());
    f.exporter.forward_raw = true;
    auto req = rw_post(snappy(remote_write({"a", "b"})));
    req.set("X-Scope-OrgID", "team-a");
    CHECK(f.receiver.handle_remote_write(req).result() == bhttp::status::no_content);
    CHECK(f.governor.decided_tenants == std::vector<std::string>{"team-a", "team-a"});
    CHECK(f.exporter.raw_tenants == std::vector<std::string>{"team-a"});

    // Without the header: the default tenant, "" for the governor, its name for the backend.
    f.governor.decided_tenants.clear();
    f.governor.drop = {"b"};  // through submit
    CHECK(f.receiver.handle_remote_write(rw_post(snappy(remote_write({"a", "b"})))).result() ==
          bhttp::status::no_content);
    CHECK(f.governor.decided_tenants == std::vector<std::string>{"", ""});
    CHECK(f.exporter.submitted_tenants == std::vector<std::string>{"default"});
    CHECK(f.exporter.tenant_names == 1);
}

TEST_CASE("source header over OTLP/HTTP and the gRPC core", "[ingest][tenant]") {
    fixture f(header_source());
    auto req = post("/v1/metrics", "application/x-protobuf", "", otlp({"a"}, false));
    req.set("x-scope-orgid", "team-o");  // header names are case-insensitive
    CHECK(f.receiver.handle_otlp(req).result() == bhttp::status::ok);
    CHECK(f.governor.decided_tenants == std::vector<std::string>{"team-o"});
    CHECK(f.exporter.submitted_tenants == std::vector<std::string>{"team-o"});

    const auto body = otlp({"g"}, false);
    const std::vector<std::string_view> pieces = {body};
    const std::vector<std::string_view> values = {"team-g"};
    mg::ingest::otlp_result got;
    f.receiver.export_otlp(
        pieces, false, [&](mg::ingest::otlp_result r) { got = std::move(r); }, values);
    CHECK(got.k == mg::ingest::otlp_result::kind::accepted);
    CHECK(f.governor.decided_tenants.back() == "team-g");
    CHECK(f.exporter.submitted_tenants == std::vector<std::string>{"team-g"});
}

TEST_CASE("require_tenant: a request without the header is 401 (gRPC: no_tenant), counted",
          "[ingest][tenant]") {
    fixture f(header_source(true));
    const auto res = f.receiver.handle_remote_write(rw_post(snappy(remote_write({"a"}))));
    CHECK(res.result() == bhttp::status::unauthorized);
    CHECK_THAT(res.body(), Catch::Contains("no X-Scope-OrgID header"));
    CHECK(f.nothing_admitted());
    CHECK(rejected(f, "remote_write_v1", "missing_tenant") == 1);
    CHECK(f.requests("remote_write_v1", 401) == 1);

    CHECK(f.receiver
              .handle_otlp(post("/v1/metrics", "application/x-protobuf", "", otlp({"a"}, false)))
              .result() == bhttp::status::unauthorized);
    const auto body = otlp({"g"}, false);
    const std::vector<std::string_view> pieces = {body};
    mg::ingest::otlp_result got;
    f.receiver.export_otlp(pieces, false, [&](mg::ingest::otlp_result r) { got = std::move(r); });
    CHECK(got.k == mg::ingest::otlp_result::kind::no_tenant);
    CHECK(rejected(f, "otlp_grpc", "missing_tenant") == 1);
    CHECK(f.nothing_admitted());
}

TEST_CASE("hostile tenant headers are 400 with the reason, counted, nothing admitted",
          "[ingest][tenant]") {
    fixture f(header_source());
    const auto send = [&](const std::vector<std::string>& values) {
        auto req = rw_post(snappy(remote_write({"a"})));
        for (const auto& v : values) req.insert("X-Scope-OrgID", v);
        return f.receiver.handle_remote_write(req);
    };
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{".."}, "\"..\""},
        {{"/"}, "path separator"},
        {{std::string("a\0b", 3)}, "control character"},
        // Beast's own fields stop at 64 KiB (a 64 KiB tenant in a label: the integration test).
        {{std::string(60 * 1024, 't')}, "61440 bytes long; at most 128"},
        {{"\xff\xfe"}, "not valid UTF-8"},
        {{"team-a", "team-b"}, "was given 2 times"},
        {{"team-a,team-b"}, "comma-separated"},
    };
    for (const auto& [values, why] : cases) {
        INFO(why);
        const auto res = send(values);
        CHECK(res.result() == bhttp::status::bad_request);
        CHECK_THAT(std::string(res.body()), Catch::Contains(why));
    }
    CHECK(f.nothing_admitted());
    CHECK(rejected(f, "remote_write_v1", "bad_tenant") == static_cast<double>(cases.size()));
    // Still serving.
    auto ok = rw_post(snappy(remote_write({"a"})));
    ok.set("X-Scope-OrgID", "team-a");
    CHECK(f.receiver.handle_remote_write(ok).result() == bhttp::status::no_content);
}

TEST_CASE("source label: one request of several tenants is split per tenant, never raw",
          "[ingest][tenant]") {
    fixture f(label_source());
    f.exporter.forward_raw = true;  // asked, but several tenants cannot go as they came
    const auto res = f.receiver.handle_remote_write(
        rw_post(labelled({{"a", "team-a"}, {"b", "team-b"}, {"c", nullptr}, {"d", "team-a"}})));
    CHECK(res.result() == bhttp::status::no_content);
    CHECK(f.exporter.raw_bodies.empty());
    CHECK(f.exporter.submit_calls == 1);
    CHECK(f.exporter.tenant_names == 3);
    CHECK(f.exporter.submitted == std::vector<std::string>{"a", "b", "c", "d"});
    CHECK(f.exporter.submitted_tenants ==
          std::vector<std::string>{"team-a", "team-b", "default", "team-a"});
    CHECK(f.governor.decided_tenants == std::vector<std::string>{"team-a", "team-b", "", "team-a"});

    // All of one tenant: forwarded as it came, with that tenant.
    CHECK(f.receiver.handle_remote_write(rw_post(labelled({{"x", "team-c"}, {"y", "team-c"}})))
              .result() == bhttp::status::no_content);
    CHECK(f.exporter.raw_tenants == std::vector<std::string>{"team-c"});
}

TEST_CASE("source label: a hostile label value is 400 and counted", "[ingest][tenant]") {
    fixture f(label_source());
    const auto res = f.receiver.handle_remote_write(rw_post(labelled({{"a", ".."}})));
    CHECK(res.result() == bhttp::status::bad_request);
    CHECK_THAT(std::string(res.body()), Catch::Contains("label tenant"));
    CHECK(f.nothing_admitted());
    CHECK(rejected(f, "remote_write_v1", "bad_tenant") == 1);
}
