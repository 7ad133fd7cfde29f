#include "limits/limits_file.h"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "limits_parse.h"
#include "shared/temp_dir.h"

using mg::limits::action;
using mg::limits::label_limit_action;
using mg::limits::limits_file;
using mg::limits::parse_limits_yaml;

namespace {

using mg::test::limits_parse::parse_error;
using mg::test::limits_parse::parse_ok;

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

using mg::test::temp_dir;

}  // namespace

TEST_CASE("the full format parses", "[limits][file]") {
    auto f = parse_ok(R"(
defaults:
  max_cardinality: 100000
  action: log
rules:
  - name: http-requests-dev
    match:
      metric_name: "http_requests_.*"
      labels:
        service: "*"
        env: dev
    max_cardinality: 5000
    action: drop
    label_limits:
      user_id: 1000
      path: 200
    label_limit_action: strip
  - name: exact.name:v1_x
    match:
      metric_name: process_cpu_seconds_total
)");
    CHECK(f.source == "limits.yaml");
    REQUIRE(f.has_defaults);
    CHECK(f.defaults.name == "default");
    CHECK(f.defaults.metric_pattern.empty());
    CHECK(f.defaults.max_cardinality == 100000);
    CHECK(f.defaults.on_limit == action::log);
    CHECK(f.defaults.labels.empty());

    REQUIRE(f.rules.size() == 2);
    const auto& r = f.rules[0];
    CHECK(r.name == "http-requests-dev");
    CHECK(r.metric_pattern == "http_requests_.*");
    REQUIRE(r.labels.size() == 2);  // sorted by name
    CHECK(r.labels[0].name == "env");
    CHECK(r.labels[0].value == "dev");
    CHECK_FALSE(r.labels[0].any_value);
    CHECK(r.labels[1].name == "service");
    CHECK(r.labels[1].any_value);
    CHECK(r.labels[1].value.empty());
    CHECK(r.max_cardinality == 5000);
    CHECK(r.on_limit == action::drop);
    REQUIRE(r.label_limits.size() == 2);  // sorted by label name
    CHECK(r.label_limits[0] == std::pair<std::string, std::uint64_t>{"path", 200});
    CHECK(r.label_limits[1] == std::pair<std::string, std::uint64_t>{"user_id", 1000});
    CHECK(r.label_action == label_limit_action::strip);

    const auto& e = f.rules[1];
    CHECK(e.name == "exact.name:v1_x");
    CHECK(e.metric_pattern == "process_cpu_seconds_total");
    CHECK(e.labels.empty());
    CHECK(e.max_cardinality == 0);  // absent: no limit
    CHECK(e.on_limit == action::drop);
    CHECK(e.label_limits.empty());
    CHECK(e.label_action == label_limit_action::drop);
}

TEST_CASE("empty and minimal files", "[limits][file]") {
    for (const std::string text : {"", "# only a comment\n", "---\n", "rules:\n", "rules: []\n"}) {
        auto f = parse_ok(text);
        CHECK_FALSE(f.has_defaults);
        CHECK(f.rules.empty());
        CHECK(f.defaults.name == "default");
    }
    auto only_defaults = parse_ok("defaults:\n  max_cardinality: 0\n");
    CHECK(only_defaults.has_defaults);
    CHECK(only_defaults.defaults.max_cardinality == 0);
    CHECK(only_defaults.defaults.on_limit == action::drop);

    auto empty_defaults = parse_ok("defaults:\n");
    CHECK(empty_defaults.has_defaults);
    CHECK(empty_defaults.defaults.max_cardinality == 0);

    // A rule needs only a name; without match it governs every metric.
    auto bare = parse_ok("rules:\n  - name: all\n    max_cardinality: 10\n");
    REQUIRE(bare.rules.size() == 1);
    CHECK(bare.rules[0].metric_pattern.empty());
    CHECK(bare.rules[0].max_cardinality == 10);

    // match with labels only; empty sections.
    auto labels_only = parse_ok(
        "rules:\n  - name: dev\n    match:\n      labels:\n        env: dev\n    label_limits:\n");
    REQUIRE(labels_only.rules.size() == 1);
    CHECK(labels_only.rules[0].metric_pattern.empty());
    CHECK(labels_only.rules[0].labels.size() == 1);
    CHECK(labels_only.rules[0].label_limits.empty());
    auto empty_match = parse_ok("rules:\n  - name: m\n    match:\n");
    CHECK(empty_match.rules[0].metric_pattern.empty());
}

