// State that is never silently lost: trackers in use stay fresh on disk, a garbage index is
// rebuilt from the files, a vanished directory is recreated, the final save keeps its deadline,
// 0 means no limit, gauges and memory figures are current and agree, and every failure is logged
// as an error that the spec's troubleshooting grep finds.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "persistence/bloom_persistence.h"
#include "persistence/meta_index.h"
#include "persistence_fixture.h"
#include "shared/fault_file_system.h"
#include "shared/temp_dir.h"

using namespace persistence_fixture;

namespace {

std::optional<double> value(const std::string& page, const std::string& series) {
    std::istringstream in(page);
    for (std::string line; std::getline(in, line);)
        if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    return std::nullopt;
}

// Every log line of level warn or error.
std::vector<std::string> problems(const std::string& log) {
    std::vector<std::string> out;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);)
        if (line.find("\"level\":\"warn") != std::string::npos ||
            line.find("\"level\":\"error") != std::string::npos)
            out.push_back(line);
    return out;
}

std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("a tracker in use keeps its last_updated current without rewriting its file",
          "[persistence][issue14]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    mp::persistence_options o;
    o.state_ttl = 10min;  // below window/generations (20 min): the filter does not rotate meanwhile
    {
        life first(clock, dir.path(), o);
        first.send(request("busy", 0, 20));
        REQUIRE(first.persistence->save_now().saved == 1);
        const auto file = tracker_file(dir.path(), "stats:metric:busy");
        const auto bytes = read_all(file);
        // Known series only, for 15 minutes: the filter never changes, the tracker is in use.
        for (int minute = 0; minute < 15; ++minute) {
            clock.advance(1min);
            CHECK(first.send(request("busy", 0, 20)).size() == 20);
            const auto r = first.persistence->save_now();
            CHECK(r.saved == 0);
            CHECK(r.stamped == 1);
        }
        CHECK(read_all(file) == bytes);  // the stamp moved, not the filter
        const auto entry = meta_of(dir.path())["trackers"]["stats:metric:busy"];
        CHECK(entry["last_updated"] == mp::format_rfc3339(clock.wall_now()));
        CHECK(entry["count"] == 20);
        first.persistence->stop();
    }
    clock.advance(1min);  // a quick restart
    life second(clock, dir.path(), o);
    const auto r = second.persistence->restore();
    CHECK(r.loaded == 1);
    CHECK(r.skipped_stale == 0);
    second.governor.refresh();
    CHECK(second.active("busy") == 20);
}

TEST_CASE("a first save never has created_at after last_updated", "[persistence][issue14]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    life l(clock, dir.path());
    l.send(request("m", 0, 5));
    clock.advance(10s);  // saved a while after its last use
    REQUIRE(l.persistence->save_now().saved == 1);
    const auto entry = meta_of(dir.path())["trackers"]["stats:metric:m"];
    const auto created = mp::parse_rfc3339(entry["created_at"].get<std::string>());
    const auto updated = mp::parse_rfc3339(entry["last_updated"].get<std::string>());
    REQUIRE(created.ok());
    REQUIRE(updated.ok());
    CHECK(*created <= *updated);
}

TEST_CASE("a garbage meta.json: the index is rebuilt from the files, none is deleted",
          "[persistence][issue14]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    {
        life first(clock, dir.path());
        first.send(request("m", 0, 15));         // 10 admitted (limit)
        first.send(request("u", 0, 5, "user"));  // and a label tracker
        first.send(request("other", 0, 7));
        REQUIRE(first.persistence->save_now().saved == 4);
    }
    std::ofstream(dir.path() + "/meta.json", std::ios::trunc)
        << "{\"version\": 1, \"trackers\": [garbage";
    dir.write("trackers/" + std::string(64, 'a') + ".bloom.gz", "not a tracker file");
    log_capture logs;
    life second(clock, dir.path());
    const auto r = second.persistence->restore();
    CHECK(r.loaded == 4);
    second.governor.refresh();
    CHECK(second.active("m") == 10);
    CHECK(second.active("other") == 7);
    CHECK(second.send(request("m", 10, 20)).empty());  // still at its limit: nothing re-admitted
    // The garbage file is aside, not deleted; the bad index kept for a human; meta.json rebuilt.
    CHECK(fs::exists(dir.path() + "/unreadable/" + std::string(64, 'a') + ".bloom.gz"));
    CHECK(fs::exists(dir.path() + "/meta.json.corrupt"));
    CHECK(meta_of(dir.path())["trackers"].size() == 4);
    CHECK_THAT(logs.text(), Catch::Contains("rebuilding it from the tracker files"));
    CHECK_THAT(second.scrape(), Catch::Contains("bloom_persistence_index_recovered_total 4"));
    CHECK_THAT(second.scrape(), Catch::Contains("bloom_persistence_files_set_aside_total 1"));
}

