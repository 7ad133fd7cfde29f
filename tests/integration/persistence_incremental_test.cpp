// Incremental saves through the real binary (docs/persistence.md, "Incremental saves"): with
// -bloom-persistence-incremental=false every save writes whole tracker files and no increment
// file ever appears; with increments on (the default) the bytes they write show on /metrics as
// bloom_persistence_written_bytes_total{kind="increment"}, growing while new series arrive. The
// crash loops with increments are in persistence_test.cpp.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "persistence_helpers.h"
#include "support/daemon.h"
#include "support/http_client.h"
#include "support/metrics_page.h"

using namespace std::chrono_literals;
using mg::test::running_daemon;
using mg::test::temp_dir;
using namespace persistence_helpers;
namespace fs = std::filesystem;

namespace {

const std::string k_increment_bytes = R"(bloom_persistence_written_bytes_total{kind="increment"})";
const std::string k_snapshot_bytes = R"(bloom_persistence_written_bytes_total{kind="snapshot"})";

double written(const running_daemon& d, const std::string& series) {
    return metric_value(mg::test::http_get(d.stats_port(), "/metrics").body, series).value_or(-1);
}

// The "increments" field of a "bloom state saved" line.
int increments_of(const std::string& line) {
    const auto j = nlohmann::json::parse(line.substr(line.find('{')), nullptr, false);
    return j.is_discarded() ? -1 : j.value("increments", -1);
}

}  // namespace

// (A test name must not start with '-': ctest passes it to the binary as an argument.)
TEST_CASE(
    "incremental saves off (-bloom-persistence-incremental=false): every save writes whole "
    "trackers, no increment file appears",
    "[persistence]") {
    temp_dir dir;
    const std::string state = dir.file("bloom-state");
    running_daemon d({"-bloom-persistence-enabled=true", "-bloom-persistence-path=" + state,
                      "-bloom-persistence-save-interval=10ms",
                      "-bloom-persistence-incremental=false"});
    dir_watch watch(state + "/trackers");
    std::vector<std::string> created;
    // New series before every save: with increments on, every save after the first of each
    // tracker would be an increment (the next test).
    int saves = 0;
    for (int i = 0; i < 5; ++i) {
        REQUIRE(post(d, body("whole", i * 50, i * 50 + 50, 4)) == 204);
        const auto line = d.process().wait_for_line("\"msg\":\"bloom state saved\"", 10s);
        REQUIRE(line);
        CHECK(increments_of(*line) == 0);
        ++saves;
        for (auto& n : watch.created(0ms)) created.push_back(std::move(n));
    }
    d.process().signal(SIGTERM);
    REQUIRE(d.process().wait_exit(20s) == 0);
    for (auto& n : watch.created(0ms)) created.push_back(std::move(n));

    INFO("saves " << saves);
    std::size_t bases = 0;
    for (const auto& n : created) {
        INFO(n);
        CHECK(n.find(".inc") == std::string::npos);
        bases += n.find(".bloom.gz") != std::string::npos ? 1 : 0;
    }
    CHECK(bases > 4);  // the trackers were written again as they changed: whole files each time
    for (const auto& e : fs::directory_iterator(state + "/trackers")) {
        INFO(e.path());
        CHECK(e.path().string().ends_with(".bloom.gz"));
    }
    std::ifstream meta_file(state + "/meta.json");
    const auto meta = nlohmann::json::parse(meta_file);
    CHECK(meta["trackers"].size() == 4);
    for (const auto& [key, e] : meta["trackers"].items()) {
        INFO(key);
        CHECK((!e.contains("increments") || e["increments"].empty()));
    }

    // Restored from whole files alone.
    running_daemon again({"-bloom-persistence-enabled=true", "-bloom-persistence-path=" + state,
                          "-bloom-persistence-incremental=false"});
    const auto restored = log_line(again.process().output(), "bloom state restore complete");
    REQUIRE(restored);
    CHECK((*restored)["loaded"] == 4);
    CHECK((*restored)["errors"] == 0);
    CHECK((*restored)["increments_applied"] == 0);
    CHECK(written(again, k_increment_bytes) == 0.0);
    again.process().signal(SIGTERM);
    CHECK(again.process().wait_exit(20s) == 0);
}

TEST_CASE(
    "bloom_persistence_written_bytes_total{kind=\"increment\"} grows while new series "
    "arrive",
    "[persistence]") {
    temp_dir dir;
    const std::string state = dir.file("bloom-state");
    // snapshot_ratio 100: no compaction (the default 0.5 makes a new base after an increment or
    // two of these small, well-compressed trackers), so every save after the first of each
    // tracker is an increment, and the snapshot bytes stay where the first save left them.
    running_daemon d({"-bloom-persistence-enabled=true", "-bloom-persistence-path=" + state,
                      "-bloom-persistence-save-interval=10ms",
                      "-bloom-persistence-snapshot-ratio=100"});
    // The first save of each tracker is a base; what follows are increments.
    REQUIRE(post(d, body("grow", 0, 50, 4)) == 204);
    // Until the four bases are indexed (a save pass may have begun while the request created
    // the trackers, and taken only some of them).
    auto indexed = [&] {
        std::ifstream meta_file(state + "/meta.json");
        const auto meta = nlohmann::json::parse(meta_file, nullptr, false);
        return meta.is_discarded() ? 0 : static_cast<int>(meta["trackers"].size());
    };
    const auto bases_by = std::chrono::steady_clock::now() + 10s;
    while (indexed() < 4 && std::chrono::steady_clock::now() < bases_by)
        (void)d.process().wait_for_line("\"msg\":\"bloom state saved\"", 1s);
    REQUIRE(indexed() == 4);
    double before = written(d, k_increment_bytes);
    CHECK(before >= 0.0);  // the series is on the page from the start
    const double snapshot_bytes = written(d, k_snapshot_bytes);
    CHECK(snapshot_bytes > 0.0);
    for (int i = 1; i <= 4; ++i) {
        INFO("batch " << i << ", increment bytes before " << before);
        REQUIRE(post(d, body("grow", i * 50, i * 50 + 50, 4)) == 204);
        // Awaited save by save: each pass that saved something logs a line.
        double now = written(d, k_increment_bytes);
        const auto give_up = std::chrono::steady_clock::now() + 10s;
        while (now <= before && std::chrono::steady_clock::now() < give_up) {
            (void)d.process().wait_for_line("\"msg\":\"bloom state saved\"", 1s);
            now = written(d, k_increment_bytes);
        }
        CHECK(now > before);
        before = now;
    }
    CHECK(written(d, k_snapshot_bytes) == snapshot_bytes);
    // The increments are on disk, listed in meta.json beside their bases.
    std::size_t increment_files = 0;
    for (const auto& e : fs::directory_iterator(state + "/trackers"))
        increment_files += e.path().string().ends_with(".inc.gz") ? 1 : 0;
    CHECK(increment_files > 0);
    std::ifstream meta_file(state + "/meta.json");
    const auto meta = nlohmann::json::parse(meta_file);
    std::size_t listed = 0;
    for (const auto& [key, e] : meta["trackers"].items())
        listed += e.contains("increments") ? e["increments"].size() : 0;
    CHECK(listed > 0);
    d.process().signal(SIGTERM);
    CHECK(d.process().wait_exit(20s) == 0);
}
