#include "limits/governor.h"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <catch2/catch.hpp>
#include <thread>

#include "limits/limits_file.h"
#include "limits_helpers.h"

using namespace std::chrono_literals;
namespace lim = mg::limits;
namespace card = mg::cardinality;
using mg::test::limits_from_yaml;

namespace {

// A request's series with owned strings, and the views the governor takes.
struct request {
    std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> owned;
    std::vector<std::vector<card::label_view>> labels;
    std::vector<lim::series_ref> refs;

    request& add(std::string name, std::vector<std::pair<std::string, std::string>> l,
                 std::uint64_t points = 1) {
        std::sort(l.begin(), l.end());
        owned.emplace_back(std::move(name), std::move(l));
        refs.clear();
        labels.clear();
        labels.reserve(owned.size());
        for (const auto& [n, ls] : owned) {
            auto& views = labels.emplace_back();
            for (const auto& [k, v] : ls) views.push_back({k, v});
            refs.push_back({n, {}, views, points});
        }
        return *this;
    }
};

struct fixture {
    explicit fixture(lim::governor_options o = {})
        : registry(std::make_shared<prometheus::Registry>()), g(std::move(o), clock, registry) {}
    std::vector<lim::decision> decide(const request& r) {
        std::vector<lim::decision> out(r.refs.size());
        last = g.decide(r.refs, out);
        return out;
    }
    std::string scrape() const {
        return prometheus::TextSerializer().Serialize(registry->Collect());
    }
    mg::fake_clock clock;
    std::shared_ptr<prometheus::Registry> registry;
    lim::governor g;
    lim::batch_summary last;
};

request series_of(const std::string& metric, int from, int to) {
    request r;
    for (int i = from; i < to; ++i) r.add(metric, {{"id", std::to_string(i)}, {"job", "j"}});
    return r;
}

}  // namespace

TEST_CASE("without limits every series passes and is counted per metric", "[governor]") {
    fixture f;
    auto r = series_of("a", 0, 50);
    auto more = series_of("b", 0, 20);
    for (const auto& d : f.decide(r)) CHECK(d.keep);
    for (const auto& d : f.decide(more)) CHECK(d.keep);
    f.g.refresh();
    CHECK(f.g.active_series() == 70);
    CHECK(f.g.trackers() == 2);
    const auto top = f.g.top_metrics(10);
    REQUIRE(top.size() == 2);
    CHECK(top[0].name == "a");
    CHECK(top[0].active_series == 50);
    CHECK(top[1].name == "b");
    CHECK(top[0].limit == 0);
    CHECK(f.g.top_metrics(1).size() == 1);
}

TEST_CASE("new series over max_cardinality are dropped, known ones always pass", "[governor]") {
    fixture f;
    f.g.set_limits(limits_from_yaml(
        "rules:\n  - name: small\n    match: {metric_name: m}\n    max_cardinality: 3\n"));
    auto first = series_of("m", 0, 5);
    auto d = f.decide(first);
    CHECK(d[0].keep);
    CHECK(d[1].keep);
    CHECK(d[2].keep);
    CHECK_FALSE(d[3].keep);
    CHECK(d[3].reason == lim::drop_reason::cardinality_limit);
    CHECK_FALSE(d[4].keep);
    CHECK(f.last.kept_series == 3);
    CHECK(f.last.dropped_series == 2);

    // Mixed request: known series pass, new ones are dropped, other metrics are untouched.
    request mixed;
    mixed.add("m", {{"id", "1"}, {"job", "j"}})
        .add("m", {{"id", "99"}, {"job", "j"}})
        .add("other", {{"id", "99"}});
    d = f.decide(mixed);
    CHECK(d[0].keep);
    CHECK_FALSE(d[1].keep);
    CHECK(d[2].keep);
    CHECK(f.g.metric("m")->active_series == 3);
    CHECK(f.g.metric("m")->dropped_series == 3);
    CHECK(f.g.metric("m")->rule == "small");
    CHECK(f.g.metric("m")->limit == 3);

    const auto text = f.scrape();
    CHECK(
        text.find(
            R"(metrics_governor_series_dropped_total{reason="cardinality_limit",rule="small"} 3)") !=
        std::string::npos);
    CHECK(text.find(R"(metrics_governor_datapoints_dropped_total{rule="small"} 3)") !=
          std::string::npos);
}

TEST_CASE("label order in a request never changes identity", "[governor]") {
    fixture f;
    f.g.set_limits(limits_from_yaml("defaults:\n  max_cardinality: 1\n"));
    request a;
    a.add("m", {{"a", "1"}, {"b", "2"}});
    request b;
    b.add("m", {{"b", "2"}, {"a", "1"}});  // the helper sorts, as the decoders do
    CHECK(f.decide(a)[0].keep);
    CHECK(f.decide(b)[0].keep);
}

