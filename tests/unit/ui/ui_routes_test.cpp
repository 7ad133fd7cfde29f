#include "ui/ui_routes.h"

#include <prometheus/counter.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "limits/limits_file.h"
#include "shared/route_get.h"
#include "ui/history_sampler.h"
#include "ui/ui_assets.h"

namespace ui = mg::ui;
namespace lim = mg::limits;
namespace h = mg::http;
using mg::test::route_get;

namespace {

nlohmann::json data_of(const h::response& res) {
    return nlohmann::json::parse(res.body()).at("data");
}

}  // namespace

TEST_CASE("/ui serves the embedded page with a strict content security policy", "[ui][routes]") {
    h::router r;
    ui::add_ui_routes(r, {std::make_shared<ui::cardinality_history>(ui::history_options{}), {}, 0});
    for (const std::string path : {"/ui", "/ui/"}) {
        const auto res = route_get(r, path);
        CHECK(res.result() == h::bhttp::status::ok);
        CHECK(res[h::bhttp::field::content_type] == "text/html; charset=utf-8");
        CHECK(res.body().find("<script src=\"/ui/app.js\"") != std::string::npos);
        CHECK(res["Content-Security-Policy"].find("script-src 'self'") != std::string::npos);
        CHECK(res["X-Content-Type-Options"] == "nosniff");
    }
    CHECK(route_get(r, "/ui/app.js")[h::bhttp::field::content_type] ==
          "text/javascript; charset=utf-8");
    CHECK(route_get(r, "/ui/app.css")[h::bhttp::field::content_type] == "text/css; charset=utf-8");
    CHECK(route_get(r, "/ui/nothing.js").result() == h::bhttp::status::not_found);
    const auto paths = ui::ui_paths();
    CHECK(std::find(paths.begin(), paths.end(), "/ui") != paths.end());
    CHECK(std::find(paths.begin(), paths.end(), "/ui/app.js") != paths.end());
}

TEST_CASE("the page's script never writes data as HTML and loads nothing from outside",
          "[ui][routes]") {
    bool found = false;
    for (const auto& a : ui::embedded_assets()) {
        INFO(a.name);
        CHECK(a.body.find("innerHTML") == std::string_view::npos);
        CHECK(a.body.find("outerHTML") == std::string_view::npos);
        CHECK(a.body.find("insertAdjacentHTML") == std::string_view::npos);
        CHECK(a.body.find("document.write") == std::string_view::npos);
        CHECK(a.body.find("eval(") == std::string_view::npos);
        CHECK(a.body.find("https://") == std::string_view::npos);
        found = found || a.name == "app.js";
    }
    CHECK(found);
}

TEST_CASE("/api/v1/cardinality/history answers the ring as JSON", "[ui][routes]") {
    mg::fake_clock clock;
    auto registry = std::make_shared<prometheus::Registry>();
    auto g = std::make_shared<lim::governor>(lim::governor_options{}, clock, registry);
    auto f = lim::parse_limits_yaml(
        "rules:\n  - name: cap\n    match:\n      metric_name: boom\n    max_cardinality: 3\n",
        "t");
    REQUIRE(f.ok());
    g->set_limits(std::make_shared<lim::limits_file>(std::move(*f)));
    auto history = std::make_shared<ui::cardinality_history>(ui::history_options{});
    auto samples = std::make_shared<ui::drop_samples>(10, clock, std::chrono::nanoseconds(0));
    g->set_drop_observer(samples);

    auto feed = [&](int from, int to) {
        std::vector<std::string> values;
        for (int i = from; i < to; ++i) values.push_back(std::to_string(i));
        std::vector<std::array<mg::cardinality::label_view, 1>> labels(values.size());
        std::vector<lim::series_ref> refs;
        for (std::size_t i = 0; i < values.size(); ++i) {
            labels[i][0] = {"id", values[i]};
            refs.push_back({"boom", {}, labels[i]});
        }
        std::vector<lim::decision> out(refs.size());
        g->decide(refs, out);
    };
    // The receivers count what they received; the governor what it dropped.
    auto& received = prometheus::BuildCounter()
                         .Name("metrics_governor_series_received_total")
                         .Help("t")
                         .Register(*registry)
                         .Add({{"protocol", "prw"}});
    history->record(ui::sample_governor(*g, registry.get(), 1000, clock));
    feed(0, 10);
    received.Increment(10);
    clock.advance(std::chrono::seconds(10));
    history->record(ui::sample_governor(*g, registry.get(), 1000, clock));

    h::router r;
    ui::add_ui_routes(r, {history, samples, 500});
    auto d = data_of(route_get(r, "/api/v1/cardinality/history"));
    CHECK(d["intervalSeconds"] == 15);
    CHECK(d["capacity"] == 240);
    CHECK(d["maxSeries"] == 500);
    CHECK(d["timestamps"].size() == 2);
    CHECK(d["totalSeries"] == nlohmann::json::array({0, 3}));
    CHECK(d["keptPerSecond"][1].get<double>() == Approx(0.3));
    CHECK(d["droppedPerSecond"]["cardinality_limit"][1].get<double>() == Approx(0.7));
    REQUIRE(d["metrics"].size() == 1);
    CHECK(d["metrics"][0]["name"] == "boom");
    CHECK(d["metrics"][0]["activeSeries"] == nlohmann::json::parse("[null,3]"));
    CHECK(d["metrics"][0]["droppedSeries"] == nlohmann::json::parse("[0,7]"));
    CHECK(d["droppedSamplesEnabled"] == true);
    CHECK_FALSE(d.contains("metric"));

    d = data_of(route_get(r, "/api/v1/cardinality/history?metric=boom"));
    CHECK(d["metric"]["droppedSeries"]["cardinality_limit"] == nlohmann::json::parse("[0,7]"));
    REQUIRE(d["droppedSamples"].size() == 7);
    CHECK(d["droppedSamples"][0]["labels"][0]["value"] == "9");
    CHECK(d["droppedSamples"][0]["reason"] == "cardinality_limit");

    d = data_of(route_get(r, "/api/v1/cardinality/history?metric=unknown"));
    CHECK(d["metric"].is_null());
    CHECK(d["droppedSamples"].empty());

    const auto bad = route_get(r, "/api/v1/cardinality/history?limit=x");
    CHECK(bad.result() == h::bhttp::status::bad_request);

    // Off: no samples collected, none answered.
    h::router off;
    ui::add_ui_routes(off, {history, nullptr, 0});
    d = data_of(route_get(off, "/api/v1/cardinality/history?metric=boom"));
    CHECK(d["droppedSamplesEnabled"] == false);
    CHECK_FALSE(d.contains("droppedSamples"));
}

