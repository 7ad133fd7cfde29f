// Bloom state that is never silently lost, through the real binary: a tracker fed only known
// series survives a restart with a short state_ttl, a garbage meta.json is rebuilt from the
// files, a state directory removed while running comes back, 0 means no limit, the gauges are
// current at scrape time with one memory figure, and an exit after loss is not exit 0.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "persistence_helpers.h"
#include "support/daemon.h"
#include "support/fake_backend.h"
#include "support/http_client.h"
#include "support/metrics_page.h"

using namespace std::chrono_literals;
using namespace persistence_helpers;
using mg::test::running_daemon;
using mg::test::temp_dir;
namespace fs = std::filesystem;

namespace {

// Polls /metrics until `pred` holds for the page (false after `timeout`).
bool wait_for_page(const running_daemon& d, const std::function<bool(const std::string&)>& pred,
                   std::chrono::seconds timeout = 20s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
        if (pred(mg::test::http_get(d.stats_port(), "/metrics").body)) return true;
        std::this_thread::sleep_for(20ms);  // polling a condition another process makes true
    }
    return false;
}

bool wait_for_file(const std::string& path, std::chrono::seconds timeout = 20s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!fs::exists(path) && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(10ms);
    return fs::exists(path);
}

std::vector<std::string> persistence_args(const mg::test::fake_backend& backend,
                                          const std::string& state) {
    return {"-exporter-endpoint=" + backend.url(), "-flush-interval=50ms",
            "-bloom-persistence-enabled=true", "-bloom-persistence-path=" + state};
}

}  // namespace

TEST_CASE("a tracker fed only known series is restored even with a state_ttl under its save age",
          "[persistence][issue14]") {
    mg::test::fake_backend backend;
    temp_dir dir;
    const std::string state = dir.file("bloom-state");
    auto args = persistence_args(backend, state);
    args.insert(args.end(),
                {"-bloom-persistence-state-ttl=3s", "-bloom-persistence-save-interval=200ms"});
    {
        running_daemon d(args);
        REQUIRE(post(d, body("busy", 0, 5)) == 204);
        REQUIRE(wait_for_file(state + "/meta.json"));
        // The same series for longer than the TTL: in use all along, never changed.
        const auto until = std::chrono::steady_clock::now() + 5s;
        while (std::chrono::steady_clock::now() < until) {
            REQUIRE(post(d, body("busy", 0, 5)) == 204);
            std::this_thread::sleep_for(
                100ms);  // a sender's scrape interval, not a wait for a condition
        }
        d.process().signal(SIGTERM);
        REQUIRE(d.process().wait_exit(20s) == 0);
    }
    running_daemon d(args);
    const auto restored = log_line(d.process().output(), "bloom state restore complete");
    REQUIRE(restored);
    CHECK((*restored)["loaded"] == 1);
    CHECK((*restored)["skipped_stale"] == 0);
    const auto page = mg::test::http_get(d.stats_port(), "/metrics").body;
    CHECK(metric_value(page, R"(metrics_governor_metric_cardinality{metric_name="busy"})") == 5.0);
}

TEST_CASE("a garbage meta.json is rebuilt from the tracker files and the limit holds",
          "[persistence][issue14]") {
    mg::test::fake_backend backend;
    temp_dir dir;
    dir.write(
        "limits.yaml",
        "rules:\n  - name: small\n    match: {metric_name: capped}\n    max_cardinality: 3\n");
    const std::string state = dir.file("bloom-state");
    auto args = persistence_args(backend, state);
    args.insert(args.end(),
                {"-limits-config", dir.file("limits.yaml"), "-bloom-persistence-save-interval=1h"});
    {
        running_daemon d(args);
        CHECK(post(d, body("capped", 0, 5)) == 204);
        d.process().signal(SIGTERM);
        REQUIRE(d.process().wait_exit(20s) == 0);
    }
    std::ofstream(state + "/meta.json", std::ios::trunc) << "garbage, not JSON";
    running_daemon d(args);
    const auto out = d.process().output();
    CHECK(out.find("rebuilding it from the tracker files") != std::string::npos);
    const auto restored = log_line(out, "bloom state restore complete");
    REQUIRE(restored);
    CHECK((*restored)["loaded"] == 1);
    CHECK(fs::exists(state + "/meta.json.corrupt"));
    CHECK_FALSE(fs::is_empty(state + "/trackers"));
    const auto page = mg::test::http_get(d.stats_port(), "/metrics").body;
    CHECK(metric_value(page, R"(metrics_governor_metric_cardinality{metric_name="capped"})") ==
          3.0);
    CHECK(metric_value(page, "bloom_persistence_index_recovered_total") == 1.0);
}

