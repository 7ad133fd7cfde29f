// The governor's cluster path (decide_async with a cluster port), against a fake cluster that
// keeps exact sets: replicas share one limit, local trackers cache what passed, the failure
// policies decide when the cluster does not answer, and what passed meanwhile is written back.
// The real Redis side is tested in tests/integration/cluster_redis_test.cpp.
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <set>

#include "limits/governor.h"
#include "limits/limits_file.h"
#include "limits_helpers.h"

namespace lim = mg::limits;
namespace card = mg::cardinality;
using mg::test::limits_from_yaml;

namespace {

// The cluster's shared state as exact sets per tracker; answers at once, later, or fails.
struct fake_cluster final : lim::cluster_port {
    std::map<std::string, std::set<std::uint64_t>> admitted;
    bool fail = false;
    bool defer = false;
    int calls = 0;
    std::size_t ids_asked = 0;
    std::vector<std::function<void()>> deferred;

    void admit(std::vector<lim::cluster_query> qs, callback done) override {
        ++calls;
        for (const auto& q : qs) ids_asked += q.ids.size();
        auto answer = [this, qs = std::move(qs), done = std::move(done)] {
            std::vector<lim::cluster_answer> out;
            for (const auto& q : qs) {
                lim::cluster_answer a;
                if (!fail) {
                    a.ok = true;
                    auto& set = admitted[q.tracker];
                    for (const auto id : q.ids) {
                        if (set.count(id) != 0) {
                            a.verdicts.push_back(lim::cluster_verdict::known);
                        } else if (!q.enforce || set.size() < q.limit) {
                            set.insert(id);
                            a.verdicts.push_back(lim::cluster_verdict::admitted);
                        } else {
                            a.verdicts.push_back(lim::cluster_verdict::over_limit);
                        }
                    }
                    a.live_total = static_cast<std::int64_t>(set.size());
                }
                out.push_back(std::move(a));
            }
            done(std::move(out));
        };
        if (defer) {
            deferred.push_back(std::move(answer));
        } else {
            answer();
        }
    }
    void release() {
        auto d = std::move(deferred);
        deferred.clear();
        for (auto& f : d) f();
    }
};

// Series `m{id="<i>", pod="<pod>"}` for each i.
struct cluster_request {
    std::vector<std::vector<std::pair<std::string, std::string>>> owned;
    std::vector<std::vector<card::label_view>> labels;
    std::vector<lim::series_ref> refs;
    std::string name = "m";

    cluster_request(std::initializer_list<int> ids, std::string pod = "p") {
        for (const int i : ids) owned.push_back({{"id", std::to_string(i)}, {"pod", pod}});
        for (const auto& l : owned) {
            auto& v = labels.emplace_back();
            for (const auto& [k, val] : l) v.push_back({k, val});
        }
        for (const auto& v : labels) refs.push_back({name, {}, v, 1});
    }
    // Every series of the request for tenant t ("" = the default tenant).
    cluster_request& of_tenant(std::string t) {
        tenant = std::move(t);
        for (auto& r : refs) r.tenant = tenant;
        return *this;
    }
    std::string tenant;
};

struct replica {
    replica(std::shared_ptr<fake_cluster> c, lim::cluster_failure_policy p,
            const std::string& rules, lim::governor_options o = {})
        : registry(std::make_shared<prometheus::Registry>()), g(std::move(o), clock, registry) {
        g.set_limits(limits_from_yaml(rules));
        g.set_cluster(std::move(c), p);
    }
    // The kept ids of a request, when the decision has completed.
    std::set<int> kept(const cluster_request& r, const std::vector<lim::decision>& out) const {
        std::set<int> k;
        for (std::size_t i = 0; i < out.size(); ++i)
            if (out[i].keep) k.insert(std::stoi(r.owned[i][0].second));
        return k;
    }
    std::set<int> send(const cluster_request& r) {
        std::vector<lim::decision> out(r.refs.size());
        bool done = false;
        g.decide_async(r.refs, out, [&](lim::batch_summary s) {
            done = true;
            last = s;
        });
        REQUIRE(done);
        return kept(r, out);
    }
    std::string scrape() const {
        return prometheus::TextSerializer().Serialize(registry->Collect());
    }
    mg::fake_clock clock;
    std::shared_ptr<prometheus::Registry> registry;
    lim::governor g;
    lim::batch_summary last;
};

const std::string k_limit_3 =
    "rules:\n  - name: small\n    match: {metric_name: m}\n    max_cardinality: 3\n";

}  // namespace

