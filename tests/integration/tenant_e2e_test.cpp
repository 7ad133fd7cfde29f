// Tenants end to end with a real backend (issue 19): two tenants write through one governor to a
// real Prometheus (--web.enable-remote-write-receiver), each with its own cap in the limits file
// (`tenants:`). The tenant over its cap loses only its own new series, the other tenant loses
// nothing; the governor's per-tenant metrics and /api/v1/tenants say so; and after a restart on
// the same state directory both tenants' trackers are back: known series pass, the full tenant's
// new ones are still refused, the other tenant's new ones still pass.
//
// Prometheus is one tenant; each tenant writes its own metric name (a_req, b_req), so the
// backend's series counts are per tenant. What reaches a multi-tenant backend's header is
// tenant_test's subject (a recording backend).
#include <signal.h>

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "shared/temp_dir.h"
#include "support/daemon.h"
#include "support/http_client.h"
#include "support/metrics_page.h"
#include "support/prometheus_peer.h"
#include "support/remote_write_client.h"

using namespace std::chrono_literals;
namespace test = mg::test;
using json = nlohmann::json;

namespace {

constexpr int k_cap_a = 50;    // team-a's max_series
constexpr int k_cap_b = 1000;  // team-b's: never reached here

// Series metric{id=first..first+count-1} at `ts`, one remote-write request as `tenant`.
int send(unsigned short port, const std::string& tenant, const std::string& metric, int first,
         int count, std::int64_t ts) {
    std::vector<mg::protocol::owned_timeseries> all;
    for (int i = first; i < first + count; ++i) {
        mg::protocol::owned_timeseries t;
        t.labels = {{"__name__", metric}, {"id", std::to_string(i)}};
        t.samples = {{1.0, ts}};
        all.push_back(std::move(t));
    }
    auto headers = test::k_prw_headers;
    headers["X-Scope-OrgID"] = tenant;
    test::http_client c("127.0.0.1", port);
    return c.request(boost::beast::http::verb::post, "/api/v1/write", test::prw_body(all), headers)
        .status;
}

double scrape(test::running_daemon& d, const std::string& series) {
    return test::sample_value(test::http_get(d.stats_port(), "/metrics").body, series).value_or(0);
}

// The tenants /api/v1/tenants lists, by name.
std::map<std::string, json> tenants(test::running_daemon& d) {
    std::map<std::string, json> out;
    const auto j =
        json::parse(test::http_get(d.stats_port(), "/api/v1/tenants").body, nullptr, false);
    if (j.is_discarded()) return out;
    for (const auto& t : j["data"]["tenants"]) out[t.value("name", "")] = t;
    return out;
}

}  // namespace