TEST_CASE("/api/v1/cardinality/history?tenant= answers one tenant's metrics",
          "[ui][routes][tenants]") {
    mg::fake_clock clock;
    auto g = std::make_shared<lim::governor>(lim::governor_options{}, clock, nullptr);
    auto f = lim::parse_limits_yaml(
        "rules:\n  - name: cap\n    match:\n      metric_name: boom\n    max_cardinality: 2\n",
        "t");
    REQUIRE(f.ok());
    g->set_limits(std::make_shared<lim::limits_file>(std::move(*f)));
    auto history = std::make_shared<ui::cardinality_history>(ui::history_options{});
    auto samples = std::make_shared<ui::drop_samples>(100, clock, std::chrono::nanoseconds(0));
    g->set_drop_observer(samples);
    auto feed = [&](std::string_view tenant, std::string_view metric, int n) {
        std::vector<std::string> values;
        for (int i = 0; i < n; ++i) values.push_back(std::to_string(i));
        std::vector<std::array<mg::cardinality::label_view, 1>> labels(values.size());
        std::vector<lim::series_ref> refs;
        for (std::size_t i = 0; i < values.size(); ++i) {
            labels[i][0] = {"id", values[i]};
            refs.push_back({metric, tenant, labels[i]});
        }
        std::vector<lim::decision> out(refs.size());
        g->decide(refs, out);
    };
    feed("", "boom", 5);  // 2 kept, 3 dropped
    feed("team-a", "boom", 4);
    feed("team-a", "only_a", 7);
    history->record(ui::sample_governor(*g, nullptr, 1000, clock));

    h::router r;
    ui::add_ui_routes(r, {history, samples, 0, "main"});
    auto names = [](const nlohmann::json& d) {
        std::vector<std::string> out;
        for (const auto& m : d["metrics"]) out.push_back(m["name"]);
        return out;
    };
    auto d = data_of(route_get(r, "/api/v1/cardinality/history"));
    CHECK(names(d) == std::vector<std::string>{"boom"});
    CHECK(d["metrics"][0]["activeSeries"] == nlohmann::json::parse("[2]"));
    CHECK_FALSE(d.contains("tenant"));

    d = data_of(route_get(r, "/api/v1/cardinality/history?tenant=team-a&metric=boom"));
    CHECK(d["tenant"] == "team-a");
    CHECK(d["tenantSeries"] == nlohmann::json::parse("[9]"));  // boom 2 + only_a 7
    CHECK(d["totalSeries"] == nlohmann::json::parse("[11]"));  // every tenant
    CHECK(names(d) == std::vector<std::string>{"only_a", "boom"});
    CHECK(d["metrics"][1]["activeSeries"] == nlohmann::json::parse("[2]"));
    CHECK(d["metrics"][1]["droppedSeries"] == nlohmann::json::parse("[2]"));
    CHECK(d["metric"]["activeSeries"] == nlohmann::json::parse("[2]"));
    CHECK(d["droppedSamples"].size() == 2);  // team-a's drops of boom only
    // The default tenant by its name, or empty.
    for (const char* q : {"?tenant=main&metric=boom", "?tenant=&metric=boom"}) {
        d = data_of(route_get(r, std::string("/api/v1/cardinality/history") + q));
        CHECK(d["tenant"] == "main");
        CHECK(d["tenantSeries"] == nlohmann::json::parse("[2]"));
        CHECK(names(d) == std::vector<std::string>{"boom"});
        CHECK(d["droppedSamples"].size() == 3);
    }
    // A tenant the ring has no sample of has no metrics; its name is data, escaped as JSON.
    d = data_of(route_get(r, "/api/v1/cardinality/history?tenant=%3Cscript%3E&metric=boom"));
    CHECK(d["tenant"] == "<script>");
    CHECK(d["tenantSeries"] == nlohmann::json::parse("[null]"));
    CHECK(d["metrics"].empty());
    CHECK(d["metric"].is_null());
    CHECK(d["droppedSamples"].empty());
}