TEST_CASE("the state directory removed while running is recreated and saved again",
          "[persistence][issue14]") {
    mg::test::fake_backend backend;
    temp_dir dir;
    const std::string state = dir.file("bloom-state");
    auto args = persistence_args(backend, state);
    args.insert(args.end(), {"-bloom-persistence-save-interval=100ms"});
    {
        running_daemon d(args);
        REQUIRE(post(d, body("m", 0, 5)) == 204);
        REQUIRE(wait_for_file(state + "/meta.json"));
        fs::remove_all(state);
        CHECK(wait_for_file(state + "/meta.json"));
        CHECK(wait_for_page(d, [](const std::string& p) {
            return metric_value(p, "bloom_persistence_directory_recreated_total") == 1.0;
        }));
        CHECK(metric_value(mg::test::http_get(d.stats_port(), "/metrics").body,
                           "bloom_persistence_degraded") == 0.0);
        d.process().signal(SIGTERM);
        REQUIRE(d.process().wait_exit(20s) == 0);
        CHECK(d.process().output().find("directory was missing and has been recreated") !=
              std::string::npos);
    }
    running_daemon d(args);
    const auto restored = log_line(d.process().output(), "bloom state restore complete");
    REQUIRE(restored);
    CHECK((*restored)["loaded"] == 1);
}

TEST_CASE("max_size=0 and max_memory=0 mean no limit: nothing is evicted",
          "[persistence][issue14]") {
    mg::test::fake_backend backend;
    temp_dir dir;
    const std::string state = dir.file("bloom-state");
    auto args = persistence_args(backend, state);
    args.insert(args.end(), {"-bloom-persistence-max-memory=0", "-bloom-persistence-max-size=0",
                             "-bloom-persistence-save-interval=100ms",
                             "-bloom-persistence-cleanup-interval=100ms"});
    running_daemon d(args);
    REQUIRE(post(d, body("metric", 0, 30, 3)) == 204);
    // Several save and cleanup passes after the trackers exist.
    REQUIRE(wait_for_page(d, [](const std::string& p) {
        return metric_value(p, "bloom_persistence_cleanups_total").value_or(0) >= 3 &&
               metric_value(p, R"(bloom_persistence_saves_total{status="success"})").value_or(0) >=
                   3;
    }));
    const auto page = mg::test::http_get(d.stats_port(), "/metrics").body;
    CHECK(metric_value(page, "bloom_persistence_trackers_total") == 3.0);
    CHECK(mg::test::family_sum(page, "bloom_persistence_evictions_total") == 0.0);
    d.process().signal(SIGTERM);
    CHECK(d.process().wait_exit(20s) == 0);
}

TEST_CASE("the persistence gauges are current at scrape time, with the governor's memory figure",
          "[persistence][issue14]") {
    mg::test::fake_backend backend;
    temp_dir dir;
    auto args = persistence_args(backend, dir.file("bloom-state"));
    args.insert(args.end(), {"-bloom-persistence-save-interval=1h"});
    running_daemon d(args);
    REQUIRE(post(d, body("metric", 0, 20, 2)) == 204);
    const auto page = mg::test::http_get(d.stats_port(), "/metrics").body;  // no save has run
    CHECK(metric_value(page, "bloom_persistence_trackers_total") == 2.0);
    CHECK(metric_value(page, "bloom_persistence_dirty_trackers") == 2.0);
    const auto memory = metric_value(page, "bloom_persistence_memory_usage_bytes");
    REQUIRE(memory);
    CHECK(*memory > 0);
    CHECK(memory == metric_value(page, "metrics_governor_tracker_memory_bytes"));
    d.process().signal(SIGTERM);
    CHECK(d.process().wait_exit(20s) == 0);
}

TEST_CASE("an exit after loss is not exit 0: the export queue not drained exits 3",
          "[persistence][issue14]") {
    mg::test::fake_backend backend;
    backend.set_status(503);  // never accepts: the queue cannot drain
    temp_dir dir;
    running_daemon d(
        {"-exporter-endpoint=" + backend.url(), "-flush-interval=50ms", "-shutdown-timeout=1s"});
    REQUIRE(post(d, body("m", 0, 5)) == 204);
    REQUIRE(backend.wait_until([](const auto& reqs) { return !reqs.empty(); }));
    d.process().signal(SIGTERM);
    CHECK(d.process().wait_exit(20s) == 3);
    const auto out = d.process().output();
    CHECK(out.find("data lost") != std::string::npos);
    const auto stopped = log_line(out, "metrics-governor stopped");
    REQUIRE(stopped);
    CHECK((*stopped)["exit_code"] == 3);
}
