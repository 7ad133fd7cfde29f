// Issue 21's restart point against the real binary: an overflow counter keeps increasing across a
// clean restart. The daemon folds three counters past a limit of 2 into one overflow series and
// emits it to a fake backend; SIGTERM saves the fold state (overflow.state.gz beside meta.json);
// the next start takes it back, so the overflow series goes on from its total (no new 0, no
// decrease) and the increases the folded series made while the daemon was down are counted on
// their first sample after the restart. A crash (no state file) is the documented one reset.
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "persistence_helpers.h"
#include "protocol/compression.h"
#include "protocol/remote_write.h"
#include "protocol/series_samples.h"
#include "shared/temp_dir.h"
#include "support/fake_backend.h"

using namespace std::chrono_literals;
using namespace persistence_helpers;
using mg::test::running_daemon;
using mg::test::temp_dir;

namespace {

// Counters r_total{id} for ids [0, 5): ids 0 and 1 pass the limit of 2, ids 2-4 are folded.
std::string counters(double base, std::int64_t ts_ms) {
    std::vector<mg::protocol::owned_timeseries> ts;
    for (int i = 0; i < 5; ++i) {
        mg::protocol::owned_timeseries s;
        s.labels = {{"__name__", "r_total"}, {"id", std::to_string(i)}};
        s.samples = {{base + 1000.0 * i, ts_ms}};
        ts.push_back(std::move(s));
    }
    return mg::test::prw_body(ts);
}

// The overflow series' samples (value, timestamp) in every request the backend got, in order.
std::vector<mg::protocol::float_sample> overflow_samples(
    const std::vector<mg::test::recorded_request>& reqs) {
    std::vector<mg::protocol::float_sample> out;
    for (const auto& r : reqs) {
        std::string raw;
        if (!mg::protocol::snappy_decode(r.body, 1 << 26, raw)) continue;
        mg::protocol::series_batch b;
        if (!mg::protocol::decode_remote_write_v1(raw, b)) continue;
        for (std::size_t i = 0; i < b.size(); ++i) {
            bool overflow = false;
            for (const auto& l : b[i].labels) overflow = overflow || l.name == "overflow";
            if (!overflow) continue;
            mg::protocol::series_samples s;
            mg::protocol::read_series_samples(b, i, s);
            out.insert(out.end(), s.samples.begin(), s.samples.end());
        }
    }
    return out;
}

bool last_is(const std::vector<mg::test::recorded_request>& reqs, double value) {
    const auto s = overflow_samples(reqs);
    return !s.empty() && s.back().value == value;
}

}  // namespace

TEST_CASE("overflow restart: a counter's overflow series goes on from its total",
          "[persistence][overflow]") {
    mg::test::fake_backend backend;
    temp_dir dir;
    dir.write("limits.yaml",
              "rules:\n  - name: fold\n    match: {metric_name: r_total}\n    max_cardinality: 2\n"
              "    action: overflow\n");
    const std::string state = dir.file("bloom-state");
    const std::vector<std::string> args{"-exporter-endpoint=" + backend.url(),
                                        "-limits-config",
                                        dir.file("limits.yaml"),
                                        "-flush-interval=50ms",
                                        "-overflow-interval=1s",
                                        "-bloom-persistence-enabled=true",
                                        "-bloom-persistence-path=" + state,
                                        "-bloom-persistence-save-interval=1h"};
    const std::int64_t t0 = 1700000000000;
    {
        running_daemon d(args);
        REQUIRE(post(d, counters(100, t0)) == 204);         // first samples: add nothing
        REQUIRE(post(d, counters(110, t0 + 1000)) == 204);  // 3 folded x 10
        REQUIRE(backend.wait_until([](const auto& reqs) { return last_is(reqs, 30); }, 30s));
        d.process().signal(SIGTERM);
        REQUIRE(d.process().wait_exit(20s) == 0);
        const auto saved = log_line(d.process().output(), "overflow state saved");
        REQUIRE(saved);
        CHECK((*saved)["series"] == 1);
    }
    struct stat st {};
    REQUIRE(::stat((state + "/overflow.state.gz").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    const auto before = overflow_samples(backend.requests());

    // Down for a while: each folded counter went on by 5 meanwhile, then by 2 more.
    running_daemon d(args);
    const auto restored = log_line(d.process().output(), "overflow state restored");
    REQUIRE(restored);
    CHECK((*restored)["series"] == 1);
    CHECK((*restored)["tracked"] == 3);
    // Taken back once: a crash from here must not take the same state back again.
    CHECK_FALSE(std::filesystem::exists(state + "/overflow.state.gz"));
    REQUIRE(post(d, counters(115, t0 + 60000)) == 204);  // 3 x 5 made while down
    REQUIRE(post(d, counters(117, t0 + 61000)) == 204);  // 3 x 2
    REQUIRE(backend.wait_until([](const auto& reqs) { return last_is(reqs, 51); }, 30s));
    const auto page = mg::test::http_get(d.stats_port(), "/metrics").body;
    CHECK(metric_value(page, "metrics_governor_overflow_series_restored_total") == 1);
    CHECK(metric_value(page, "metrics_governor_overflow_state_refused_total") == 0);

    // Across both runs: one 0 at the start, then never down, timestamps forward.
    const auto all = overflow_samples(backend.requests());
    REQUIRE(all.size() > before.size());
    CHECK(all.front().value == 0);
    for (std::size_t i = 1; i < all.size(); ++i) {
        CHECK(all[i].value >= all[i - 1].value);
        CHECK(all[i].timestamp_ms > all[i - 1].timestamp_ms);
    }
    d.process().signal(SIGTERM);
    CHECK(d.process().wait_exit(20s) == 0);
}

TEST_CASE("overflow restart: an unreadable saved state is kept aside, counted, and skipped",
          "[persistence][overflow]") {
    mg::test::fake_backend backend;
    temp_dir dir;
    const std::string state = dir.file("bloom-state");
    std::filesystem::create_directories(state);
    dir.write("bloom-state/overflow.state.gz", "not a gzip stream");
    running_daemon d({"-exporter-endpoint=" + backend.url(), "-bloom-persistence-enabled=true",
                      "-bloom-persistence-path=" + state});
    const auto warned = log_line(d.process().output(),
                                 "overflow state not restored; overflow counters start again at 0");
    REQUIRE(warned);
    CHECK((*warned)["error"].get<std::string>().find("overflow.state.gz") != std::string::npos);
    CHECK(std::filesystem::exists(state + "/overflow.state.gz.corrupt"));
    CHECK_FALSE(std::filesystem::exists(state + "/overflow.state.gz"));
    const auto page = mg::test::http_get(d.stats_port(), "/metrics").body;
    CHECK(metric_value(page, "metrics_governor_overflow_state_refused_total") == 1);
    d.process().signal(SIGTERM);
    CHECK(d.process().wait_exit(20s) == 0);
}
