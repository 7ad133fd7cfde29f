#include "limits/cardinality_stats.h"

#include <prometheus/text_serializer.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "limits/limits_file.h"
#include "shared/route_get.h"

namespace lim = mg::limits;
namespace h = mg::http;
using mg::test::route_get;

namespace {

void feed(lim::governor& g, const std::string& metric, int n) {
    std::vector<std::string> values;
    for (int i = 0; i < n; ++i) values.push_back(std::to_string(i));
    std::vector<std::array<mg::cardinality::label_view, 1>> labels(values.size());
    std::vector<lim::series_ref> refs;
    for (std::size_t i = 0; i < values.size(); ++i) {
        labels[i][0] = {"id", values[i]};
        refs.push_back({metric, {}, labels[i], 2});
    }
    std::vector<lim::decision> out(refs.size());
    g.decide(refs, out);
}

}  // namespace

TEST_CASE("the collector exports only the top-N metrics and the totals", "[cardinality_stats]") {
    mg::fake_clock clock;
    auto g = std::make_shared<lim::governor>(lim::governor_options{}, clock, nullptr);
    auto f = lim::parse_limits_yaml("defaults:\n  max_cardinality: 40\n", "t");
    REQUIRE(f.ok());
    g->set_limits(std::make_shared<lim::limits_file>(std::move(*f)));
    feed(*g, "big", 30);
    feed(*g, "mid", 20);
    feed(*g, "small", 10);
    lim::cardinality_collector c(g, 2);
    const auto text = prometheus::TextSerializer().Serialize(c.Collect());
    CHECK(text.find(R"(metrics_governor_metric_cardinality{metric_name="big"} 30)") !=
          std::string::npos);
    CHECK(text.find(R"(metrics_governor_metric_cardinality{metric_name="mid"} 20)") !=
          std::string::npos);
    CHECK(text.find(R"(metric_name="small")") == std::string::npos);
    CHECK(text.find("metrics_governor_active_series 60") != std::string::npos);
    CHECK(text.find("metrics_governor_trackers_total 3") != std::string::npos);
    CHECK(text.find(R"(metrics_governor_limit_utilization_ratio{rule="default"} 0.75)") !=
          std::string::npos);
    CHECK(text.find("metrics_governor_tracker_memory_bytes ") != std::string::npos);
}

TEST_CASE("/api/v1/cardinality answers in the tsdb-status shape", "[cardinality_stats]") {
    mg::fake_clock clock;
    auto g = std::make_shared<lim::governor>(lim::governor_options{}, clock, nullptr);
    auto f = lim::parse_limits_yaml(
        "rules:\n  - name: cap\n    match: {metric_name: big}\n    max_cardinality: 25\n", "t");
    REQUIRE(f.ok());
    g->set_limits(std::make_shared<lim::limits_file>(std::move(*f)));
    feed(*g, "big", 30);
    feed(*g, "small", 10);
    h::router r;
    lim::add_cardinality_routes(r, g, 100);

    auto res = route_get(r, "/api/v1/cardinality?limit=1");
    REQUIRE(res.result() == h::bhttp::status::ok);
    auto j = nlohmann::json::parse(res.body());
    CHECK(j["status"] == "success");
    CHECK(j["data"]["totalSeries"] == 35);
    REQUIRE(j["data"]["seriesCountByMetricName"].size() == 1);
    const auto& top = j["data"]["seriesCountByMetricName"][0];
    CHECK(top["name"] == "big");
    CHECK(top["value"] == 25);
    CHECK(top["limit"] == 25);
    CHECK(top["rule"] == "cap");
    CHECK(top["droppedSeries"] == 5);
    CHECK(top["droppedDatapoints"] == 10);

    res = route_get(r, "/api/v1/cardinality?metric=small");
    j = nlohmann::json::parse(res.body());
    CHECK(j["data"]["metric"]["value"] == 10);
    REQUIRE(j["data"]["labelValueCountByLabelName"].size() == 1);
    CHECK(j["data"]["labelValueCountByLabelName"][0]["name"] == "id");
    CHECK(j["data"]["labelValueCountByLabelName"][0]["value"] == 10);

    CHECK(route_get(r, "/api/v1/cardinality?limit=abc").result() == h::bhttp::status::bad_request);
    CHECK(route_get(r, "/api/v1/cardinality?limit=0").result() == h::bhttp::status::bad_request);
    CHECK(route_get(r, "/api/v1/cardinality?metric=nope").result() == h::bhttp::status::not_found);
}