TEST_CASE("action log keeps over-limit series but counts and tracks them", "[governor]") {
    fixture f;
    f.g.set_limits(limits_from_yaml("defaults:\n  max_cardinality: 2\n  action: log\n"));
    const auto d = f.decide(series_of("m", 0, 4));
    for (const auto& x : d) CHECK(x.keep);
    CHECK(d[2].reason == lim::drop_reason::cardinality_limit);
    CHECK(f.last.over_limit_series == 2);
    CHECK(f.g.metric("m")->active_series == 4);
    CHECK(f.g.metric("m")->dropped_series == 0);
    const auto text = f.scrape();
    CHECK(
        text.find(
            R"(metrics_governor_series_over_limit_total{action="log",reason="cardinality_limit",rule="default"} 2)") !=
        std::string::npos);
}

TEST_CASE("dry run never drops or strips, only counts", "[governor]") {
    lim::governor_options o;
    o.dry_run = true;
    o.max_series = 2;
    fixture f(o);
    f.g.set_limits(limits_from_yaml(
        "rules:\n  - name: r\n    match: {metric_name: m}\n    max_cardinality: 1\n"
        "    label_limits: {id: 1}\n    label_limit_action: strip\n"));
    const auto d = f.decide(series_of("m", 0, 5));
    for (const auto& x : d) {
        CHECK(x.keep);
        CHECK(x.strip_mask == 0);
    }
    CHECK(d[1].reason != lim::drop_reason::none);
    CHECK(f.last.dropped_series == 0);
    CHECK(f.g.metric("m")->active_series == 5);
    CHECK(f.scrape().find(R"(action="dry_run")") != std::string::npos);
}

TEST_CASE("label_limits drop series bringing a value past the limit", "[governor]") {
    fixture f;
    f.g.set_limits(limits_from_yaml(
        "rules:\n  - name: users\n    match: {metric_name: m}\n    label_limits: {user_id: 2}\n"));
    request r;
    r.add("m", {{"user_id", "a"}, {"path", "/x"}})
        .add("m", {{"user_id", "b"}, {"path", "/x"}})
        .add("m", {{"user_id", "c"}, {"path", "/x"}})  // third distinct value: dropped
        .add("m", {{"user_id", "a"}, {"path", "/y"}})  // known value, new series: passes
        .add("m", {{"path", "/z"}});                   // no user_id: not limited
    const auto d = f.decide(r);
    CHECK(d[0].keep);
    CHECK(d[1].keep);
    CHECK_FALSE(d[2].keep);
    CHECK(d[2].reason == lim::drop_reason::label_limit);
    CHECK(d[3].keep);
    CHECK(d[4].keep);
    CHECK(f.scrape().find(
              R"(metrics_governor_series_dropped_total{reason="label_limit",rule="users"} 1)") !=
          std::string::npos);
}

TEST_CASE("label_limit_action strip removes the label and tracks the stripped series",
          "[governor]") {
    fixture f;
    f.g.set_limits(limits_from_yaml(
        "rules:\n  - name: users\n    match: {metric_name: m}\n    label_limits: {user_id: 1}\n"
        "    label_limit_action: strip\n"));
    request r;
    r.add("m", {{"path", "/x"}, {"user_id", "a"}})
        .add("m", {{"path", "/x"}, {"user_id", "b"}})
        .add("m", {{"path", "/x"}, {"user_id", "c"}});
    const auto d = f.decide(r);
    CHECK(d[0].strip_mask == 0);
    CHECK(d[1].keep);
    CHECK(d[1].strip_mask == 0b10);  // labels sorted: path, user_id
    CHECK(d[2].strip_mask == 0b10);
    CHECK(f.last.stripped_series == 2);
    // m{path=/x,user_id=a} and m{path=/x}: the two stripped series are one.
    CHECK(f.g.metric("m")->active_series == 2);
}

TEST_CASE("the global -limits-max-series cap drops new series across metrics", "[governor]") {
    lim::governor_options o;
    o.max_series = 5;
    fixture f(o);
    auto a = series_of("a", 0, 3);
    auto b = series_of("b", 0, 4);
    for (const auto& d : f.decide(a)) CHECK(d.keep);
    const auto d = f.decide(b);
    CHECK(d[0].keep);
    CHECK(d[1].keep);
    CHECK_FALSE(d[2].keep);
    CHECK(d[2].reason == lim::drop_reason::max_series);
    CHECK(f.decide(a)[0].keep);  // known series still pass at the cap
    f.g.refresh();
    CHECK(f.g.active_series() == 5);
    CHECK(f.scrape().find(
              R"(metrics_governor_series_dropped_total{reason="max_series",rule="none"} 2)") !=
          std::string::npos);
}

