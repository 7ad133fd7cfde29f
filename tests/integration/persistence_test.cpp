// Bloom persistence through the real binary: the spec's "Verify Restart Recovery" (cardinality and
// limit decisions carry on after a restart) and the crash tests (kill -9 while saves run, with
// incremental saves on: at random moments, in the middle of increment writes, and while a tracker
// gets a new base after increments (a compaction; a rotation snapshot in the loop whose
// generations rotate every second). Startup never fails, never loads a corrupt tracker or skips
// an increment, and loses at most one save interval of inserts; each loop checks that it did
// write, apply and cut short increments, so it fails if increments silently stop).
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "persistence_helpers.h"
#include "protocol/compression.h"
#include "protocol/remote_write.h"
#include "support/daemon.h"
#include "support/fake_backend.h"
#include "support/http_client.h"
#include "support/metrics_page.h"
#include "support/remote_write_client.h"

using namespace std::chrono_literals;
using mg::test::k_prw_headers;
using mg::test::received_ids;
using mg::test::running_daemon;
using mg::test::temp_dir;
using namespace persistence_helpers;
namespace bhttp = boost::beast::http;
namespace proto = mg::protocol;
namespace fs = std::filesystem;

namespace {

unsigned mode_of(const fs::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_mode & 0777;
}

}  // namespace