TEST_CASE(
    "tenants to a real Prometheus: one tenant at its cap loses only its own new series, "
    "and a restart keeps both tenants' states",
    "[e2e][tenant]") {
    test::prometheus_peer backend("backend", "global:\n  scrape_interval: 1h\n",
                                  {"--web.enable-remote-write-receiver"});
    test::temp_dir dir;
    dir.write("limits.yaml", "tenants:\n  team-a:\n    max_series: " + std::to_string(k_cap_a) +
                                 "\n  team-b:\n    max_series: " + std::to_string(k_cap_b) + "\n");
    const std::vector<std::string> args{
        "-exporter-endpoint=http://127.0.0.1:" + std::to_string(backend.port()) + "/api/v1/write",
        "-tenancy-source=header",
        "-limits-config",
        dir.file("limits.yaml"),
        "-flush-interval=100ms",
        "-bloom-persistence-enabled=true",
        "-bloom-persistence-path=" + dir.file("state"),
        "-bloom-persistence-save-interval=1s"};
    const auto t0 = test::unix_now_ms() - 120'000;
    std::map<std::string, double> a_ids, b_ids;
    const auto arrived = [&](std::size_t a_want, std::size_t b_want, double passes) {
        return test::eventually(
            [&] {
                a_ids = test::query_by_label(backend.port(), "count_over_time(a_req[10m])", "id");
                b_ids = test::query_by_label(backend.port(), "count_over_time(b_req[10m])", "id");
                if (a_ids.size() != a_want || b_ids.size() != b_want) return false;
                for (const auto& [id, n] : b_ids)
                    if (n != passes) return false;
                return true;
            },
            60s, {&backend.process()});
    };

    {
        test::running_daemon d(args);
        // team-a sends twice its cap, team-b the same number of series: both requests answered
        // 204 (remote write has no partial answer; the drops are counted).
        CHECK(send(d.ingest_port(), "team-a", "a_req", 0, 2 * k_cap_a, t0) == 204);
        CHECK(send(d.ingest_port(), "team-b", "b_req", 0, 2 * k_cap_a, t0) == 204);
        INFO("team-a series in the backend: " << a_ids.size());
        REQUIRE(arrived(k_cap_a, 2 * k_cap_a, 1));

        CHECK(
            scrape(
                d,
                R"(metrics_governor_tenant_series_dropped_total{reason="tenant_max_series",tenant="team-a"})") ==
            k_cap_a);
        CHECK(
            scrape(
                d,
                R"(metrics_governor_tenant_series_dropped_total{reason="tenant_max_series",tenant="team-b"})") ==
            0);
        const auto listed = tenants(d);
        REQUIRE(listed.count("team-a") == 1);
        REQUIRE(listed.count("team-b") == 1);
        INFO(listed.at("team-a").dump());
        CHECK(listed.at("team-a").value("activeSeries", -1) == k_cap_a);
        CHECK(listed.at("team-a").value("maxSeries", -1) == k_cap_a);
        CHECK(listed.at("team-a").value("droppedSeries", -1) == k_cap_a);
        CHECK(listed.at("team-b").value("activeSeries", -1) == 2 * k_cap_a);
        CHECK(listed.at("team-b").value("droppedSeries", -1) == 0);

        d.process().signal(SIGTERM);
        CHECK(d.process().wait_exit(30s) == 0);
    }

    // The same state directory: the trackers of both tenants come back from it.
    test::running_daemon d(args);
    const auto t1 = t0 + 30'000;
    // team-a: 10 new series first (with its state forgotten they would fill a fresh cap), then
    // its admitted series again; team-b: its series again plus 10 new.
    CHECK(send(d.ingest_port(), "team-a", "a_req", 1000, 10, t1) == 204);
    for (const auto& [id, n] : a_ids)
        CHECK(send(d.ingest_port(), "team-a", "a_req", std::stoi(id), 1, t1) == 204);
    CHECK(send(d.ingest_port(), "team-b", "b_req", 0, 2 * k_cap_a + 10, t1) == 204);
    const auto before = a_ids;
    CHECK(test::eventually(
        [&] {
            a_ids = test::query_by_label(backend.port(), "count_over_time(a_req[10m])", "id");
            b_ids = test::query_by_label(backend.port(), "count_over_time(b_req[10m])", "id");
            if (b_ids.size() != static_cast<std::size_t>(2 * k_cap_a + 10)) return false;
            for (const auto& [id, n] : a_ids)
                if (n != 2) return false;
            return a_ids.size() == static_cast<std::size_t>(k_cap_a);
        },
        60s, {&backend.process()}));
    // team-a: the same series as before restart, each now twice; none of the 10 new ones.
    CHECK(a_ids.size() == before.size());
    for (const auto& [id, n] : before) CHECK(a_ids.count(id) == 1);
    CHECK(
        scrape(
            d,
            R"(metrics_governor_tenant_series_dropped_total{reason="tenant_max_series",tenant="team-a"})") ==
        10);
    // team-b: every series arrived, the old ones twice.
    for (int i = 0; i < 2 * k_cap_a; ++i) CHECK(b_ids[std::to_string(i)] == 2);
    CHECK(
        scrape(
            d,
            R"(metrics_governor_tenant_series_dropped_total{reason="tenant_max_series",tenant="team-b"})") ==
        0);
}
