// Issue 21 in the limits module: the overflow keys of the limits file and the governor's decision
// to fold a series instead of dropping it (the folding itself is tests/unit/ingest's).
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "limits/governor.h"
#include "limits/limits_file.h"
#include "limits_helpers.h"
#include "limits_parse.h"

using namespace std::chrono_literals;
namespace lim = mg::limits;
namespace card = mg::cardinality;

using mg::test::limits_parse::parse_error;
using mg::test::limits_parse::parse_ok;

TEST_CASE("overflow keys parse with their defaults", "[limits][file][overflow]") {
    auto f = parse_ok(R"(
defaults:
  action: overflow
rules:
  - name: http
    match:
      metric_name: http_requests_total
    max_cardinality: 100
    action: overflow
    keep_labels: [service, env]
    overflow_label: folded
    overflow_aggregation: max
    overflow_max_tracked: 5000
    overflow_interval: 30s
  - name: labels
    label_limits:
      user_id: 10
    label_limit_action: overflow
)");
    CHECK(f.defaults.on_limit == lim::action::overflow);
    CHECK(f.defaults.keep_labels.empty());
    CHECK(f.defaults.overflow_label == "overflow");
    CHECK(f.defaults.overflow_aggregation == mg::overflow::gauge_aggregation::sum);
    CHECK(f.defaults.overflow_max_tracked == 100000);
    CHECK(f.defaults.overflow_interval == 0ms);
    REQUIRE(f.rules.size() == 2);
    const auto& r = f.rules[0];
    CHECK(r.on_limit == lim::action::overflow);
    CHECK(r.keep_labels == std::vector<std::string>{"env", "service"});  // sorted
    CHECK(r.overflow_label == "folded");
    CHECK(r.overflow_aggregation == mg::overflow::gauge_aggregation::max);
    CHECK(r.overflow_max_tracked == 5000);
    CHECK(r.overflow_interval == 30s);
    CHECK(r.overflows());
    CHECK(f.rules[1].label_action == lim::label_limit_action::overflow);
    CHECK(f.rules[1].overflows());
    CHECK(lim::to_string(lim::action::overflow) == "overflow");
    CHECK(lim::to_string(lim::label_limit_action::overflow) == "overflow");
}

TEST_CASE("bad overflow keys name the key and the accepted form", "[limits][file][overflow]") {
    for (const auto& [yaml, expected] : std::vector<std::pair<std::string, std::string>>{
             {"rules:\n  - name: a\n    keep_labels: service\n",
              "rules[0].keep_labels: got a scalar; want a list of label names"},
             {"rules:\n  - name: a\n    keep_labels: [0bad]\n",
              "rules[0].keep_labels[0]: \"0bad\" is not a valid label name; want a Prometheus "
              "label name"},
             {"rules:\n  - name: a\n    keep_labels: [env, env]\n",
              "rules[0].keep_labels[1]: \"env\" is listed twice"},
             {"rules:\n  - name: a\n    overflow_label: \"a-b\"\n",
              "rules[0].overflow_label: \"a-b\" is not a valid label name"},
             {"rules:\n  - name: a\n    keep_labels: [overflow]\n",
              "rules[0].keep_labels: \"overflow\" is the overflow label"},
             {"rules:\n  - name: a\n    overflow_aggregation: avg\n",
              "rules[0].overflow_aggregation: \"avg\" is not an aggregation; want sum, max, min or "
              "last"},
             {"rules:\n  - name: a\n    overflow_max_tracked: 0\n",
              "rules[0].overflow_max_tracked: 0 is out of range; want an integer from 1 to "
              "100000000"},
             {"rules:\n  - name: a\n    overflow_max_tracked: lots\n",
              "rules[0].overflow_max_tracked: \"lots\" is not an integer"},
             {"rules:\n  - name: a\n    overflow_interval: 500ms\n",
              "rules[0].overflow_interval: \"500ms\" is not a duration from 1s to 1h; want a "
              "duration from 1s to 1h, e.g. 15s"},
             {"rules:\n  - name: a\n    overflow_interval: soon\n",
              "rules[0].overflow_interval: \"soon\" is not a duration"},
             {"defaults:\n  overflow_interval: 2h\n",
              "defaults.overflow_interval: \"2h\" is not a duration from 1s to 1h"},
             {"rules:\n  - name: a\n    colour: red\n",
              "label_limit_action, keep_labels, overflow_label, overflow_aggregation, "
              "overflow_max_tracked, overflow_interval"},
         }) {
        INFO(yaml);
        CHECK_THAT(parse_error(yaml), Catch::Contains(expected));
    }
}

namespace {

struct request {
    std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> owned;
    std::vector<std::vector<card::label_view>> labels;
    std::vector<lim::series_ref> refs;

