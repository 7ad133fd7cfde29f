#include "limits/rule_matcher.h"

#include <spdlog/sinks/ostream_sink.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/clock.h"
#include "logging/log.h"

using mg::limits::label_pair;
using mg::limits::limits_file;
using mg::limits::rule;
using mg::limits::rule_matcher;

namespace {

// The clock only times the regex give-up log (the fake one where a test looks at it).
rule_matcher matcher_for(const std::string& yaml, mg::clock& clock = mg::system_clock_instance()) {
    auto f = mg::limits::parse_limits_yaml(yaml, "test");
    INFO(yaml);
    if (!f.ok()) FAIL(f.error_message());
    return rule_matcher(std::make_shared<const limits_file>(std::move(f).value()), clock);
}

using index_list = std::vector<std::size_t>;

// The name of the rule selected for a series, "default" for the defaults, "" for none.
std::string selected(const rule_matcher& m, std::string_view metric,
                     std::vector<label_pair> labels) {
    auto candidates = m.candidates(metric);
    const rule* r = m.select(candidates, labels);
    return r == nullptr ? std::string() : r->name;
}

}  // namespace

TEST_CASE("exact names match the whole name only", "[limits][matcher]") {
    auto m = matcher_for(R"(
rules:
  - name: exact
    match: {metric_name: http_requests_total}
)");
    CHECK(m.candidates("http_requests_total") == index_list{0});
    CHECK(m.candidates("http_requests_total_x").empty());
    CHECK(m.candidates("xhttp_requests_total").empty());
    CHECK(m.candidates("http_requests").empty());
    CHECK(m.candidates("").empty());
}

TEST_CASE("regexes are anchored at both ends", "[limits][matcher]") {
    auto m = matcher_for(R"(
rules:
  - name: prefix
    match: {metric_name: "http_.*"}
  - name: alternation
    match: {metric_name: "a|b"}
  - name: dotted
    match: {metric_name: "http.server.duration"}
)");
    CHECK(m.candidates("http_a") == index_list{0});
    CHECK(m.candidates("http_") == index_list{0});
    CHECK(m.candidates("xhttp_a").empty());
    CHECK(m.candidates("http").empty());
    // The alternation is grouped: neither "a" nor "b" leaks out of the anchors.
    CHECK(m.candidates("a") == index_list{1});
    CHECK(m.candidates("b") == index_list{1});
    CHECK(m.candidates("ab").empty());
    CHECK(m.candidates("xa").empty());
    CHECK(m.candidates("bx").empty());
    // '.' is a regex metacharacter: it matches the dot, and any other character.
    CHECK(m.candidates("http.server.duration") == index_list{2});
    CHECK(m.candidates("http_server_duration") == index_list{0, 2});
    CHECK(m.candidates("http.server.duration.x").empty());
}

TEST_CASE("candidates come in file order across exact, regex and catch-all rules",
          "[limits][matcher]") {
    auto m = matcher_for(R"(
rules:
  - name: r0
    match: {metric_name: "up|down"}
  - name: r1
    match: {metric_name: up}
  - name: r2
  - name: r3
    match: {metric_name: up, labels: {env: dev}}
  - name: r4
    match: {metric_name: "u."}
  - name: r5
    match: {metric_name: other}
)");
    CHECK(m.candidates("up") == index_list{0, 1, 2, 3, 4});
    CHECK(m.candidates("down") == index_list{0, 2});
    CHECK(m.candidates("other") == index_list{2, 5});
    CHECK(m.candidates("nothing") == index_list{2});
}