namespace {

// When a life of the daemon is killed.
enum class kill_mode {
    random_moment,    // a random 0-80 ms into saves running back to back
    increment_write,  // as soon as an increment file's write begins
    layer_write,      // as soon as a generation file's write begins (a head or a frozen one)
};

struct crash_plan {
    int rounds = 0;
    std::vector<std::string> extra_args;
    // The -cardinality-window and -generations; {} for the default hour, which no test outlives.
    std::chrono::milliseconds window{};
    int generations = 3;
    std::vector<kill_mode> modes;             // round i uses modes[i % size]
    std::chrono::milliseconds max_burst{80};  // of random_moment
    std::chrono::milliseconds save_interval{10};
};

// What the lives of a crash loop did, for the test to check that it exercised what it meant to.
struct crash_tally {
    int saves_with_increments = 0;     // "bloom state saved" lines with increments > 0
    int restores_with_increments = 0;  // restores that applied an increment
    int increments_applied = 0;
    int targeted_kills = 0;        // lives killed on the write they waited for
    int killed_in_increment = 0;   // an increment's .tmp, or an increment not yet indexed, left
    int killed_in_layers = 0;      // a generation file's .tmp, or one not yet indexed, left
    int saves_with_layers = 0;     // "bloom state saved" lines with generation_files > 0
    int restores_with_layers = 0;  // restores that loaded a tracker from generation files
    int restores_expired = 0;      // restored counts that expiry made smaller than all saved
    int guaranteed_max = 0;        // the largest lower bound a restore was checked against
};

// A batch of series the daemon acknowledged.
struct acked_batch {
    std::chrono::steady_clock::time_point sent, acked;
    int series = 0;
    bool saved = false;  // a save pass that started after the ack finished
};

std::ostream& operator<<(std::ostream& o, const crash_tally& t) {
    return o << "saves with increments " << t.saves_with_increments << ", restores with increments "
             << t.restores_with_increments << " (" << t.increments_applied
             << " applied), targeted kills " << t.targeted_kills << ", killed in an increment "
             << t.killed_in_increment << ", killed in generation files " << t.killed_in_layers
             << ", saves with generation files " << t.saves_with_layers
             << ", restores from generation files " << t.restores_with_layers
             << ", restores after expiry " << t.restores_expired << ", largest guaranteed "
             << t.guaranteed_max;
}

bool is_layer_file(const std::string& name) {
    return name.ends_with(".head.gz") || name.ends_with(".gen.gz");
}

// Looks at what a kill left in the state directory: a write of an increment or of generation
// files cut short (or between its files and the index that lists them).
void inspect_after_kill(const std::string& state, crash_tally& t) {
    std::set<std::string> listed_increments;
    std::set<std::string> listed_layers;
    std::ifstream meta_file(state + "/meta.json");
    if (meta_file) {
        const auto meta = nlohmann::json::parse(meta_file, nullptr, false);
        if (!meta.is_discarded() && meta.contains("trackers")) {
            for (const auto& [key, e] : meta["trackers"].items()) {
                if (!e.contains("increments")) continue;
                for (const auto& inc : e["increments"]) {
                    listed_increments.insert(
                        e["hash"].get<std::string>() + "." +
                        (std::ostringstream{} << std::hex << std::setw(8) << std::setfill('0')
                                              << inc["base_checksum"].get<std::uint32_t>())
                            .str() +
                        "." + std::to_string(inc["seq"].get<std::uint64_t>()) + ".inc.gz");
                }
            }
            for (const auto& [key, e] : meta["trackers"].items()) {
                if (!e.contains("layers")) continue;
                const auto hash = e["hash"].get<std::string>();
                const auto& layers = e["layers"];
                listed_layers.insert(hash + "." +
                                     std::to_string(layers["head"]["id"].get<std::uint64_t>()) +
                                     ".head.gz");
                for (const auto& f : layers["frozen"])
                    if (f["id"].get<std::uint64_t>() != 0)
                        listed_layers.insert(
                            hash + "." + std::to_string(f["id"].get<std::uint64_t>()) + ".gen.gz");
            }
        }
    }
    bool in_increment = false, in_layers = false;
    for (const auto& f : fs::directory_iterator(state + "/trackers")) {
        const auto name = f.path().filename().string();
        if (name.ends_with(".inc.gz.tmp") ||
            (name.ends_with(".inc.gz") && listed_increments.count(name) == 0))
            in_increment = true;
        if (name.ends_with(".head.gz.tmp") || name.ends_with(".gen.gz.tmp") ||
            (is_layer_file(name) && listed_layers.count(name) == 0))
            in_layers = true;
    }
    t.killed_in_increment += in_increment ? 1 : 0;
    t.killed_in_layers += in_layers ? 1 : 0;
}

// kill -9 at chosen or random moments while saves run back to back, `plan.rounds` times. Checks
// after every restart: startup never fails, restore reports no error and skips no increment
// (atomic renames: a kill leaves no torn file that the index lists), every series acknowledged
// before a save pass that started later and finished is counted (unless the window expired it
// since), and nothing is counted that was not acknowledged (or that the window expired).
crash_tally crash_loop(const crash_plan& plan) {
    temp_dir dir;
    const std::string state = dir.file("bloom-state");
    // A tight false-positive rate, so a count below what was saved means lost state, not chance.
    const double fp_rate = 0.0001;
    std::vector<std::string> args{
        "-bloom-persistence-enabled=true", "-bloom-persistence-path=" + state,
        "-bloom-persistence-save-interval=" + std::to_string(plan.save_interval.count()) + "ms",
        "-cardinality-fp-rate=0.0001"};
    // A series is seen until its generation expires: at least (N-1)/N of the window after it was
    // sent, at most the window after its ack. The slack covers the clocks of two processes.
    const std::chrono::milliseconds never = std::chrono::hours(24);
    auto surely_kept = never, surely_gone = never;
    const auto slack = 250ms;
    if (plan.window.count() > 0) {
        args.push_back("-cardinality-window=" + std::to_string(plan.window.count()) + "ms");
        args.push_back("-cardinality-generations=" + std::to_string(plan.generations));
        surely_kept = plan.window - plan.window / plan.generations - slack;
        surely_gone = plan.window + slack;
    }
    args.insert(args.end(), plan.extra_args.begin(), plan.extra_args.end());

    std::mt19937 rng(20261122);
    crash_tally tally;
    std::vector<acked_batch> batches;
    int next_id = 0;
    // Without expiry a finished save also holds what was restored, whichever batches those were:
    // the most series known at an ack that such a save followed.
    int carried = 0;
    for (int round = 0; round < plan.rounds; ++round) {
        const kill_mode mode = plan.modes[static_cast<std::size_t>(round) % plan.modes.size()];
        running_daemon d(args);  // throws if startup fails
        const auto restored = log_line(d.process().output(), "bloom state restore complete");
        REQUIRE(restored);
        const auto failure = log_line(d.process().output(), "failed to load tracker");
        const auto skipped = log_line(d.process().output(), "bloom state increment skipped");
        const auto layers_skipped = log_line(
            d.process().output(), "bloom state generation files skipped, loading the base file");
        CHECK_FALSE(layers_skipped);  // a kill never leaves a listed generation file torn
        for (const auto& line : log_lines(d.process().output(), "loaded tracker"))
            if (line.value("generation_files", 0) > 0) {
                ++tally.restores_with_layers;
                break;
            }
        INFO("round " << round << ", first load failure: " << (failure ? failure->dump() : "none")
                      << ", first increment skipped: " << (skipped ? skipped->dump() : "none"));
        CHECK((*restored)["errors"] == 0);  // never a corrupt tracker
        // Atomic renames: a kill never leaves a torn file that the index lists.
        CHECK((*restored)["increments_skipped"] == 0);
        const int applied = (*restored)["increments_applied"].get<int>();
        tally.increments_applied += applied;
        tally.restores_with_increments += applied > 0 ? 1 : 0;

        // The restored count: at least what was surely saved and not yet expired, at most what
        // was accepted and may not have expired.
        const auto asked = std::chrono::steady_clock::now();
        const auto api =
            nlohmann::json::parse(mg::test::http_get(d.stats_port(), "/api/v1/cardinality").body);
        const auto answered = std::chrono::steady_clock::now();
        const auto total = api["data"]["totalSeries"].get<int>();
        int guaranteed = 0, possible = 0, saved = 0;
        for (const auto& b : batches) {
            saved += b.saved ? b.series : 0;
            if (b.saved && answered < b.sent + surely_kept) guaranteed += b.series;
            if (asked < b.acked + surely_gone) possible += b.series;
        }
        if (plan.window.count() == 0) guaranteed = std::max(guaranteed, carried);
        const int tolerance = 1 + static_cast<int>(possible * fp_rate * 5);
        INFO("acked " << next_id << ", guaranteed " << guaranteed << ", possible " << possible
                      << ", restored " << total);
        CHECK(total >= guaranteed - tolerance);
        CHECK(total <= possible);
        tally.guaranteed_max = std::max(tally.guaranteed_max, guaranteed);
        tally.restores_expired += total < saved - tolerance ? 1 : 0;

        // Send batches. Each ack is followed by a drain of the log; two further "bloom state
        // saved" lines mean a save pass started after that ack and finished, so it holds
        // everything this process knew then: the restored series plus those acked since.
        // (Series of an earlier life killed before any save finished are legitimately lost.)
        dir_watch watch(state + "/trackers");
        int saves_seen = 0;
        // (batch, saves seen at its ack, series known then)
        std::vector<std::tuple<std::size_t, int, int>> marks;
        int known = total;
        auto saw_save = [&](const std::string& line) {
            ++saves_seen;
            const auto j = nlohmann::json::parse(line.substr(line.find('{')), nullptr, false);
            if (!j.is_discarded() && j.value("increments", 0) > 0) ++tally.saves_with_increments;
            if (!j.is_discarded() && j.value("generation_files", 0) > 0) ++tally.saves_with_layers;
        };
        auto count_saves = [&] {
            while (const auto l = d.process().wait_for_line("\"msg\":\"bloom state saved\"", 0ms))
                saw_save(*l);
        };
        auto send_one = [&] {
            acked_batch b;
            b.sent = std::chrono::steady_clock::now();
            REQUIRE(post(d, body("crash", next_id, next_id + 100, 20)) == 204);
            b.acked = std::chrono::steady_clock::now();
            b.series = 100;
            next_id += 100;
            batches.push_back(b);
            known += b.series;
            count_saves();
            marks.emplace_back(batches.size() - 1, saves_seen, known);
        };
        // First 0 to 3 rounds of "send a batch, wait for a save to finish" (so some lives keep
        // data), then batches while the next saves run back to back, until the kill.
        const int settled = static_cast<int>(rng() % 4);
        for (int i = 0; i < settled; ++i) {
            send_one();
            if (const auto l = d.process().wait_for_line("\"msg\":\"bloom state saved\"", 10s))
                saw_save(*l);
        }
        if (mode == kill_mode::random_moment) {
            const auto kill_at = std::chrono::steady_clock::now() +
                                 std::chrono::milliseconds(rng() % plan.max_burst.count());
            do {
                send_one();
            } while (std::chrono::steady_clock::now() < kill_at);
        } else {
            // Until the write waited for begins: then the kill lands during it (an fsync'd write
            // takes far longer than a signal). A life that never sees one is killed anyway.
            const auto give_up = std::chrono::steady_clock::now() + 5s;
            bool hit = false;
            while (!hit && std::chrono::steady_clock::now() < give_up) {
                send_one();
                for (const auto& name : watch.created(20ms)) {
                    if (name.ends_with(".inc.gz.tmp"))
                        hit = hit || mode == kill_mode::increment_write;
                    else if (name.ends_with(".head.gz.tmp") || name.ends_with(".gen.gz.tmp"))
                        hit = hit || mode == kill_mode::layer_write;
                }
            }
            tally.targeted_kills += hit ? 1 : 0;
        }
        d.process().signal(SIGKILL);
        d.process().wait_exit(20s);
        count_saves();
        for (const auto& [batch, seen, n] : marks) {
            if (saves_seen - seen < 2) continue;
            batches[batch].saved = true;
            carried = std::max(carried, n);
        }
        inspect_after_kill(state, tally);
    }
    return tally;
}

}  // namespace

