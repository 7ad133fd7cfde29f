// The governor with tenants (issue 19): trackers per (tenant, metric), a tenant's max_series,
// its own rules, the global cap over every tenant, and the bounded tenant label.
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "limits/governor.h"
#include "limits_helpers.h"

namespace lim = mg::limits;
namespace card = mg::cardinality;

namespace {

// Series of one request with owned strings; each has its tenant.
struct tenant_request {
    struct owned_series {
        std::string tenant, metric;
        std::vector<std::pair<std::string, std::string>> labels;
    };
    std::vector<owned_series> owned;
    std::vector<std::vector<card::label_view>> views;
    std::vector<lim::series_ref> refs;

    tenant_request& add(std::string tenant, std::string metric, std::string id) {
        owned.push_back({std::move(tenant), std::move(metric), {{"id", std::move(id)}}});
        return *this;
    }
    std::span<const lim::series_ref> build() {
        views.clear();
        refs.clear();
        views.reserve(owned.size());
        for (const auto& o : owned) {
            auto& v = views.emplace_back();
            for (const auto& [k, val] : o.labels) v.push_back({k, val});
            lim::series_ref r;
            r.metric_name = o.metric;
            r.tenant = o.tenant;
            r.labels = v;
            refs.push_back(r);
        }
        return refs;
    }
};

tenant_request range(const std::string& tenant, const std::string& metric, int from, int to) {
    tenant_request r;
    for (int i = from; i < to; ++i) r.add(tenant, metric, std::to_string(i));
    return r;
}

struct tenant_fixture {
    explicit tenant_fixture(lim::governor_options o = {})
        : registry(std::make_shared<prometheus::Registry>()), g(std::move(o), clock, registry) {}
    std::vector<lim::decision> decide(tenant_request r) {
        const auto refs = r.build();
        std::vector<lim::decision> out(refs.size());
        g.decide(refs, out);
        return out;
    }
    int kept(tenant_request r) {
        int n = 0;
        for (const auto& d : decide(std::move(r))) n += d.keep ? 1 : 0;
        return n;
    }
    std::string scrape() const {
        return prometheus::TextSerializer().Serialize(registry->Collect());
    }
    mg::fake_clock clock;
    std::shared_ptr<prometheus::Registry> registry;
    lim::governor g;
};

bool has(const std::string& text, const std::string& line) {
    return text.find(line) != std::string::npos;
}

}  // namespace

TEST_CASE("a tenant over its cap loses only its own new series", "[governor][tenant]") {
    tenant_fixture f;
    f.g.set_limits(mg::test::limits_from_yaml("tenants:\n  a: {max_series: 5}\n"));
    CHECK(f.kept(range("a", "m", 0, 3)) == 3);
    CHECK(f.kept(range("a", "n", 0, 4)) == 2);  // all metrics of the tenant together
    const auto d = f.decide(range("a", "o", 0, 1));
    CHECK_FALSE(d[0].keep);
    CHECK(d[0].reason == lim::drop_reason::tenant_max_series);
    // Known series of a always pass; b and the default tenant are unaffected.
    CHECK(f.kept(range("a", "m", 0, 3)) == 3);
    CHECK(f.kept(range("b", "m", 0, 50)) == 50);
    CHECK(f.kept(range("", "m", 0, 50)) == 50);
    // After a refresh the cap still holds (the count comes from the trackers).
    f.g.refresh();
    CHECK(f.kept(range("a", "p", 0, 2)) == 0);
    CHECK(f.kept(range("a", "n", 0, 2)) == 2);

    // Same metric name, separate trackers per tenant.
    CHECK(f.g.metric("m", "a")->active_series == 3);
    CHECK(f.g.metric("m", "b")->active_series == 50);
    CHECK(f.g.metric("m")->active_series == 50);
    CHECK_FALSE(f.g.metric("m", "zzz").has_value());
    CHECK(f.g.active_series() == 105);
    CHECK(f.g.trackers() == 6);  // a: m n o p (o and p hold no series); b: m; default: m

    const auto tenants = f.g.tenants();
    REQUIRE(tenants.size() == 3);
    CHECK(tenants[0].is_default);
    CHECK(tenants[0].name == "default");
    CHECK(tenants[0].active_series == 50);
    CHECK(tenants[1].name == "b");
    CHECK(tenants[2].name == "a");
    CHECK(tenants[2].active_series == 5);
    CHECK(tenants[2].max_series == 5);
    CHECK(tenants[2].dropped_series == 5);

    const auto text = f.scrape();
    CHECK(has(
        text,
        R"(metrics_governor_tenant_series_dropped_total{reason="tenant_max_series",tenant="a"} 5)"));
    CHECK(
        has(text,
            R"(metrics_governor_series_dropped_total{reason="tenant_max_series",rule="none"} 5)"));
    CHECK_FALSE(has(text, R"(tenant="b")"));  // b dropped nothing
}