TEST_CASE("values in their accepted forms", "[limits][file]") {
    auto f = parse_ok(R"(
rules:
  - name: a
    max_cardinality: "42"
    action: log
    label_limits: {user_id: 18446744073709551615}
    label_limit_action: drop
  - name: b
    match: {metric_name: "a|b", labels: {x: "", y: "*"}}
    max_cardinality: 18446744073709551615
)");
    CHECK(f.rules[0].max_cardinality == 42);
    CHECK(f.rules[0].on_limit == action::log);
    CHECK(f.rules[0].label_limits[0].second == 18446744073709551615ULL);
    CHECK(f.rules[0].label_action == label_limit_action::drop);
    CHECK(f.rules[1].metric_pattern == "a|b");
    CHECK(f.rules[1].max_cardinality == 18446744073709551615ULL);
    REQUIRE(f.rules[1].labels.size() == 2);
    CHECK(f.rules[1].labels[0].value.empty());  // an exact empty value
    CHECK_FALSE(f.rules[1].labels[0].any_value);
    CHECK(f.rules[1].labels[1].any_value);
}

TEST_CASE("literal patterns are told from regexes", "[limits][file]") {
    using mg::limits::is_literal_pattern;
    CHECK(is_literal_pattern("http_requests_total"));
    CHECK(is_literal_pattern("ns:metric:rate5m"));
    CHECK(is_literal_pattern("otel-metric"));
    for (const char* p : {"http_.*", "a|b", "a+", "a?", "x[0-9]", "a{2}", "(a)", "^a", "a$", "a\\d",
                          "http.server.duration"}) {
        INFO(p);
        CHECK_FALSE(is_literal_pattern(p));
    }
}

TEST_CASE("action names", "[limits][file]") {
    CHECK(mg::limits::to_string(action::drop) == "drop");
    CHECK(mg::limits::to_string(action::log) == "log");
    CHECK(mg::limits::to_string(label_limit_action::drop) == "drop");
    CHECK(mg::limits::to_string(label_limit_action::strip) == "strip");
}