TEST_CASE(
    "a bad entry in meta.json: its tracker is recovered from its file and the entry rewritten",
    "[persistence][issue14]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    {
        life first(clock, dir.path());
        first.send(request("m", 0, 5));
        first.send(request("other", 0, 7));
        REQUIRE(first.persistence->save_now().saved == 2);
    }
    auto meta = meta_of(dir.path());
    meta["trackers"]["stats:metric:m"]["checksum"] = "not a number";
    // An entry whose key could name a path: dropped from meta.json too, not kept listed.
    meta["trackers"]["stats:metric:../x"] = meta["trackers"]["stats:metric:other"];
    meta["trackers"]["stats:metric:../x"]["key"] = "stats:metric:../x";
    std::ofstream(dir.path() + "/meta.json", std::ios::trunc) << meta.dump();
    life second(clock, dir.path());
    const auto r = second.persistence->restore();
    CHECK(r.loaded == 2);
    second.governor.refresh();
    CHECK(second.active("m") == 5);
    const auto rewritten = meta_of(dir.path());
    CHECK(rewritten["trackers"].size() == 2);
    CHECK(rewritten["trackers"]["stats:metric:m"]["checksum"].is_number());
    CHECK_FALSE(rewritten["trackers"].contains("stats:metric:../x"));
}