TEST_CASE("cluster: replicas share one limit, and a series admitted anywhere passes everywhere",
          "[governor][cluster]") {
    auto cluster = std::make_shared<fake_cluster>();
    replica a(cluster, lim::cluster_failure_policy::local, k_limit_3);
    replica b(cluster, lim::cluster_failure_policy::local, k_limit_3);

    CHECK(a.send({1, 2}) == std::set<int>{1, 2});
    // b sees 1 and 2 for the first time: the cluster knows them, wherever they come in the
    // request. 5 takes the last place; 4 and 3 are over the shared limit (on its own, b would
    // have admitted 5, 4 and 3).
    CHECK(b.send({5, 4, 1, 2, 3}) == std::set<int>{1, 2, 5});
    CHECK(b.last.dropped_series == 2);
    CHECK(a.send({4, 5, 3}) == std::set<int>{5});
    CHECK(cluster->admitted["m"].size() == 3);
    // The cluster's count is visible beside this replica's own.
    const auto m = a.g.metric("m");
    REQUIRE(m);
    CHECK(m->cluster_active_series == 3);
    CHECK(m->active_series == 3);
}

TEST_CASE("cluster: series the local tracker knows pass with no round trip",
          "[governor][cluster]") {
    auto cluster = std::make_shared<fake_cluster>();
    replica a(cluster, lim::cluster_failure_policy::local, k_limit_3);
    CHECK(a.send({1, 2, 3}).size() == 3);
    const int calls = cluster->calls;
    for (int i = 0; i < 5; ++i) CHECK(a.send({1, 2, 3}).size() == 3);
    CHECK(cluster->calls == calls);
    // A metric without max_cardinality never asks the cluster.
    cluster_request other({7, 8});
    other.name = "unlimited";
    for (auto& r : other.refs) r.metric_name = other.name;
    CHECK(a.send(other).size() == 2);
    CHECK(cluster->calls == calls);
}

TEST_CASE("cluster: the decision completes when the answer comes", "[governor][cluster]") {
    auto cluster = std::make_shared<fake_cluster>();
    cluster->defer = true;
    replica a(cluster, lim::cluster_failure_policy::local, k_limit_3);
    cluster_request r({1, 2, 3, 4});
    std::vector<lim::decision> out(r.refs.size());
    bool done = false;
    a.g.decide_async(r.refs, out, [&](lim::batch_summary) { done = true; });
    CHECK_FALSE(done);
    REQUIRE(cluster->deferred.size() == 1);
    cluster->release();
    CHECK(done);
    CHECK(a.kept(r, out) == std::set<int>{1, 2, 3});
}