TEST_CASE("interleaved tenants in one tenant_request are decided per tenant",
          "[governor][tenant]") {
    tenant_fixture f;
    f.g.set_limits(mg::test::limits_from_yaml("tenant_defaults: {max_series: 2}\n"));
    tenant_request r;
    for (int i = 0; i < 4; ++i) {
        r.add("x", "m", std::to_string(i));
        r.add("y", "m", std::to_string(i));
    }
    const auto d = f.decide(r);
    int kept_x = 0, kept_y = 0;
    for (std::size_t i = 0; i < d.size(); ++i) (i % 2 == 0 ? kept_x : kept_y) += d[i].keep;
    CHECK(kept_x == 2);
    CHECK(kept_y == 2);
    CHECK(f.g.metric("m", "x")->active_series == 2);
    // The default tenant has no tenant cap: tenant_defaults governs the others only.
    CHECK(f.kept(range("", "m", 0, 10)) == 10);
}

TEST_CASE("the global cap still caps every tenant together", "[governor][tenant]") {
    lim::governor_options o;
    o.max_series = 10;
    tenant_fixture f(o);
    f.g.set_limits(mg::test::limits_from_yaml("tenants:\n  a: {max_series: 100}\n"));
    CHECK(f.kept(range("a", "m", 0, 4)) == 4);
    CHECK(f.kept(range("b", "m", 0, 4)) == 4);
    const auto d = f.decide(range("", "m", 0, 4));
    CHECK(d[1].keep);
    CHECK_FALSE(d[2].keep);
    CHECK(d[2].reason == lim::drop_reason::max_series);
    CHECK(f.decide(range("a", "m", 4, 5))[0].reason == lim::drop_reason::max_series);
    CHECK(f.kept(range("b", "m", 0, 4)) == 4);  // known series pass at the cap
}