TEST_CASE("each error names its path and the accepted form", "[limits][file][errors]") {
    struct example {
        std::string yaml;
        std::string expected;
    };
    for (const auto& [yaml, expected] : std::vector<example>{
             // document shape
             {"- a\n- b\n", "limits.yaml: file: got a list; want a map with defaults and rules"},
             {"bogus: 1\n",
              "limits.yaml: bogus: unknown key; want one of defaults, rules, tenants, "
              "tenant_defaults"},
             {"rules: {a: 1}\n", "rules: got a map; want a list of rules"},
             {"defaults: 5\n",
              "defaults: got a scalar; want a map with max_cardinality and action"},
             {"rules:\n  - just-a-name\n", "rules[0]: got a scalar; want a map with name, match"},
             // defaults
             {"defaults:\n  max_cardinality: -1\n",
              "defaults.max_cardinality: -1 is negative; want an integer of 0 or more (0 = no "
              "limit)"},
             {"defaults:\n  max_cardinality: lots\n",
              "defaults.max_cardinality: \"lots\" is not an integer; want an integer of 0 or more"},
             {"defaults:\n  max_cardinality: 1.5\n",
              "defaults.max_cardinality: \"1.5\" is not an integer"},
             {"defaults:\n  max_cardinality: 99999999999999999999\n",
              "defaults.max_cardinality: 99999999999999999999 is out of range"},
             {"defaults:\n  max_cardinality: [1]\n",
              "defaults.max_cardinality: got a list; want an integer of 0 or more"},
             {"defaults:\n  max_cardinality:\n",
              "defaults.max_cardinality: got no value; want an integer"},
             {"defaults:\n  action: block\n",
              "defaults.action: \"block\" is not an action; want drop, log or overflow"},
             {"defaults:\n  action: adaptive\n",
              "defaults.action: \"adaptive\" (the Go governor's action) is not supported; want "
              "drop, log or overflow"},
             {"defaults:\n  max_datapoints_rate: 1000\n",
              "defaults.max_datapoints_rate: not supported (the Go governor's datapoint rate "
              "limit; limits here are on cardinality only); remove it"},
             {"defaults:\n  label_limits: {a: 1}\n",
              "defaults.label_limits: unknown key; want one of max_cardinality, action"},
             // rules
             {"rules:\n  - max_cardinality: 1\n", "rules[0].name: missing; want a unique name"},
             {"rules:\n  - name: \"has space\"\n",
              "rules[0].name: \"has space\" is not a valid rule name; want a unique name of "
              "letters, digits and _ . : -"},
             {"rules:\n  - name: \"\"\n", "rules[0].name: \"\" is not a valid rule name"},
             {"rules:\n  - name: default\n",
              "rules[0].name: \"default\" is reserved for the defaults"},
             {"rules:\n  - name: [a]\n", "rules[0].name: got a list; want a unique name"},
             {"rules:\n  - name: a\n  - name: b\n  - name: a\n",
              "rules[2].name: \"a\" is used by an earlier rule"},
             {"rules:\n  - name: a\n    colour: red\n",
              "rules[0].colour: unknown key; want one of name, match, max_cardinality, action, "
              "label_limits, label_limit_action"},
             {"rules:\n  - name: a\n    name: b\n", "rules[0].name: duplicate key"},
             {"rules:\n  - name: a\n    max_cardinality: -5\n",
              "rules[0].max_cardinality: -5 is negative"},
             {"rules:\n  - name: a\n    action: adaptive\n",
              "rules[0].action: \"adaptive\" (the Go governor's action) is not supported"},
             {"rules:\n  - name: a\n    action: [drop]\n",
              "rules[0].action: got a list; want drop, log or overflow"},
             {"rules:\n  - name: a\n    group_by: [service]\n",
              "rules[0].group_by: not supported (it groups the Go governor's adaptive action"},
             {"rules:\n  - name: a\n    max_datapoints_rate: 5\n",
              "rules[0].max_datapoints_rate: not supported"},
             // match
             {"rules:\n  - name: a\n    match: http_.*\n",
              "rules[0].match: got a scalar; want a map with metric_name and labels"},
             {"rules:\n  - name: a\n    match:\n      metric: x\n",
              "rules[0].match.metric: unknown key; want one of metric_name, labels"},
             {"rules:\n  - name: a\n    match:\n      metric_name: \"http_(\"\n",
              "rules[0].match.metric_name: \"http_(\" is not a valid regex ("},
             {"rules:\n  - name: a\n    match:\n      metric_name: \"a)|(b\"\n",
              "rules[0].match.metric_name: \"a)|(b\" is not a valid regex"},
             {"rules:\n  - name: a\n    match:\n      metric_name: \"\"\n",
              "rules[0].match.metric_name: empty; want an exact metric name or an ECMAScript "
              "regex matched against the whole name, or leave metric_name out"},
             {"rules:\n  - name: a\n    match:\n      metric_name: {a: 1}\n",
              "rules[0].match.metric_name: got a map; want an exact metric name"},
             {"rules:\n  - name: a\n    match:\n      labels: [env]\n",
              "rules[0].match.labels: got a list; want a map of label name to value (or \"*\")"},
             {"rules:\n  - name: a\n    match:\n      labels:\n        0env: dev\n",
              "rules[0].match.labels.0env: \"0env\" is not a valid label name; want a Prometheus "
              "label name"},
             {"rules:\n  - name: a\n    match:\n      labels:\n        env-x: dev\n",
              "rules[0].match.labels.env-x: \"env-x\" is not a valid label name"},
             {"rules:\n  - name: a\n    match:\n      labels:\n        __name__: up\n",
              "rules[0].match.labels.__name__: the metric name is not a label here; use "
              "match.metric_name"},
             {"rules:\n  - name: a\n    match:\n      labels:\n        env: [a, b]\n",
              "rules[0].match.labels.env: got a list; want an exact value, or \"*\" for any value"},
             {"rules:\n  - name: a\n    match:\n      labels:\n        env:\n",
              "rules[0].match.labels.env: got no value"},
             // label limits
             {"rules:\n  - name: a\n    label_limits:\n      user_id: 0\n",
              "rules[0].label_limits.user_id: 0 is out of range; want an integer of 1 or more"},
             {"rules:\n  - name: a\n    label_limits:\n      user_id: -3\n",
              "rules[0].label_limits.user_id: -3 is negative; want an integer of 1 or more"},
             {"rules:\n  - name: a\n    label_limits:\n      user.id: 3\n",
              "rules[0].label_limits.user.id: \"user.id\" is not a valid label name"},
             {"rules:\n  - name: a\n    label_limits: [user_id]\n",
              "rules[0].label_limits: got a list; want a map of label name to distinct value "
              "limit"},
             {"rules:\n  - name: a\n    label_limit_action: keep\n",
              "rules[0].label_limit_action: \"keep\" is not a label limit action; want drop, "
              "strip or overflow"},
             // syntax
             {"rules:\n  - name: [a\n", "limits.yaml: not valid YAML: line "},
         }) {
        INFO(yaml);
        const std::string message = parse_error(yaml);
        INFO(message);
        CHECK_THAT(message, Catch::Contains(expected));
        for (const auto& line : lines_of(message))
            CHECK_THAT(line, Catch::StartsWith("limits.yaml: "));
    }
}