TEST_CASE("first matching rule wins, label matchers choose the series a rule governs",
          "[governor]") {
    fixture f;
    f.g.set_limits(limits_from_yaml(
        "defaults:\n  max_cardinality: 100\n"
        "rules:\n"
        "  - name: dev\n    match:\n      metric_name: \"http_.*\"\n      labels: {env: "
        "dev}\n    max_cardinality: 1\n"
        "  - name: http\n    match: {metric_name: \"http_.*\"}\n    max_cardinality: 3\n"));
    request r;
    r.add("http_requests", {{"env", "dev"}, {"i", "1"}})
        .add("http_requests", {{"env", "dev"}, {"i", "2"}})   // dev: metric at 1 >= 1, dropped
        .add("http_requests", {{"env", "prod"}, {"i", "3"}})  // http rule: 1 < 3
        .add("http_requests", {{"env", "prod"}, {"i", "4"}})  // 2 < 3
        .add("http_requests", {{"env", "prod"}, {"i", "5"}})  // 3 >= 3: dropped
        .add("grpc_calls", {{"i", "1"}});                     // defaults
    const auto d = f.decide(r);
    CHECK(d[0].keep);
    CHECK_FALSE(d[1].keep);
    CHECK(d[2].keep);
    CHECK(d[3].keep);
    CHECK_FALSE(d[4].keep);
    CHECK(d[5].keep);
    CHECK(f.g.metric("grpc_calls")->rule == "default");
}

TEST_CASE("reloading limits keeps trackers and applies the new limits", "[governor]") {
    fixture f;
    f.g.set_limits(limits_from_yaml("defaults:\n  max_cardinality: 2\n"));
    auto r = series_of("m", 0, 4);
    f.decide(r);
    CHECK(f.g.metric("m")->active_series == 2);
    f.g.set_limits(limits_from_yaml("defaults:\n  max_cardinality: 10\n"));
    CHECK(f.g.metric("m")->active_series == 2);  // kept across the reload
    const auto d = f.decide(r);
    for (const auto& x : d) CHECK(x.keep);
    CHECK(f.g.metric("m")->active_series == 4);
    CHECK(f.g.metric("m")->limit == 10);
}

TEST_CASE("series expire after the window, idle metrics are forgotten", "[governor]") {
    lim::governor_options o;
    o.tracker.window = 30min;
    o.tracker.generations = 3;
    fixture f(o);
    f.g.set_limits(limits_from_yaml("defaults:\n  max_cardinality: 2\n"));
    auto r = series_of("m", 0, 2);
    f.decide(r);
    CHECK_FALSE(f.decide(series_of("m", 5, 6))[0].keep);  // full
    f.clock.advance(31min);
    f.g.refresh();
    CHECK(f.g.active_series() == 0);
    CHECK(f.g.trackers() == 0);
    CHECK(f.decide(series_of("m", 5, 6))[0].keep);  // room again
}

TEST_CASE("per-label distinct values are estimated for the cardinality API", "[governor]") {
    fixture f;
    request r;
    for (int i = 0; i < 200; ++i)
        r.add("m", {{"user", std::to_string(i)}, {"dc", i % 2 ? "a" : "b"}, {"job", "x"}});
    f.decide(r);
    const auto labels = f.g.label_values("m");
    REQUIRE(labels.size() == 3);
    CHECK(labels[0].name == "user");
    CHECK(labels[0].distinct_values == Approx(200).epsilon(0.1));
    CHECK(labels[1].name == "dc");
    CHECK(labels[1].distinct_values == 2);
    CHECK(labels[2].distinct_values == 1);
    CHECK(f.g.label_values("nope").empty());
}

TEST_CASE("concurrent decisions never admit past the limit", "[governor][concurrency]") {
    // A Bloom false positive lets a new series pass as known (kept, never counted): at the
    // default 1% rate about 1 run in 150 kept 1001 of these 4000 series with active == 1000.
    // That is the filter's documented error, not an admission race, so the filter here is made
    // precise enough that any series kept past 1000 can only come from a race.
    lim::governor_options o;
    o.tracker.fp_rate = 1e-7;
    fixture f(o);
    f.g.set_limits(limits_from_yaml("defaults:\n  max_cardinality: 1000\n"));
    std::atomic<std::uint64_t> kept{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int chunk = 0; chunk < 10; ++chunk) {
                auto r = series_of("m", t * 100000 + chunk * 100, t * 100000 + chunk * 100 + 100);
                std::vector<lim::decision> out(r.refs.size());
                kept += f.g.decide(r.refs, out).kept_series;
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(f.g.metric("m")->active_series == 1000);
    CHECK(kept.load() == 1000);
    CHECK(f.g.metric("m")->dropped_series == 3000);
}