TEST_CASE("label matchers: exact values and *", "[limits][matcher]") {
    auto m = matcher_for(R"(
rules:
  - name: dev-any-service
    match:
      metric_name: "http_.*"
      labels: {env: dev, service: "*"}
  - name: empty-value
    match:
      metric_name: "http_.*"
      labels: {zone: ""}
)");
    CHECK(selected(m, "http_a", {{"env", "dev"}, {"service", "api"}}) == "dev-any-service");
    CHECK(selected(m, "http_a", {{"env", "dev"}, {"service", ""}}) == "dev-any-service");
    CHECK(selected(m, "http_a",
                   {{"a", "1"}, {"env", "dev"}, {"pod", "x"}, {"service", "db"}, {"zz", "2"}}) ==
          "dev-any-service");
    CHECK(selected(m, "http_a", {{"env", "prod"}, {"service", "api"}}).empty());  // wrong value
    CHECK(selected(m, "http_a", {{"env", "dev"}}).empty());      // "*" needs the label present
    CHECK(selected(m, "http_a", {{"service", "api"}}).empty());  // exact needs it too
    CHECK(selected(m, "http_a", {{"env", "development"}, {"service", "api"}}).empty());
    CHECK(selected(m, "http_a", {}).empty());
    CHECK(selected(m, "other", {{"env", "dev"}, {"service", "api"}}).empty());  // name differs
    CHECK(selected(m, "http_a", {{"zone", ""}}) == "empty-value");
    CHECK(selected(m, "http_a", {{"zone", "eu"}}).empty());
}

TEST_CASE("labels_match walks both sorted lists", "[limits][matcher]") {
    using mg::limits::label_matcher;
    std::vector<label_matcher> matchers{{"b", "2", false}, {"d", "", true}};
    std::vector<label_pair> labels{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}};
    CHECK(mg::limits::labels_match(matchers, labels));
    CHECK(mg::limits::labels_match({}, labels));
    CHECK(mg::limits::labels_match({}, {}));
    std::vector<label_pair> missing_d{{"a", "1"}, {"b", "2"}, {"c", "3"}};
    CHECK_FALSE(mg::limits::labels_match(matchers, missing_d));
    std::vector<label_pair> wrong_b{{"b", "3"}, {"d", "4"}};
    CHECK_FALSE(mg::limits::labels_match(matchers, wrong_b));
}

TEST_CASE("the first matching rule wins", "[limits][matcher]") {
    auto m = matcher_for(R"(
defaults:
  max_cardinality: 100
rules:
  - name: dev
    match: {metric_name: "http_.*", labels: {env: dev}}
    max_cardinality: 10
  - name: http
    match: {metric_name: "http_.*"}
    max_cardinality: 20
  - name: http-exact
    match: {metric_name: http_requests_total}
    max_cardinality: 30
)");
    CHECK(selected(m, "http_requests_total", {{"env", "dev"}}) == "dev");
    CHECK(selected(m, "http_requests_total", {{"env", "prod"}}) == "http");
    CHECK(selected(m, "http_requests_total", {}) == "http");
    auto candidates = m.candidates("http_requests_total");
    CHECK(candidates == index_list{0, 1, 2});
    // A caller may narrow the candidates; the order given is the order tried.
    std::vector<std::size_t> only_exact{2};
    std::vector<label_pair> labels{{"env", "dev"}};
    const rule* r = m.select(only_exact, labels);
    REQUIRE(r != nullptr);
    CHECK(r->name == "http-exact");
    CHECK(r->max_cardinality == 30);
}

TEST_CASE("defaults apply when no rule matches", "[limits][matcher]") {
    auto m = matcher_for(R"(
defaults:
  max_cardinality: 100
  action: log
rules:
  - name: dev
    match: {metric_name: "http_.*", labels: {env: dev}}
)");
    const std::vector<label_pair> prod{{"env", "prod"}};
    auto candidates = m.candidates("http_x");
    const rule* r = m.select(candidates, prod);  // the metric has a rule, this series does not
    REQUIRE(r != nullptr);
    CHECK(r == &m.file().defaults);
    CHECK(r->name == "default");
    CHECK(r->max_cardinality == 100);
    CHECK(r->on_limit == mg::limits::action::log);
    CHECK(selected(m, "no_rule_metric", {}) == "default");
    // Indices that are not rules of this file are skipped, not dereferenced.
    std::vector<std::size_t> bogus{7};
    CHECK(m.select(bogus, prod) == &m.file().defaults);
}

