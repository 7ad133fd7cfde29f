#include "telemetry/stats_endpoints.h"

#include <prometheus/counter.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "shared/route_get.h"
#include "telemetry/process_collector.h"

namespace t = mg::telemetry;
namespace h = mg::http;
using mg::test::route_get;

TEST_CASE("/metrics renders the registry and the collectables", "[telemetry]") {
    auto registry = std::make_shared<prometheus::Registry>();
    auto& family =
        prometheus::BuildCounter().Name("mg_test_total").Help("test").Register(*registry);
    family.Add({{"k", "v"}}).Increment(3);
    auto state = std::make_shared<t::health>();
    h::router r;
    t::add_stats_routes(r, {registry,
                            {std::make_shared<t::process_collector>(t::build_info{"v", "c", "b"})},
                            state,
                            "v"});
    const auto res = route_get(r, "/metrics");
    CHECK(res.result() == h::bhttp::status::ok);
    CHECK(res.body().find("mg_test_total{k=\"v\"} 3") != std::string::npos);
    CHECK(res.body().find("# TYPE process_cpu_seconds_total counter") != std::string::npos);
}

TEST_CASE("/ready follows the lifecycle, /live stays up", "[telemetry]") {
    auto state = std::make_shared<t::health>();
    h::router r;
    t::add_stats_routes(r, {std::make_shared<prometheus::Registry>(), {}, state, "v"});

    CHECK(route_get(r, "/ready").result() == h::bhttp::status::service_unavailable);
    CHECK(nlohmann::json::parse(route_get(r, "/ready").body())["status"] == "starting");
    CHECK(route_get(r, "/live").result() == h::bhttp::status::ok);

    state->set(t::health::phase::ready);
    CHECK(route_get(r, "/ready").result() == h::bhttp::status::ok);
    CHECK(nlohmann::json::parse(route_get(r, "/ready").body())["status"] == "up");

    state->set(t::health::phase::stopping);
    CHECK(route_get(r, "/ready").result() == h::bhttp::status::service_unavailable);
    CHECK(nlohmann::json::parse(route_get(r, "/ready").body())["status"] == "shutting_down");
    const auto live = route_get(r, "/live");
    CHECK(live.result() == h::bhttp::status::ok);
    CHECK(nlohmann::json::parse(live.body())["status"] == "up");
}
