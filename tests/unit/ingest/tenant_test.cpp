// Tenant resolution of ingest requests (ingest/tenant.h): each source, the default tenant, refusal
// with require_tenant, every hostile tenant, and the governor's name for the default tenant.
#include "ingest/tenant.h"

#include <catch2/catch.hpp>
#include <initializer_list>
#include <string>
#include <vector>

#include "protocol/remote_write.h"
#include "protocol/remote_write_builder.h"

namespace {

namespace pr = mg::protocol;
using mg::ingest::request_tenants;
using mg::ingest::tenancy_options;
using mg::ingest::tenant_outcome;
using mg::ingest::tenant_resolver;
using mg::ingest::tenant_source;
using kind = tenant_outcome::kind;

// A decoded remote-write request: one series per entry, {__name__=name} plus `tenant=value`
// when value is not null.
struct decoded {
    explicit decoded(std::initializer_list<std::pair<std::string, const char*>> series) {
        std::vector<pr::owned_timeseries> ts;
        for (const auto& [name, tenant] : series) {
            pr::owned_timeseries t;
            t.labels = {{"__name__", name}, {"job", "j"}};
            if (tenant != nullptr) t.labels.push_back({"tenant", tenant});
            t.samples = {{1.0, 1000}};
            ts.push_back(std::move(t));
        }
        pr::encode_remote_write_v1(ts, {}, body);
        REQUIRE(pr::decode_remote_write_v1(pr::bytes_view(body.data(), body.size()), batch).ok());
    }
    std::string body;
    pr::series_batch batch;
};

tenancy_options with(tenant_source s) {
    tenancy_options o;
    o.source = s;
    o.label = "tenant";
    return o;
}

tenant_outcome from_header(const tenant_resolver& r, std::vector<std::string_view> values,
                           request_tenants& out) {
    const decoded d({{"m", nullptr}});
    return r.resolve(values, d.batch, out);
}

}  // namespace

TEST_CASE("tenancy off: no tenant, whatever the request carries", "[ingest][tenant]") {
    const tenant_resolver r(tenancy_options{});
    CHECK_FALSE(r.enabled());
    CHECK(r.metadata_key().empty());
    const decoded d({{"m", "team-a"}});
    request_tenants out;
    out.single = "stale";
    const std::vector<std::string_view> values = {"team-b"};
    CHECK(r.resolve(values, d.batch, out).ok());
    CHECK(out.single.empty());
    CHECK(out.of.empty());
    CHECK(out.of_series(0).empty());
}

TEST_CASE("source header: the header's value, the default tenant without one", "[ingest][tenant]") {
    auto o = with(tenant_source::header);
    o.header = "X-Scope-OrgID";
    const tenant_resolver r(o);
    CHECK(r.metadata_key() == "x-scope-orgid");
    request_tenants out;
    CHECK(from_header(r, {"team-a"}, out).ok());
    CHECK(out.single == "team-a");
    CHECK(out.of_series(0) == "team-a");
    CHECK(r.governor_name(out.single) == "team-a");
    // Surrounding white space is not part of it.
    CHECK(from_header(r, {" team-b\t"}, out).ok());
    CHECK(out.single == "team-b");
    // None, or an empty value: the default tenant, "" for the governor.
    CHECK(from_header(r, {}, out).ok());
    CHECK(out.single == "default");
    CHECK(r.governor_name(out.single).empty());
    CHECK(from_header(r, {""}, out).ok());
    CHECK(out.single == "default");
}

TEST_CASE("source header with require_tenant: a request without it is missing (401)",
          "[ingest][tenant]") {
    auto o = with(tenant_source::header);
    o.require_tenant = true;
    const tenant_resolver r(o);
    request_tenants out;
    for (const auto& values :
         {std::vector<std::string_view>{}, std::vector<std::string_view>{"  "}}) {
        const auto t = from_header(r, values, out);
        CHECK(t.k == kind::missing);
        CHECK(t.header);
        CHECK(t.reason() == "missing_tenant");
        CHECK_THAT(t.message, Catch::Contains("no X-Scope-OrgID header"));
    }
    CHECK(from_header(r, {"team-a"}, out).ok());
}

TEST_CASE("source header: hostile values are bad tenants (400)", "[ingest][tenant]") {
    const tenant_resolver r(with(tenant_source::header));
    request_tenants out;
    const auto bad = [&](std::vector<std::string_view> values, const std::string& why) {
        const auto t = from_header(r, std::move(values), out);
        CHECK(t.k == kind::bad);
        CHECK(t.reason() == "bad_tenant");
        CHECK_THAT(t.message, Catch::Contains(why));
    };
    bad({"a", "b"}, "was given 2 times");
    bad({"a", "a"}, "was given 2 times");
    bad({"a,b"}, "several comma-separated values");
    bad({".."}, "\"..\"");
    bad({"/"}, "path separator");
    bad({"../../etc"}, "path separator");
    const std::string nul("a\0b", 3);
    bad({nul}, "control character");
    const std::string big(64 * 1024, 't');
    bad({big}, "65536 bytes long; at most 128");
    bad({"\xff\xfe"}, "not valid UTF-8");
}

TEST_CASE("source fixed: the default tenant for everything", "[ingest][tenant]") {
    auto o = with(tenant_source::fixed);
    o.default_tenant = "edge-1";
    const tenant_resolver r(o);
    request_tenants out;
    CHECK(from_header(r, {"team-a"}, out).ok());  // the header is not looked at
    CHECK(out.single == "edge-1");
    CHECK(r.governor_name(out.single).empty());
}

TEST_CASE("source label: each series' tenant, the default tenant without the label",
          "[ingest][tenant]") {
    const tenant_resolver r(with(tenant_source::label));
    CHECK(r.metadata_key().empty());
    const decoded d({{"a", "team-a"}, {"b", "team-b"}, {"c", nullptr}, {"d", ""}, {"e", "team-a"}});
    request_tenants out;
    REQUIRE(r.resolve({}, d.batch, out).ok());
    REQUIRE(out.of.size() == d.batch.size());
    // The batch's order is the request's.
    std::vector<std::string> got;
    for (std::size_t i = 0; i < d.batch.size(); ++i) got.emplace_back(out.of_series(i));
    CHECK(got == std::vector<std::string>{"team-a", "team-b", "default", "default", "team-a"});
    CHECK(r.governor_name(out.of[2]).empty());
    CHECK(r.governor_name(out.of[0]) == "team-a");
}

TEST_CASE("source label with require_tenant: a series without the label is missing (400)",
          "[ingest][tenant]") {
    auto o = with(tenant_source::label);
    o.require_tenant = true;
    const tenant_resolver r(o);
    const decoded d({{"a", "team-a"}, {"lonely_metric", nullptr}});
    request_tenants out;
    const auto t = r.resolve({}, d.batch, out);
    CHECK(t.k == kind::missing);
    CHECK_FALSE(t.header);
    CHECK_THAT(t.message, Catch::Contains("lonely_metric has no label tenant"));
}

TEST_CASE("source label: a hostile label value refuses the request", "[ingest][tenant]") {
    auto o = with(tenant_source::label);
    o.max_tenant_length = 16;
    const tenant_resolver r(o);
    for (const char* bad : {"..", "a/b", "this-is-much-too-long-a-tenant"}) {
        INFO(bad);
        const decoded d({{"a", "team-a"}, {"b", bad}});
        request_tenants out;
        const auto t = r.resolve({}, d.batch, out);
        CHECK(t.k == kind::bad);
        CHECK_THAT(t.message, Catch::Contains("label tenant of a series of b"));
    }
}