    request& add(std::string name, std::vector<std::pair<std::string, std::string>> l) {
        std::sort(l.begin(), l.end());
        owned.emplace_back(std::move(name), std::move(l));
        refs.clear();
        labels.clear();
        labels.reserve(owned.size());
        for (const auto& [n, ls] : owned) {
            auto& views = labels.emplace_back();
            for (const auto& [k, v] : ls) views.push_back({k, v});
            refs.push_back({n, {}, views, 1});
        }
        return *this;
    }
};

struct fixture {
    fixture() : registry(std::make_shared<prometheus::Registry>()), g({}, clock, registry) {}
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

}  // namespace

TEST_CASE("a series over a limit with action overflow is folded, not dropped",
          "[governor][overflow]") {
    fixture f;
    f.g.set_limits(mg::test::limits_from_yaml(R"(
rules:
  - name: fold
    match:
      metric_name: m_total
    max_cardinality: 3
    action: overflow
)"));
    request r;
    for (int i = 0; i < 5; ++i) r.add("m_total", {{"id", std::to_string(i)}});
    const auto d = f.decide(r);
    for (int i = 0; i < 3; ++i) {
        CHECK(d[i].keep);
        CHECK_FALSE(d[i].overflow);
    }
    for (int i = 3; i < 5; ++i) {
        INFO(i);
        CHECK_FALSE(d[i].keep);
        CHECK(d[i].overflow);
        CHECK(d[i].reason == lim::drop_reason::cardinality_limit);
        REQUIRE(d[i].overflow_rule != nullptr);
        CHECK(d[i].overflow_rule->name == "fold");
    }
    CHECK(f.last.kept_series == 3);
    CHECK(f.last.folded_series == 2);
    CHECK(f.last.dropped_series == 0);
    CHECK(f.last.over_limit_series == 2);
    // A folded series stays new: it is folded again next time, the limit's series still pass.
    const auto again = f.decide(r);
    CHECK(again[0].keep);
    CHECK(again[4].overflow);
    const auto text = f.scrape();
    CHECK_THAT(
        text, Catch::Contains("metrics_governor_series_over_limit_total{action=\"overflow\",reason="
                              "\"cardinality_limit\",rule=\"fold\"} 4"));
    CHECK_THAT(text, !Catch::Contains("metrics_governor_series_dropped_total{reason="
                                      "\"cardinality_limit\",rule=\"fold\"} 1"));
    const auto m = f.g.metric("m_total");
    REQUIRE(m.has_value());
    CHECK(m->dropped_series == 0);
}

TEST_CASE("label_limit_action overflow folds the series that brings a value too many",
          "[governor][overflow]") {
    fixture f;
    f.g.set_limits(mg::test::limits_from_yaml(R"(
rules:
  - name: users
    label_limits:
      user: 2
    label_limit_action: overflow
)"));
    request r;
    for (int i = 0; i < 4; ++i) r.add("req_total", {{"user", std::to_string(i)}});
    const auto d = f.decide(r);
    CHECK(d[0].keep);
    CHECK(d[1].keep);
    CHECK(d[2].overflow);
    CHECK_FALSE(d[2].keep);
    CHECK(d[2].reason == lim::drop_reason::label_limit);
    CHECK(d[3].overflow);
    CHECK(f.last.dropped_series == 0);
    CHECK(f.last.folded_series == 2);
}

TEST_CASE("overflow in dry run and the caps: nothing is folded", "[governor][overflow]") {
    SECTION("dry run keeps the series") {
        mg::fake_clock clock;
        lim::governor_options o;
        o.dry_run = true;
        lim::governor g(o, clock, nullptr);
        g.set_limits(mg::test::limits_from_yaml(
            "rules:\n  - name: fold\n    max_cardinality: 1\n    action: overflow\n"));
        request r;
        r.add("m", {{"id", "1"}}).add("m", {{"id", "2"}});
        std::vector<lim::decision> d(2);
        g.decide(r.refs, d);
        CHECK(d[1].keep);
        CHECK_FALSE(d[1].overflow);
    }
    SECTION("-limits-max-series drops, whatever the rule's action") {
        mg::fake_clock clock;
        lim::governor_options o;
        o.max_series = 1;
        lim::governor g(o, clock, nullptr);
        g.set_limits(mg::test::limits_from_yaml(
            "rules:\n  - name: fold\n    max_cardinality: 10\n    action: overflow\n"));
        request r;
        r.add("m", {{"id", "1"}}).add("m", {{"id", "2"}});
        std::vector<lim::decision> d(2);
        g.decide(r.refs, d);
        CHECK(d[0].keep);
        CHECK_FALSE(d[1].keep);
        CHECK_FALSE(d[1].overflow);
        CHECK(d[1].reason == lim::drop_reason::max_series);
    }
}

TEST_CASE("the rule a folded series points to outlives reloads for a while",
          "[governor][overflow]") {
    fixture f;
    f.g.set_limits(mg::test::limits_from_yaml(
        "rules:\n  - name: fold\n    max_cardinality: 1\n    action: overflow\n"
        "    keep_labels: [env]\n"));
    request r;
    r.add("m", {{"id", "1"}}).add("m", {{"id", "2"}});
    const auto d = f.decide(r);
    REQUIRE(d[1].overflow);
    // Two reloads while the request is still folding: the old rules stay alive (a sanitizer
    // build would catch a read of freed memory here).
    f.g.set_limits(mg::test::limits_from_yaml("rules: []\n"));
    f.clock.advance(30s);
    f.g.set_limits(mg::test::limits_from_yaml("rules: []\n"));
    REQUIRE(d[1].overflow_rule != nullptr);
    CHECK(d[1].overflow_rule->name == "fold");
    CHECK(d[1].overflow_rule->keep_labels == std::vector<std::string>{"env"});
}