TEST_CASE("without defaults an unmatched series has no rule", "[limits][matcher]") {
    auto m = matcher_for(R"(
rules:
  - name: dev
    match: {metric_name: "http_.*", labels: {env: dev}}
)");
    CHECK(selected(m, "http_x", {{"env", "dev"}}) == "dev");
    CHECK(selected(m, "http_x", {{"env", "prod"}}).empty());
    CHECK(selected(m, "other", {}).empty());
    auto candidates = m.candidates("other");
    CHECK(m.select(candidates, {}) == nullptr);
}

TEST_CASE("an empty file selects nothing", "[limits][matcher]") {
    auto m = matcher_for("");
    CHECK(m.candidates("anything").empty());
    CHECK(m.select({}, {}) == nullptr);
    CHECK(m.file().rules.empty());
}

TEST_CASE("the matcher keeps its file alive", "[limits][matcher]") {
    auto file = std::make_shared<limits_file>();
    file->rules.push_back(rule{});
    file->rules[0].name = "r";
    file->rules[0].metric_pattern = "m";
    rule_matcher m(file, mg::system_clock_instance());
    file.reset();
    CHECK(m.candidates("m") == index_list{0});
    CHECK(m.file().rules[0].name == "r");
    CHECK(m.shared_file().use_count() == 1);
}

TEST_CASE("a hand-built file with a bad regex or no file is refused", "[limits][matcher]") {
    auto file = std::make_shared<limits_file>();
    file->rules.push_back(rule{});
    file->rules[0].name = "bad";
    file->rules[0].metric_pattern = "a)|(b";
    CHECK_THROWS_AS(rule_matcher(file, mg::system_clock_instance()), std::invalid_argument);
    CHECK_THROWS_AS(rule_matcher(nullptr, mg::system_clock_instance()), std::invalid_argument);
}

TEST_CASE("a regex that would backtrack for ever gives up, counts as no match and is counted",
          "[limits][matcher]") {
    // Nested repetition against a long name that almost matches: exponential for a backtracking
    // matcher (std::regex took minutes here). The bound stops it; the rule does not apply.
    auto m = matcher_for(R"(
rules:
  - name: nested
    match: {metric_name: "(a+)+x"}
  - name: all_a
    match: {metric_name: "a+"}
defaults: {max_cardinality: 10, action: drop}
)");
    CHECK(m.candidates("aaax") == index_list{0});
    CHECK(m.regex_gave_up() == 0);
    const std::string hostile(64, 'a');
    const auto start = std::chrono::steady_clock::now();
    CHECK(m.candidates(hostile + "!").empty());
    CHECK(m.candidates(hostile) == index_list{1});  // the simple rule still answers
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));  // not a hang
    CHECK(m.regex_gave_up() == 2);
    CHECK(selected(m, hostile + "!", {}) == "default");
}

TEST_CASE("a regex that gives up is logged at most once per 10 s of the matcher's clock",
          "[limits][matcher]") {
    std::ostringstream out;
    mg::logging::init(spdlog::level::info, mg::logging::format::json,
                      std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
    mg::fake_clock clock;
    auto m = matcher_for(R"(
rules:
  - name: nested
    match: {metric_name: "(a+)+x"}
)",
                         clock);
    const std::string hostile = std::string(64, 'a') + "!";
    const auto logged = [&out] {
        const std::string text = out.str();
        std::size_t n = 0;
        for (auto at = text.find("rule regex too costly"); at != std::string::npos;
             at = text.find("rule regex too costly", at + 1))
            ++n;
        return n;
    };
    CHECK(m.candidates(hostile).empty());
    CHECK(m.candidates(hostile).empty());
    CHECK(logged() == 1);  // the first one always
    clock.advance(std::chrono::milliseconds(9999));
    CHECK(m.candidates(hostile).empty());
    CHECK(logged() == 1);
    clock.advance(std::chrono::milliseconds(1));
    CHECK(m.candidates(hostile).empty());
    CHECK(logged() == 2);
    CHECK(m.regex_gave_up() == 4);  // every one is counted, logged or not
    mg::logging::init(spdlog::level::info, mg::logging::format::json);
}