TEST_CASE("a tenant's own rules and defaults pick the rule", "[governor][tenant]") {
    tenant_fixture f;
    f.g.set_limits(mg::test::limits_from_yaml(R"(
defaults: {max_cardinality: 3}
rules:
  - name: top-m
    match: {metric_name: m}
    max_cardinality: 2
tenants:
  own-rules:
    rules:
      - name: a-m
        match: {metric_name: m}
        max_cardinality: 5
  own-defaults:
    defaults: {max_cardinality: 1}
tenant_defaults:
  defaults: {max_cardinality: 4}
)"));
    CHECK(f.kept(range("", "m", 0, 10)) == 2);  // top-level rule
    CHECK(f.kept(range("", "q", 0, 10)) == 3);  // top-level defaults
    CHECK(f.kept(range("own-rules", "m", 0, 10)) == 5);
    CHECK(f.g.metric("m", "own-rules")->rule == "a-m");
    CHECK(f.kept(range("own-rules", "q", 0, 10)) == 3);     // its rules replace, defaults fall back
    CHECK(f.kept(range("own-defaults", "m", 0, 10)) == 2);  // top-level rules still apply
    CHECK(f.kept(range("own-defaults", "q", 0, 10)) == 1);
    CHECK(f.kept(range("other", "m", 0, 10)) == 2);
    CHECK(f.kept(range("other", "q", 0, 10)) == 4);  // tenant_defaults' defaults
    CHECK(f.g.metric("q", "other")->limit == 4);
}

TEST_CASE("tenant label values are bounded, the rest are __other__", "[governor][tenant]") {
    lim::governor_options o;
    o.max_tenants_in_metrics = 3;
    tenant_fixture f(o);
    f.g.set_limits(mg::test::limits_from_yaml("tenant_defaults: {max_series: 1}\n"));
    for (int t = 0; t < 20; ++t) CHECK(f.kept(range("t" + std::to_string(t), "m", 0, 3)) == 1);
    const auto text = f.scrape();
    int labelled = 0;
    for (int t = 0; t < 20; ++t) {
        labelled += has(text,
                        "metrics_governor_tenant_series_dropped_total{reason="
                        "\"tenant_max_series\",tenant=\"t" +
                            std::to_string(t) + "\"}");
    }
    CHECK(labelled == 3);
    CHECK(has(text,
              "metrics_governor_tenant_series_dropped_total{reason=\"tenant_max_series\","
              "tenant=\"__other__\"} 34"));
    CHECK(f.g.tenant_label("t0") == "t0");
    CHECK(f.g.tenant_label("t19") == "__other__");
    CHECK(f.g.tenant_label("") == "__other__");  // the default tenant came after the bound
}

TEST_CASE("without tenants nothing new shows in /metrics", "[governor][tenant]") {
    tenant_fixture f;
    f.g.set_limits(mg::test::limits_from_yaml("defaults: {max_cardinality: 1}\n"));
    CHECK(f.kept(range("", "m", 0, 3)) == 1);
    const auto text = f.scrape();
    CHECK_FALSE(has(text, "tenant_max_series"));
    CHECK(has(
        text,
        R"(metrics_governor_series_dropped_total{reason="cardinality_limit",rule="default"} 2)"));
}

TEST_CASE("idle tenants are forgotten with their metrics", "[governor][tenant]") {
    tenant_fixture f;
    CHECK(f.kept(range("a", "m", 0, 3)) == 3);
    f.g.refresh();
    CHECK(f.g.tenants().size() == 2);
    f.clock.advance(std::chrono::hours(3));
    f.g.refresh();
    CHECK(f.g.tenants().size() == 1);
    CHECK(f.g.trackers() == 0);
    CHECK_FALSE(f.g.resolve_tenant("a").has_value());
}

TEST_CASE("persistence hooks carry the tenant", "[governor][tenant]") {
    tenant_fixture f;
    f.g.set_limits(mg::test::limits_from_yaml(
        "tenants:\n  a:\n    rules:\n      - name: l\n        label_limits: {id: 2}\n"));
    CHECK(f.kept(range("a", "m", 0, 5)) == 2);
    CHECK(f.kept(range("", "m", 0, 1)) == 1);
    std::vector<std::tuple<std::string, std::string, std::string>> seen;
    f.g.for_each_tracker([&](std::string_view t, std::string_view m, std::string_view l,
                             const auto&) { seen.emplace_back(t, m, l); });
    std::sort(seen.begin(), seen.end());
    REQUIRE(seen.size() == 3);
    CHECK(seen[0] == std::tuple<std::string, std::string, std::string>{"", "m", ""});
    CHECK(seen[1] == std::tuple<std::string, std::string, std::string>{"a", "m", ""});
    CHECK(seen[2] == std::tuple<std::string, std::string, std::string>{"a", "m", "id"});
    CHECK(f.g.evict_tracker("a", "m", "") == std::vector<std::string>{"", "id"});
    CHECK_FALSE(f.g.metric("m", "a").has_value());
    CHECK(f.g.metric("m").has_value());
}

TEST_CASE("a capped tenant far from its cap is decided in batches, exactly at the cap",
          "[governor][tenant]") {
    tenant_fixture f;
    f.g.set_limits(mg::test::limits_from_yaml("tenants:\n  a: {max_series: 1000}\n"));
    int kept = 0;
    for (int from = 0; from < 1500; from += 10) kept += f.kept(range("a", "m", from, from + 10));
    CHECK(kept == 1000);
    CHECK(f.g.metric("m", "a")->active_series == 1000);
    f.g.refresh();
    CHECK(f.kept(range("a", "m", 2000, 2010)) == 0);
    CHECK(f.kept(range("a", "m", 0, 10)) == 10);
}
