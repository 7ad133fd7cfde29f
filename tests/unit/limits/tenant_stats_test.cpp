// The stats API and the collector with tenants: /api/v1/cardinality?tenant=, /api/v1/tenants and
// metrics_governor_tenant_active_series with its bounded label.
#include <prometheus/text_serializer.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "limits/cardinality_stats.h"
#include "limits/limits_file.h"
#include "shared/route_get.h"

namespace lim = mg::limits;
namespace h = mg::http;
using mg::test::route_get;

namespace {

void feed(lim::governor& g, const std::string& tenant, const std::string& metric, int n) {
    std::vector<std::string> values;
    for (int i = 0; i < n; ++i) values.push_back(std::to_string(i));
    std::vector<std::array<mg::cardinality::label_view, 1>> labels(values.size());
    std::vector<lim::series_ref> refs;
    for (std::size_t i = 0; i < values.size(); ++i) {
        labels[i][0] = {"id", values[i]};
        lim::series_ref r;
        r.metric_name = metric;
        r.tenant = tenant;
        r.labels = labels[i];
        refs.push_back(r);
    }
    std::vector<lim::decision> out(refs.size());
    g.decide(refs, out);
}

std::shared_ptr<lim::governor> governor_with_tenants(mg::fake_clock& clock,
                                                     lim::governor_options o = {}) {
    auto g = std::make_shared<lim::governor>(std::move(o), clock, nullptr);
    auto f =
        lim::parse_limits_yaml("tenants:\n  a: {max_series: 4}\n  idle: {max_series: 9}\n", "t");
    REQUIRE(f.ok());
    g->set_limits(std::make_shared<lim::limits_file>(std::move(*f)));
    return g;
}

}  // namespace

TEST_CASE("/api/v1/cardinality?tenant= scopes the answer to a tenant",
          "[cardinality_stats][tenant]") {
    mg::fake_clock clock;
    auto g = governor_with_tenants(clock);
    feed(*g, "a", "m", 10);
    feed(*g, "", "m", 7);
    feed(*g, "", "only_default", 2);
    h::router r;
    lim::add_cardinality_routes(r, g, 100);

    auto res = route_get(r, "/api/v1/cardinality?tenant=a");
    REQUIRE(res.result() == h::bhttp::status::ok);
    auto j = nlohmann::json::parse(res.body());
    CHECK(j["data"]["totalSeries"] == 4);
    CHECK(j["data"]["tenant"]["name"] == "a");
    CHECK(j["data"]["tenant"]["maxSeries"] == 4);
    CHECK(j["data"]["tenant"]["droppedSeries"] == 6);
    REQUIRE(j["data"]["seriesCountByMetricName"].size() == 1);
    CHECK(j["data"]["seriesCountByMetricName"][0]["value"] == 4);

    res = route_get(r, "/api/v1/cardinality?tenant=a&metric=m");
    j = nlohmann::json::parse(res.body());
    CHECK(j["data"]["metric"]["value"] == 4);
    CHECK(route_get(r, "/api/v1/cardinality?tenant=a&metric=only_default").result() ==
          h::bhttp::status::not_found);

    // The default tenant: no parameter (as without tenancy), by name, or empty.
    for (const auto* target : {"/api/v1/cardinality", "/api/v1/cardinality?tenant=default",
                               "/api/v1/cardinality?tenant="}) {
        INFO(target);
        j = nlohmann::json::parse(route_get(r, target).body());
        REQUIRE(j["data"]["seriesCountByMetricName"].size() == 2);
        CHECK(j["data"]["seriesCountByMetricName"][0]["name"] == "m");
        CHECK(j["data"]["seriesCountByMetricName"][0]["value"] == 7);
    }
    // Listed in the limits file but without series: known, empty.
    res = route_get(r, "/api/v1/cardinality?tenant=idle");
    REQUIRE(res.result() == h::bhttp::status::ok);
    CHECK(nlohmann::json::parse(res.body())["data"]["seriesCountByMetricName"].empty());

    res = route_get(r, "/api/v1/cardinality?tenant=nobody");
    CHECK(res.result() == h::bhttp::status::not_found);
    j = nlohmann::json::parse(res.body());
    CHECK(j["status"] == "error");
    CHECK_THAT(j["error"].get<std::string>(), Catch::Contains("no tenant \"nobody\""));
    // A hostile name gets a clean JSON error, not an exception.
    res = route_get(r, "/api/v1/cardinality?tenant=%ff%00..%2F");
    CHECK(res.result() == h::bhttp::status::not_found);
    CHECK_NOTHROW(nlohmann::json::parse(res.body()));
}

TEST_CASE("/api/v1/tenants lists tenants with series, cap and drops",
          "[cardinality_stats][tenant]") {
    mg::fake_clock clock;
    auto g = governor_with_tenants(clock);
    feed(*g, "a", "m", 10);
    feed(*g, "b", "m", 3);
    feed(*g, "b", "n", 3);
    feed(*g, "", "m", 1);
    h::router r;
    lim::add_cardinality_routes(r, g, 100);
    const auto res = route_get(r, "/api/v1/tenants");
    REQUIRE(res.result() == h::bhttp::status::ok);
    const auto j = nlohmann::json::parse(res.body());
    const auto& t = j["data"]["tenants"];
    REQUIRE(t.size() == 4);
    CHECK(t[0]["name"] == "default");
    CHECK(t[0]["default"] == true);
    CHECK(t[0]["activeSeries"] == 1);
    CHECK(t[1]["name"] == "b");
    CHECK(t[1]["activeSeries"] == 6);
    CHECK(t[1]["metrics"] == 2);
    CHECK(t[1]["maxSeries"] == 0);
    CHECK(t[2]["name"] == "a");
    CHECK(t[2]["activeSeries"] == 4);
    CHECK(t[2]["droppedSeries"] == 6);
    CHECK(t[2]["droppedDatapoints"] == 6);
    CHECK(t[3]["name"] == "idle");
    CHECK(t[3]["activeSeries"] == 0);
    CHECK(t[3]["maxSeries"] == 9);
}

TEST_CASE("tenant_active_series is bounded by the tenant label bound",
          "[cardinality_stats][tenant]") {
    mg::fake_clock clock;
    lim::governor_options o;
    o.max_tenants_in_metrics = 2;
    auto g = std::make_shared<lim::governor>(o, clock, nullptr);
    for (int t = 0; t < 30; ++t) feed(*g, "t" + std::to_string(t), "m", t + 1);
    feed(*g, "", "m", 100);
    lim::cardinality_collector c(g, 10);
    const auto text = prometheus::TextSerializer().Serialize(c.Collect());
    // The default tenant and the largest tenant come first (sorted), the other 29 add up.
    CHECK(text.find("metrics_governor_tenant_active_series{tenant=\"default\"} 100") !=
          std::string::npos);
    CHECK(text.find("metrics_governor_tenant_active_series{tenant=\"t29\"} 30") !=
          std::string::npos);
    CHECK(text.find("metrics_governor_tenant_active_series{tenant=\"__other__\"} 435") !=
          std::string::npos);
    std::size_t rows = 0;
    for (std::size_t at = 0;
         (at = text.find("metrics_governor_tenant_active_series{", at)) != std::string::npos; ++at)
        ++rows;
    CHECK(rows == 3);
    // The per-metric gauge stays the default tenant's: one metric_name row, no duplicates.
    CHECK(text.find("metrics_governor_metric_cardinality{metric_name=\"m\"} 100") !=
          std::string::npos);
}