TEST_CASE("every problem is reported at once, one per line", "[limits][file][errors]") {
    const std::string message = parse_error(R"(
unknown_top: 1
defaults:
  max_cardinality: -1
  action: adaptive
rules:
  - name: ok-rule
    match:
      metric_name: "good_.*"
  - name: bad rule
    match:
      metric_name: "bad_("
      labels:
        "9lives": x
    max_cardinality: many
    max_datapoints_rate: 1
    label_limits:
      user_id: 0
    label_limit_action: nope
  - match:
      metric_name: x
  - name: ok-rule
)");
    const auto lines = lines_of(message);
    INFO(message);
    const std::vector<std::string> expected{
        "unknown_top: unknown key",
        "defaults.max_cardinality: -1 is negative",
        "defaults.action: \"adaptive\"",
        "rules[1].name: \"bad rule\" is not a valid rule name",
        "rules[1].match.metric_name: \"bad_(\" is not a valid regex",
        "rules[1].match.labels.9lives: \"9lives\" is not a valid label name",
        "rules[1].max_cardinality: \"many\" is not an integer",
        "rules[1].max_datapoints_rate: not supported",
        "rules[1].label_limits.user_id: 0 is out of range",
        "rules[1].label_limit_action: \"nope\"",
        "rules[2].name: missing",
        "rules[3].name: \"ok-rule\" is used by an earlier rule",
    };
    CHECK(lines.size() == expected.size());
    for (const auto& e : expected) CHECK_THAT(message, Catch::Contains("limits.yaml: " + e));
}

TEST_CASE("load_limits_file reads a file and names it in errors", "[limits][file]") {
    temp_dir dir;
    auto good = dir.write("limits.yaml", "rules:\n  - name: a\n    max_cardinality: 7\n");
    auto f = mg::limits::load_limits_file(good);
    REQUIRE(f.ok());
    CHECK(f->source == good);
    REQUIRE(f->rules.size() == 1);
    CHECK(f->rules[0].max_cardinality == 7);

    auto bad = dir.write("bad.yaml", "rules:\n  - name: a\n    action: maybe\n");
    auto b = mg::limits::load_limits_file(bad);
    REQUIRE_FALSE(b.ok());
    CHECK_THAT(b.error_message(), Catch::StartsWith(bad + ": rules[0].action: "));

    auto missing = mg::limits::load_limits_file(dir.file("nope.yaml"));
    REQUIRE_FALSE(missing.ok());
    CHECK_THAT(missing.error_message(), Catch::Contains("nope.yaml"));
    CHECK_THAT(missing.error_message(), Catch::Contains("cannot read"));

    auto directory = mg::limits::load_limits_file(dir.file(""));
    REQUIRE_FALSE(directory.ok());
    CHECK_THAT(directory.error_message(), Catch::Contains("is a directory"));

    auto empty = mg::limits::load_limits_file(dir.write("empty.yaml", ""));
    REQUIRE(empty.ok());
    CHECK(empty->rules.empty());
    CHECK_FALSE(empty->has_defaults);
}

TEST_CASE("an oversized limits file is refused", "[limits][file]") {
    temp_dir dir;
    const std::string path = dir.file("huge.yaml");
    {
        std::ofstream out(path);
        const std::string line = "# " + std::string(1022, 'x') + "\n";
        for (std::uintmax_t written = 0; written <= mg::limits::k_max_limits_file_bytes;
             written += line.size()) {
            out << line;
        }
    }
    auto r = mg::limits::load_limits_file(path);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error_message(), Catch::Contains("huge.yaml"));
    CHECK_THAT(r.error_message(), Catch::Contains("larger than"));
}

TEST_CASE("config/limits.example.yaml is a valid limits file", "[limits][file]") {
    auto f =
        mg::limits::load_limits_file(std::string(MG_SOURCE_DIR) + "/config/limits.example.yaml");
    INFO((f.ok() ? std::string() : f.error_message()));
    REQUIRE(f.ok());
    CHECK(f->has_defaults);
    CHECK_FALSE(f->rules.empty());
}
