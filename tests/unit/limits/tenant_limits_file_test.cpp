// The limits file's tenants: and tenant_defaults: sections (issue 19): the accepted shape and
// each error naming its key.
#include <catch2/catch.hpp>
#include <string>

#include "limits/limits_file.h"
#include "limits_parse.h"

using mg::limits::action;
using mg::limits::limits_file;
using mg::limits::parse_limits_yaml;

namespace {

using mg::test::limits_parse::parse_error;
using mg::test::limits_parse::parse_ok;

}  // namespace

TEST_CASE("tenants and tenant_defaults parse", "[limits][file][tenants]") {
    const auto f = parse_ok(R"(
defaults:
  max_cardinality: 1000
rules:
  - name: top
    match: {metric_name: m}
    max_cardinality: 10
tenants:
  team-a:
    max_series: 100000
    rules:
      - name: a-http
        match: {metric_name: "http_.*"}
        max_cardinality: 50
        action: log
  "team b/ü":
    max_series: 5
    defaults: {max_cardinality: 7, action: drop}
  team-c: {}
tenant_defaults:
  max_series: 2000
)");
    CHECK(f.has_defaults);
    CHECK(f.rules.size() == 1);
    REQUIRE(f.tenants.size() == 3);
    const auto& a = f.tenants.at("team-a");
    CHECK(a.max_series == 100000);
    CHECK(a.has_rules);
    CHECK_FALSE(a.has_defaults);
    REQUIRE(a.rules.size() == 1);
    CHECK(a.rules[0].name == "a-http");
    CHECK(a.rules[0].max_cardinality == 50);
    CHECK(a.rules[0].on_limit == action::log);
    const auto& b = f.tenants.at("team b/ü");
    CHECK(b.max_series == 5);
    CHECK(b.has_defaults);
    CHECK_FALSE(b.has_rules);
    CHECK(b.defaults.name == "default");
    CHECK(b.defaults.max_cardinality == 7);
    const auto& c = f.tenants.at("team-c");
    CHECK(c.max_series == 0);
    CHECK_FALSE(c.has_rules);
    CHECK_FALSE(c.has_defaults);
    CHECK(f.has_tenant_defaults);
    CHECK(f.tenant_defaults.max_series == 2000);
    CHECK_FALSE(f.tenant_defaults.has_rules);

    // Without the sections nothing about tenants is set.
    const auto plain = parse_ok("defaults: {max_cardinality: 1}\n");
    CHECK(plain.tenants.empty());
    CHECK_FALSE(plain.has_tenant_defaults);
}

TEST_CASE("an empty rules list of a tenant is its choice, not the top level's",
          "[limits][file][tenants]") {
    const auto f = parse_ok(
        "rules:\n  - name: r\n    max_cardinality: 1\n"
        "tenants:\n  t:\n    rules: []\n");
    CHECK(f.tenants.at("t").has_rules);
    CHECK(f.tenants.at("t").rules.empty());
}

TEST_CASE("tenant errors name the key and the accepted form", "[limits][file][tenants][errors]") {
    struct row {
        std::string yaml;
        std::string want;
    };
    const std::vector<row> rows{
        {"tenants: [a, b]\n",
         "limits.yaml: tenants: got a list; want a map of tenant name to {max_series, "
         "defaults, rules}"},
        {"tenants:\n  a: {max_series: -1}\n",
         "limits.yaml: tenants.a.max_series: -1 is negative; want an integer of 0 or more"},
        {"tenants:\n  a: {max_series: lots}\n",
         "limits.yaml: tenants.a.max_series: \"lots\" is not an integer"},
        {"tenants:\n  a: {max_cardinality: 3}\n",
         "limits.yaml: tenants.a.max_cardinality: unknown key; want one of max_series, defaults, "
         "rules"},
        {"tenants:\n  a: {rules: [{match: {metric_name: m}}]}\n",
         "limits.yaml: tenants.a.rules[0].name: missing"},
        {"tenants:\n  a: {defaults: {max_cardinality: x}}\n",
         "limits.yaml: tenants.a.defaults.max_cardinality: \"x\" is not an integer"},
        {"tenants:\n  \"\": {max_series: 1}\n", "limits.yaml: tenants.: empty tenant name"},
        {"tenants:\n  \"a\\tb\": {max_series: 1}\n", "tenant name holds a control character"},
        {"tenants:\n  \"a\xc3\x28"
         "b\": {max_series: 1}\n",
         "tenant name is not valid UTF-8"},
        // YAML's implicit keys end at 1024 characters: an explicit key (?) goes past.
        {"tenants:\n  ? " + std::string(1025, 'x') + "\n  : {max_series: 1}\n",
         "tenant name longer than 1024 bytes"},
        {"tenants:\n  a: 5\n",
         "limits.yaml: tenants.a: got a scalar; want a map with max_series, "
         "defaults and rules"},
        {"tenant_defaults: {max_series: 1, bogus: 2}\n",
         "limits.yaml: tenant_defaults.bogus: unknown key; want one of max_series, defaults, "
         "rules"},
        {"tenants:\n  a: {max_series: 1}\n  a: {max_series: 2}\n",
         "limits.yaml: tenants.a: duplicate key"},
    };
    for (const auto& r : rows) {
        INFO(r.yaml);
        CHECK_THAT(parse_error(r.yaml), Catch::Contains(r.want));
    }
}

TEST_CASE("every tenant problem is reported at once", "[limits][file][tenants][errors]") {
    const auto e = parse_error(
        "tenants:\n  a: {max_series: -1}\n  b: {rules: 3}\ntenant_defaults: {max_series: x}\n");
    CHECK_THAT(e, Catch::Contains("tenants.a.max_series"));
    CHECK_THAT(e, Catch::Contains("tenants.b.rules"));
    CHECK_THAT(e, Catch::Contains("tenant_defaults.max_series"));
}