TEST_CASE("the state directory removed while running is recreated by the next save",
          "[persistence][issue14]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    const std::string state = dir.path() + "/state";
    life l(clock, state);
    l.send(request("m", 0, 5));
    l.send(request("other", 0, 5));
    REQUIRE(l.persistence->save_now().saved == 2);
    fs::remove_all(state);
    log_capture logs;
    const auto r = l.persistence->save_now();  // nothing changed, but everything is gone
    CHECK(r.saved == 2);
    CHECK(r.errors == 0);
    CHECK(fs::exists(tracker_file(state, "stats:metric:m")));
    CHECK(meta_of(state)["trackers"].size() == 2);
    struct stat st {};
    REQUIRE(::stat(state.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    CHECK_THAT(l.scrape(), Catch::Contains("bloom_persistence_directory_recreated_total 1"));
    CHECK_THAT(logs.text(), Catch::Contains("directory was missing and has been recreated"));
    // And a restart finds it all.
    life second(clock, state);
    CHECK(second.persistence->restore().loaded == 2);
}

TEST_CASE("degraded while saves fail, and when the directory refuses writes at startup",
          "[persistence][issue14]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    mg::test::fault_file_system faults;
    {
        life l(clock, dir.path(), {}, faults);
        l.send(request("m", 0, 5));
        CHECK(value(l.scrape(), "bloom_persistence_degraded") == 0.0);
        faults.fail_create(dir.path());
        CHECK(l.persistence->save_now().errors == 1);
        CHECK(value(l.scrape(), "bloom_persistence_degraded") == 1.0);
        faults.clear();
        CHECK(l.persistence->save_now().saved == 1);
        CHECK(value(l.scrape(), "bloom_persistence_degraded") == 0.0);
    }
    // A directory that cannot be written (as a read-only volume): restore still works, degraded.
    faults.fail_create(dir.path());
    log_capture logs;
    life ro(clock, dir.path(), {}, faults);
    CHECK_FALSE(ro.persistence->degraded());
    CHECK(ro.persistence->restore().loaded == 1);
    CHECK(value(ro.scrape(), "bloom_persistence_degraded") == 1.0);
    CHECK_THAT(logs.text(), Catch::Contains("directory is not writable"));
}

TEST_CASE("the final save keeps its deadline however slow the disk is", "[persistence][issue14]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    mg::test::fault_file_system faults;
    auto l = std::make_unique<life>(clock, dir.path(), mp::persistence_options{}, faults);
    for (int i = 0; i < 5; ++i) l->send(request("m" + std::to_string(i), 0, 5));
    faults.hold_syncs("/trackers/");  // every tracker file's sync stalls until released
    log_capture logs;
    const auto deadline = clock.monotonic_now() + 300ms;
    // The deadline passes once the disk has stalled and finish_stop waits for the final save.
    bool stalled = false, waited = false;
    std::thread time_passes([&] {
        stalled = faults.await_held_syncs(1);
        waited = clock.await_waiters(1);
        clock.advance(300ms);
    });
    l->persistence->begin_stop(deadline);
    const auto report = l->persistence->finish_stop(deadline);
    const auto returned_at = clock.monotonic_now();
    time_passes.join();
    CHECK(stalled);
    CHECK(waited);
    CHECK(report.timed_out);
    CHECK_FALSE(report.complete());
    CHECK(report.dirty == 5);
    CHECK(report.unsaved == 5);
    CHECK(returned_at ==
          deadline);  // the deadline, not the disk (the stalled sync never returns on its own)
    CHECK(faults.held_syncs() >= 1);
    CHECK_THAT(logs.text(), Catch::Contains("\"level\":\"error\""));
    CHECK_THAT(logs.text(), Catch::Contains("\"msg\":\"final bloom state save ran out of time\""));
    faults.release_syncs();
    l.reset();  // joins the final save, now unblocked
}

TEST_CASE("a final save that writes nothing is an error with its failures, not 'saved'",
          "[persistence][issue14]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    mg::test::fault_file_system faults;
    life l(clock, dir.path(), {}, faults);
    for (int i = 0; i < 3; ++i) l.send(request("m" + std::to_string(i), 0, 5));
    faults.fail_create("/trackers/");
    log_capture logs;
    const auto report = l.persistence->stop();
    CHECK(report.failed == 3);
    CHECK_FALSE(report.complete());
    const auto t = logs.text();
    CHECK_THAT(t, Catch::Contains(
                      R"("msg":"final bloom state save failed","saved":0,"failed":3,"total":3)"));
    for (const auto& line : problems(t))
        if (line.find("final bloom state save failed") != std::string::npos)
            CHECK(line.find("\"level\":\"error\"") != std::string::npos);
    CHECK(t.find("\"msg\":\"final bloom state saved\"") == std::string::npos);
}

TEST_CASE("max_size and max_memory of 0 mean no limit, never a wipe", "[persistence][issue14]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    mp::persistence_options o;
    o.max_size = 0;
    o.max_memory = 0;
    {
        life l(clock, dir.path(), o);
        for (int i = 0; i < 5; ++i) l.send(request("m" + std::to_string(i), 0, 5));
        REQUIRE(l.persistence->save_now().saved == 5);
        const auto r = l.persistence->cleanup_now();
        CHECK(r.evicted_size == 0);
        CHECK(r.evicted_memory == 0);
        CHECK(r.remaining == 5);
        CHECK(meta_of(dir.path())["trackers"].size() == 5);
    }
    life second(clock, dir.path(), o);
    CHECK(second.persistence->restore().loaded == 5);
}

TEST_CASE("gauges are current at scrape time and the memory figure is the governor's",
          "[persistence][issue14]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    life l(clock, dir.path());
    l.send(request("m", 0, 5));
    l.send(request("u", 0, 3, "user"));  // a label tracker and label sketches too
    auto page = l.scrape();              // no save yet
    CHECK(value(page, "bloom_persistence_trackers_total") == 3.0);
    CHECK(value(page, "bloom_persistence_dirty_trackers") == 3.0);
    CHECK(value(page, "bloom_persistence_memory_usage_bytes") ==
          static_cast<double>(l.governor.memory_bytes()));
    CHECK(l.persistence->memory_usage() == l.governor.memory_bytes());
    l.persistence->save_now();
    page = l.scrape();
    CHECK(value(page, "bloom_persistence_dirty_trackers") == 0.0);
    CHECK(value(page, "bloom_persistence_disk_usage_bytes") ==
          static_cast<double>(l.persistence->disk_usage()));
    l.send(request("m", 5, 7));
    CHECK(value(l.scrape(), "bloom_persistence_dirty_trackers") == 1.0);
}

TEST_CASE(
    "the 80% memory warning is said on crossing and not on every pass, idle cleanups log at debug",
    "[persistence][issue14]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    life probe(clock, dir.path() + "/probe");
    probe.send(request("m", 0, 100));
    mp::persistence_options o;
    o.max_memory = probe.governor.memory_bytes() * 100 / 85;
    life l(clock, dir.path() + "/real", o);
    l.send(request("m", 0, 100));
    log_capture logs;
    for (int i = 0; i < 3; ++i) CHECK(l.persistence->cleanup_now().evicted_memory == 0);
    CHECK(count_of(logs.text(), "memory over 80% of max_memory") == 1);
    CHECK(logs.text().find("bloom state cleanup complete") ==
          std::string::npos);  // debug: nothing happened
}

TEST_CASE("every failure is an error or warning that grep \"bloom persistence\" finds",
          "[persistence][issue14]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    mg::test::fault_file_system faults;
    {
        life first(clock, dir.path());
        first.send(request("m", 0, 5));
        first.send(request("other", 0, 5));
        first.persistence->save_now();
    }
    corrupt_one_byte(tracker_file(dir.path(), "stats:metric:m"));
    log_capture logs;
    life l(clock, dir.path(), {}, faults);
    CHECK(l.persistence->restore().errors == 1);  // failed to load tracker
    l.send(request("new", 0, 5));
    faults.fail_create("/trackers/");
    CHECK(l.persistence->save_now().errors >= 1);  // bloom state save failed
    const auto lines = problems(logs.text());
    REQUIRE(lines.size() >= 2);
    for (const auto& line : lines) {
        INFO(line);
        CHECK(line.find("bloom persistence") != std::string::npos);
        CHECK(line.find("\"level\":\"error\"") != std::string::npos);
    }
}

TEST_CASE("the free-space margin is proportional: a small volume still takes small saves",
          "[persistence][issue14]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    mg::test::fault_file_system faults;
    life l(clock, dir.path(), {}, faults);
    l.send(request("m", 0, 5));
    faults.disk_budget(512 * 1024);  // a 512 KiB volume; the file is a few KiB
    CHECK(l.persistence->save_now().saved == 1);
    faults.disk_budget(10);  // and a full one is still refused
    l.send(request("m", 5, 6));
    CHECK(l.persistence->save_now().errors == 1);
}
