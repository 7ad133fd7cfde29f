// Persistence with tenants (issue 19): each tenant's trackers under their own keys
// (stats:tenant:<escaped>:metric:<name>), saved and restored beside the default tenant's, whose
// keys stay those of a governor without tenants; TTL eviction per (tenant, metric).
#include <catch2/catch.hpp>
#include <filesystem>
#include <set>

#include "limits/tenant_escape.h"
#include "persistence_fixture.h"
#include "shared/temp_dir.h"

using namespace persistence_fixture;

namespace {

const char* k_tenant_rules = R"(
rules:
  - name: m-limit
    match: {metric_name: m}
    max_cardinality: 10
tenants:
  a: {max_series: 5}
)";

}  // namespace

TEST_CASE("two tenants are saved and restored beside the default tenant", "[persistence][tenant]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    {
        life first(clock, dir.path());
        first.governor.set_limits(limits(k_tenant_rules));
        CHECK(first.send(request("m", 0, 8, "", "a")).size() == 5);  // a's cap
        CHECK(first.send(request("m", 0, 3, "", "b")).size() == 3);
        CHECK(first.send(request("m", 0, 15)).size() == 10);  // the default tenant's rule
        const auto r = first.persistence->save_now();
        CHECK(r.saved == 3);
        CHECK(r.errors == 0);
    }
    // The default tenant's key is the one without tenancy; the others carry their tenant.
    CHECK(fs::exists(tracker_file(dir.path(), "stats:metric:m")));
    CHECK(fs::exists(tracker_file(dir.path(), "stats:tenant:a:metric:m")));
    CHECK(fs::exists(tracker_file(dir.path(), "stats:tenant:b:metric:m")));

    clock.advance(5min);
    life second(clock, dir.path());
    second.governor.set_limits(limits(k_tenant_rules));
    const auto r = second.persistence->restore();
    CHECK(r.loaded == 3);
    CHECK(r.errors == 0);
    second.governor.refresh();
    CHECK(second.active("m") == 10);
    CHECK(second.active("m", "a") == 5);
    CHECK(second.active("m", "b") == 3);
    // a is still at its cap: known series pass, new ones are dropped; b and default unchanged.
    CHECK(second.send(request("m", 0, 5, "", "a")).size() == 5);
    CHECK(second.send(request("m", 5, 8, "", "a")).empty());
    CHECK(second.send(request("n", 0, 1, "", "a")).empty());
    CHECK(second.send(request("m", 3, 6, "", "b")).size() == 3);
    CHECK(second.send(request("m", 10, 12)).empty());
    const auto tenants = second.governor.tenants();
    REQUIRE(tenants.size() == 3);
    CHECK(tenants[1].name == "b");
    CHECK(tenants[2].name == "a");
}

TEST_CASE("hostile tenant names never meet in keys or files", "[persistence][tenant]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    const std::vector<std::string> tenants{"..",
                                           "../../escape",
                                           "/",
                                           "x:metric:y",
                                           "x",
                                           std::string("a\0b", 3),
                                           std::string("\xff\xfe", 2),
                                           "%78"};
    {
        life first(clock, dir.path());
        for (const auto& t : tenants) CHECK(first.send(request("m", 0, 2, "", t)).size() == 2);
        // "x" with metric "metric:y:metric:m" would be the naive key of tenant "x:metric:y".
        CHECK(first.send(request("metric:y:metric:m", 0, 1, "", "x")).size() == 1);
        // The user label gets a label tracker of its own under a rule with label_limits.
        first.governor.set_limits(limits(k_rules));
        CHECK(first.send(request("u", 0, 2, "user", "/")).size() == 2);
        const auto r = first.persistence->save_now();
        CHECK(r.saved == tenants.size() + 3);
        CHECK(r.errors == 0);
    }
    std::set<std::string> names;
    std::size_t files = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir.path())) {
        if (!e.is_regular_file()) continue;
        ++files;
        // Nothing outside the state directory's own layout: meta.json and trackers/<sha256>.
        const auto parent = e.path().parent_path();
        CHECK((parent == fs::path(dir.path()) || parent == fs::path(dir.path()) / "trackers"));
        names.insert(e.path().filename().string());
    }
    CHECK(files == tenants.size() + 3 + 1);  // + meta.json
    CHECK(names.size() == files);

    life second(clock, dir.path());
    second.governor.set_limits(limits(k_rules));
    const auto r = second.persistence->restore();
    CHECK(r.loaded == tenants.size() + 3);
    CHECK(r.errors == 0);
    second.governor.refresh();
    for (const auto& t : tenants) {
        INFO(mg::limits::escape_tenant(t));
        CHECK(second.active("m", t) == 2);
    }
    CHECK(second.active("metric:y:metric:m", "x") == 1);
    CHECK(second.active("u", "/") == 2);
    CHECK(second.active("m") == 0);  // no tenant's state became the default tenant's
}

TEST_CASE("a tenant too long for a key is refused alone, the rest is saved",
          "[persistence][tenant]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    life l(clock, dir.path());
    l.send(request("m", 0, 2, "", std::string(64 * 1024, 't')));
    l.send(request("m", 0, 2, "", "ok"));
    const auto r = l.persistence->save_now();
    CHECK(r.saved == 1);
    CHECK(fs::exists(tracker_file(dir.path(), "stats:tenant:ok:metric:m")));
    CHECK_THAT(l.scrape(), Catch::Contains("bloom_persistence_saves_total{status=\"error\"} 1"));
}

TEST_CASE("TTL eviction works per tenant", "[persistence][tenant][cleanup]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    life l(clock, dir.path());
    l.send(request("m", 0, 5, "", "old"));
    l.send(request("m", 0, 5, "", "busy"));
    l.send(request("m", 0, 5));
    l.persistence->save_now();
    for (int i = 0; i < 7; ++i) {  // "busy" and the default tenant are seen, "old" never again
        clock.advance(10min);
        l.send(request("m", 0, 5, "", "busy"));
        l.send(request("m", 0, 5));
    }
    const auto r = l.persistence->cleanup_now();
    CHECK(r.evicted_ttl == 1);
    CHECK_FALSE(l.governor.metric("m", "old"));
    CHECK(l.governor.metric("m", "busy"));
    CHECK(l.governor.metric("m"));
    CHECK_FALSE(fs::exists(tracker_file(dir.path(), "stats:tenant:old:metric:m")));
    CHECK(fs::exists(tracker_file(dir.path(), "stats:tenant:busy:metric:m")));
    CHECK(fs::exists(tracker_file(dir.path(), "stats:metric:m")));
}