TEST_CASE("Verify Restart Recovery: cardinality and limit decisions carry on after a restart",
          "[persistence]") {
    mg::test::fake_backend backend;
    temp_dir dir;
    dir.write(
        "limits.yaml",
        "rules:\n  - name: small\n    match: {metric_name: capped}\n    max_cardinality: 3\n");
    const std::string state = dir.file("bloom-state");
    const std::vector<std::string> args{"-exporter-endpoint=" + backend.url(),
                                        "-limits-config",
                                        dir.file("limits.yaml"),
                                        "-flush-interval=50ms",
                                        "-bloom-persistence-enabled=true",
                                        "-bloom-persistence-path=" + state,
                                        "-bloom-persistence-save-interval=1h"};
    {
        running_daemon d(args);
        CHECK(post(d, body("capped", 0, 5)) == 204);
        CHECK(post(d, body("free", 0, 4)) == 204);
        REQUIRE(backend.wait_until(
            [](const auto& reqs) { return received_ids(reqs, "free").size() == 4; }));
        d.process().signal(SIGTERM);  // the final save writes what the 1h interval did not
        REQUIRE(d.process().wait_exit(20s) == 0);
        CHECK(d.process().output().find(
                  "\"msg\":\"final bloom state saved\",\"saved\":2,\"total\":2") !=
              std::string::npos);
    }

    // The spec's "Verify State Saved": meta.json lists the trackers; files are 0600 in 0700
    // directories.
    std::ifstream meta_file(state + "/meta.json");
    const auto meta = nlohmann::json::parse(meta_file);
    CHECK(meta["version"] == 1);
    CHECK(meta["trackers"].size() == 2);
    CHECK(meta["trackers"]["stats:metric:capped"]["count"] == 3);
    CHECK(meta["trackers"]["stats:metric:free"]["count"] == 4);
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(state + "/trackers")) {
        ++files;
        CHECK(e.path().string().ends_with(".bloom.gz"));
        CHECK(mode_of(e.path()) == 0600);
    }
    CHECK(files == 2);
    CHECK(mode_of(state) == 0700);
    CHECK(mode_of(state + "/meta.json") == 0600);

    running_daemon d(args);
    const auto restored = log_line(d.process().output(), "bloom state restore complete");
    REQUIRE(restored);
    CHECK((*restored)["loaded"] == 2);
    CHECK((*restored)["errors"] == 0);
    const auto loaded = log_line(d.process().output(), "loaded tracker");
    REQUIRE(loaded);
    CHECK((*loaded).contains("count"));
    CHECK((*loaded).contains("age"));

    // The cardinality continues from the saved state, before any new data.
    const auto metrics = mg::test::http_get(d.stats_port(), "/metrics").body;
    CHECK(metric_value(metrics, R"(metrics_governor_metric_cardinality{metric_name="capped"})") ==
          3.0);
    CHECK(metric_value(metrics, R"(metrics_governor_metric_cardinality{metric_name="free"})") ==
          4.0);
    CHECK(metric_value(metrics, "bloom_persistence_trackers_total") == 2.0);
    CHECK(metric_value(metrics, R"(bloom_persistence_loads_total{status="success"})") == 2.0);

    // And so do the decisions: the known series passes, a new one is still over the limit.
    const auto before = backend.requests().size();
    CHECK(post(d, body("capped", 1, 2)) == 204);
    CHECK(post(d, body("capped", 7, 8)) == 204);
    REQUIRE(backend.wait_until([&](const auto& reqs) { return reqs.size() > before; }));
    const auto after = received_ids(backend.requests(), "capped");
    CHECK(after == std::set<std::string>{"0", "1", "2"});
    const auto dropped = mg::test::http_get(d.stats_port(), "/metrics").body;
    CHECK(
        metric_value(
            dropped,
            R"(metrics_governor_series_dropped_total{reason="cardinality_limit",rule="small"})") ==
        1.0);

    // Every family the daemon exports with persistence on is documented in docs/metrics.md.
    std::ifstream doc_file(std::string(MG_SOURCE_DIR) + "/docs/metrics.md");
    REQUIRE(doc_file.good());
    const std::string doc((std::istreambuf_iterator<char>(doc_file)),
                          std::istreambuf_iterator<char>());
    std::istringstream lines(dropped);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("# TYPE ", 0) != 0) continue;
        const auto name = line.substr(7, line.find(' ', 7) - 7);
        INFO(name);
        CHECK(doc.find("`" + name + "`") != std::string::npos);
    }
    d.process().signal(SIGTERM);
    CHECK(d.process().wait_exit(20s) == 0);
}