TEST_CASE("cluster: failure policies decide locally-new series while the cluster is down",
          "[governor][cluster]") {
    auto cluster = std::make_shared<fake_cluster>();
    replica warm(cluster, lim::cluster_failure_policy::local, k_limit_3);
    CHECK(warm.send({1}).size() == 1);

    SECTION("local: this replica's own limit") {
        replica a(cluster, lim::cluster_failure_policy::local, k_limit_3);
        cluster->fail = true;
        CHECK(a.send({1, 2, 3, 4, 5}) == std::set<int>{1, 2, 3});
        CHECK_THAT(
            a.scrape(),
            Catch::Contains("metrics_governor_cluster_fallback_series_total{policy=\"local\"} 5"));
        // Back: what passed meanwhile is written back with the next answer, beyond the limit
        // if it must (bounded: at most one replica's limit per outage).
        cluster->fail = false;
        a.g.refresh();
        CHECK(cluster->admitted["m"].size() == 3);
        CHECK(a.send({1, 2, 3}).size() == 3);  // known locally: no question
    }
    SECTION("open: admitted, and written back") {
        replica a(cluster, lim::cluster_failure_policy::open, k_limit_3);
        cluster->fail = true;
        CHECK(a.send({1, 2, 3, 4, 5}).size() == 5);
        cluster->fail = false;
        a.g.refresh();
        CHECK(cluster->admitted["m"].size() == 5);  // recorded past the limit, never refused
    }
    SECTION("closed: new series dropped, known ones pass") {
        replica a(cluster, lim::cluster_failure_policy::closed, k_limit_3);
        CHECK(a.send({1}).size() == 1);  // known locally from now on
        cluster->fail = true;
        CHECK(a.send({1, 2, 3}) == std::set<int>{1});
        cluster->fail = false;
        CHECK(a.send({2, 3, 4}) == std::set<int>{2, 3});  // the cluster has room for two more
    }
}

TEST_CASE("cluster: label limits are shared, and a series they drop takes no metric place",
          "[governor][cluster]") {
    auto cluster = std::make_shared<fake_cluster>();
    const std::string rules =
        "rules:\n  - name: pods\n    match: {metric_name: m}\n    max_cardinality: 100\n"
        "    label_limits: {pod: 2}\n";
    replica a(cluster, lim::cluster_failure_policy::local, rules);
    replica b(cluster, lim::cluster_failure_policy::local, rules);
    CHECK(a.send(cluster_request({1}, "a")).size() == 1);
    CHECK(a.send(cluster_request({2}, "b")).size() == 1);
    CHECK(b.send(cluster_request({3}, "c")).empty());  // a third pod, over the shared label limit
    CHECK(b.send(cluster_request({4}, "a")).size() == 1);  // a known pod passes on b too
    CHECK(cluster->admitted[lim::label_tracker_name("m", "pod")].size() == 2);
    CHECK(cluster->admitted["m"].size() == 3);  // series 3 never took a place
}

TEST_CASE("cluster: action log keeps over-limit series and the cluster counts them",
          "[governor][cluster]") {
    auto cluster = std::make_shared<fake_cluster>();
    const std::string rules =
        "rules:\n  - name: small\n    match: {metric_name: m}\n"
        "    max_cardinality: 2\n    action: log\n";
    replica a(cluster, lim::cluster_failure_policy::local, rules);
    CHECK(a.send({1, 2, 3}).size() == 3);
    CHECK(a.last.over_limit_series == 1);
    a.g.refresh();  // the write-back of series 3
    CHECK(cluster->admitted["m"].size() == 3);
}

TEST_CASE("cluster: -limits-max-series is one cap over every replica and metric",
          "[governor][cluster]") {
    auto cluster = std::make_shared<fake_cluster>();
    // Metric "m" has a limit of its own (100); "free" has none, only the cap.
    const std::string rules =
        "rules:\n  - name: m\n    match: {metric_name: m}\n    max_cardinality: 100\n";
    lim::governor_options o;
    o.max_series = 5;
    replica a(cluster, lim::cluster_failure_policy::local, rules, o);
    replica b(cluster, lim::cluster_failure_policy::local, rules, o);

    CHECK(a.send({1, 2, 3}).size() == 3);  // metric "m", then the cap: 3 of 5
    cluster_request free({1, 2, 3, 4});
    free.name = "free";
    for (auto& r : free.refs) r.metric_name = free.name;
    CHECK(b.send(free).size() == 2);  // the cap's last two places, though b has seen 0 before
    CHECK(b.last.dropped_series == 2);
    CHECK_THAT(b.scrape(), Catch::Contains("metrics_governor_series_dropped_total{reason=\""
                                           "max_series\",rule=\"none\"} 2"));
    // Full: a new series of "m" has room under its own limit, not under the cap.
    CHECK(a.send({4}).empty());
    CHECK(cluster->admitted["\x1f*"].size() == 5);
    // Known series still pass, on either replica.
    CHECK(b.send({1, 2, 3}).size() == 3);
    CHECK(a.send(free).size() == 2);
}