TEST_CASE(
    "kill -9 during saves, 50 rounds: startup never fails, nothing corrupt, at most one interval "
    "lost",
    "[persistence][crash]") {
    // Increments on (the default): the first save of a tracker is a base, the next ones
    // increments, and a compaction (snapshot_ratio) a new head. Kills at random moments, in the
    // middle of increment writes and of heads.
    crash_plan plan;
    plan.rounds = 50;
    plan.modes = {kill_mode::random_moment, kill_mode::increment_write, kill_mode::random_moment,
                  kill_mode::layer_write};
    const auto t = crash_loop(plan);
    INFO(t);
    CHECK(t.guaranteed_max > 0);  // the test did exercise restores with data
    // And it exercised increments: written, applied at restore, and cut short by kills.
    CHECK(t.saves_with_increments > 0);
    CHECK(t.restores_with_increments > 0);
    CHECK(t.targeted_kills > 0);
    CHECK(t.killed_in_increment > 0);
    CHECK(t.saves_with_layers > 0);
    CHECK(t.restores_with_layers > 0);
    CHECK(t.killed_in_layers > 0);
}

TEST_CASE(
    "kill -9 during saves with generations rotating every second: rotations cut short lose "
    "nothing saved, expired series stay expired",
    "[persistence][crash]") {
    // A 3 s window of three 1 s generations: every life of about a second sees rotations, and a
    // rotation makes the next save of each tracker a new head with the frozen generation's file.
    // snapshot_ratio 100 and a 50 ms interval keep compactions and the 64-increment cap out of
    // it, so generation files written in a life are a rotation's.
    crash_plan plan;
    plan.rounds = 16;
    plan.window = 3000ms;
    plan.generations = 3;
    plan.save_interval = 50ms;
    plan.extra_args = {"-bloom-persistence-snapshot-ratio=100"};
    plan.modes = {kill_mode::layer_write, kill_mode::random_moment, kill_mode::increment_write};
    plan.max_burst = 1500ms;
    const auto t = crash_loop(plan);
    INFO(t);
    CHECK(t.guaranteed_max > 0);
    CHECK(t.saves_with_increments > 0);
    CHECK(t.restores_with_increments > 0);
    CHECK(t.targeted_kills > 0);
    CHECK(t.killed_in_increment > 0);
    CHECK(t.saves_with_layers > 0);
    CHECK(t.restores_with_layers > 0);
    CHECK(t.killed_in_layers > 0);
    CHECK(t.restores_expired > 0);  // series expired across restarts, and restores honoured it
}