TEST_CASE("cluster: dry run keeps over-limit series, counts them, and the cluster counts them too",
          "[governor][cluster]") {
    auto cluster = std::make_shared<fake_cluster>();
    lim::governor_options o;
    o.dry_run = true;
    replica a(cluster, lim::cluster_failure_policy::local, k_limit_3, o);
    replica b(cluster, lim::cluster_failure_policy::local, k_limit_3, o);
    CHECK(a.send({1, 2}).size() == 2);
    CHECK(b.send({3, 4, 5}).size() == 3);  // 4 and 5 over the shared limit: kept, counted
    CHECK(b.last.over_limit_series == 2);
    CHECK(b.last.dropped_series == 0);
    CHECK_THAT(b.scrape(), Catch::Contains("action=\"dry_run\""));
    b.g.refresh();  // the write-back of what passed over the limit
    CHECK(cluster->admitted["m"].size() == 5);
}

TEST_CASE("cluster: tenants' trackers carry the escaped tenant, the default tenant's do not",
          "[governor][cluster][tenant]") {
    auto cluster = std::make_shared<fake_cluster>();
    const std::string rules = k_limit_3 + "    label_limits: {pod: 5}\n";
    replica a(cluster, lim::cluster_failure_policy::local, rules);
    replica b(cluster, lim::cluster_failure_policy::local, rules);
    CHECK(a.send(cluster_request({1, 2}).of_tenant("team/a")) == std::set<int>{1, 2});
    // The same metric and limit for another tenant and the default tenant: separate places.
    CHECK(b.send(cluster_request({1, 2, 3, 4}).of_tenant("team:b")) == std::set<int>{1, 2, 3});
    CHECK(b.send(cluster_request({1, 2, 3, 4})) == std::set<int>{1, 2, 3});
    // The shared limit of team/a holds over both replicas.
    CHECK(b.send(cluster_request({3, 4, 5}).of_tenant("team/a")) == std::set<int>{3});
    CHECK(cluster->admitted["\x1eteam%2Fa\x1em"].size() == 3);
    CHECK(cluster->admitted["\x1eteam%3Ab\x1em"].size() == 3);
    CHECK(cluster->admitted["m"].size() == 3);
    CHECK(cluster->admitted[lim::tenant_tracker_name("team/a", lim::label_tracker_name("m", "pod"))]
              .size() == 1);
    CHECK(cluster->admitted[lim::label_tracker_name("m", "pod")].size() == 1);
}

TEST_CASE("cluster: a tenant's max_series is this replica's count, asked of no one",
          "[governor][cluster][tenant]") {
    auto cluster = std::make_shared<fake_cluster>();
    const std::string rules = k_limit_3 + "tenants:\n  t: {max_series: 2}\n";
    replica a(cluster, lim::cluster_failure_policy::local, rules);
    CHECK(a.send(cluster_request({1, 2, 3}).of_tenant("t")) == std::set<int>{1, 2});
    CHECK(a.last.dropped_series == 1);
    const auto asked = cluster->ids_asked;
    CHECK(a.send(cluster_request({4, 5}).of_tenant("t")).empty());
    CHECK(cluster->ids_asked == asked);  // dropped here, without a round trip
    CHECK(cluster->admitted[lim::tenant_tracker_name("t", "m")].size() == 2);
    CHECK(a.send(cluster_request({1, 2}).of_tenant("t")) ==
          std::set<int>{1, 2});  // known series pass
    CHECK_THAT(
        a.scrape(),
        Catch::Contains(
            R"(metrics_governor_tenant_series_dropped_total{reason="tenant_max_series",tenant="t"} 3)"));
}
