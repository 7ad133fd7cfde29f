// Incremental saves (docs/persistence.md, "incremental saves"): increments between bases, what a
// restart rebuilds from them, torn and stale increments, the switches that make the next save a
// base, and write faults in the middle of increments.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "persistence/increment_codec.h"
#include "persistence/meta_index.h"
#include "persistence_fixture.h"
#include "shared/fault_file_system.h"
#include "shared/temp_dir.h"

using namespace persistence_fixture;

namespace {

const std::string k_key = "stats:metric:x";

// The increment files of the trackers directory, by name.
std::vector<std::string> increment_files(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir + "/trackers")) {
        const auto name = e.path().filename().string();
        if (name.find(".inc") != std::string::npos) out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string increment_path(const std::string& dir, const nlohmann::json& inc) {
    mp::increment_meta m;
    m.seq = inc["seq"].get<std::uint64_t>();
    m.base_checksum = inc["base_checksum"].get<std::uint32_t>();
    m.compressed = inc["compressed"].get<bool>();
    return dir + "/trackers/" + mp::tracker_store::increment_file_name(mp::sha256_hex(k_key), m);
}

// One life that saves x{0..99} as a base, then n increments of 100 new series each (x{0..100n+99}
// in all); every save after the first must be an increment.
void save_base_and_increments(mg::fake_clock& clock, const std::string& dir,
                              const mp::persistence_options& o, int n) {
    life l(clock, dir, o);
    l.send(request("x", 0, 100));
    l.persistence->save_now();
    for (int i = 1; i <= n; ++i) {
        l.send(request("x", 100 * i, 100 * (i + 1)));
        REQUIRE(l.persistence->save_now().increments == 1);
    }
}

// Every series of x in [0, n) is known: sending them again adds none.
void require_known(life& l, int n) {
    l.governor.refresh();
    const auto before = l.active("x");
    CHECK(before == static_cast<std::uint64_t>(n));
    l.send(request("x", 0, n));
    l.governor.refresh();
    CHECK(l.active("x") == before);
}

}  // namespace

TEST_CASE("saves after the first write increments, and a restart rebuilds every series",
          "[persistence][incremental]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    {
        life first(clock, dir.path());
        first.send(request("x", 0, 2000));
        auto r = first.persistence->save_now();
        CHECK(r.saved == 1);
        CHECK(r.increments == 0);
        const auto base_bytes = r.snapshot_bytes;
        CHECK(base_bytes > 0);
        for (int round = 1; round <= 3; ++round) {
            first.send(request("x", 2000 + (round - 1) * 20, 2000 + round * 20));
            clock.advance(5s);
            r = first.persistence->save_now();
            CHECK(r.saved == 1);
            CHECK(r.increments == 1);
            // 20 new series change at most 20 blocks of 64 bytes.
            CHECK(r.increment_bytes < base_bytes / 4);
        }
        CHECK(increment_files(dir.path()).size() == 3);
        const auto meta = meta_of(dir.path());
        REQUIRE(meta["trackers"][k_key]["increments"].size() == 3);
        CHECK(meta["trackers"][k_key]["increments"][2]["seq"] == 3);
        // The spec's reader still finds a valid tracker file: the base, older than the state.
        auto base =
            mp::decode_tracker_file(read_all(tracker_file(dir.path(), k_key)), k_key, 1ull << 30);
        REQUIRE(base.ok());
        CHECK(base->generations[0].latest_count == 2000);
        const auto scrape = first.scrape();
        CHECK_THAT(scrape,
                   Catch::Contains("bloom_persistence_written_bytes_total{kind=\"increment\"}"));
        CHECK_THAT(scrape,
                   Catch::Contains("bloom_persistence_written_bytes_total{kind=\"snapshot\"}"));
        CHECK_THAT(scrape, Catch::Contains("bloom_persistence_saves_total{status=\"success\"} 4"));
    }
    clock.advance(1min);
    life second(clock, dir.path());
    const auto r = second.persistence->restore();
    CHECK(r.loaded == 1);
    CHECK(r.errors == 0);
    CHECK(r.increments_applied == 3);
    CHECK(r.increments_skipped == 0);
    require_known(second, 2060);
}

TEST_CASE("a torn increment is skipped with the ones after it, counted and logged",
          "[persistence][incremental]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    mp::persistence_options o;
    o.snapshot_ratio = 100;  // small trackers: keep every save an increment
    save_base_and_increments(clock, dir.path(), o, 3);
    const auto incs = meta_of(dir.path())["trackers"][k_key]["increments"];
    REQUIRE(incs.size() == 3);
    const std::string torn = increment_path(dir.path(), incs[1]);
    const std::string bytes = read_all(torn);
    write_all(torn, bytes.substr(0, bytes.size() / 2));  // cut in the middle of its write
    log_capture logs;
    life second(clock, dir.path(), o);
    const auto r = second.persistence->restore();
    CHECK(r.loaded == 1);
    CHECK(r.increments_applied == 1);
    CHECK(r.increments_skipped == 2);
    // The newest consistent point: the base and the first increment.
    require_known(second, 200);
    CHECK_THAT(second.scrape(), Catch::Contains("bloom_persistence_increments_skipped_total 2"));
    CHECK_THAT(logs.text(), Catch::Contains("\"msg\":\"bloom state increment skipped\""));
    CHECK_THAT(logs.text(), Catch::Contains("checksum mismatch"));
    CHECK_THAT(logs.text(), Catch::Contains("follows an increment that was skipped"));
    CHECK(fs::exists(torn));  // skipped, not deleted
}

// Seed defect: "after a rotation's full snapshot its stale dirty-chunk set is still preferred on
// load". A rotation writes a new base; the increments of the old one leave the index and the
// disk, and even when they are still listed (a crash before they were dropped) they name the old
// base's checksum and are never applied to the new one.
TEST_CASE("seed defect: increments of an older base are never applied to a newer one",
          "[persistence][incremental][seed_defect]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    nlohmann::json stale;
    std::map<std::string, std::string> stale_files;
    mp::persistence_options o;
    o.snapshot_ratio = 100;  // small trackers: keep every save an increment
    {
        life first(clock, dir.path(), o);
        first.send(request("x", 0, 300));
        first.persistence->save_now();
        first.send(request("x", 300, 400));
        REQUIRE(first.persistence->save_now().increments == 1);
        stale = meta_of(dir.path())["trackers"][k_key]["increments"];
        for (const auto& inc : stale)
            stale_files[increment_path(dir.path(), inc)] =
                read_all(increment_path(dir.path(), inc));
        clock.advance(21min);  // the generation the base was taken of freezes
        first.send(request("x", 400, 450));
        const auto r = first.persistence->save_now();
        CHECK(r.saved == 1);
        CHECK(r.increments == 0);  // a new base
        CHECK(increment_files(dir.path()).empty());
        CHECK_FALSE(meta_of(dir.path())["trackers"][k_key].contains("increments"));
    }
    // As if the process died before the old increments were dropped: listed and on disk again.
    auto meta = meta_of(dir.path());
    meta["trackers"][k_key]["increments"] = stale;
    write_all(dir.path() + "/meta.json", meta.dump());
    for (const auto& [path, bytes] : stale_files) write_all(path, bytes);

    life second(clock, dir.path(), o);
    const auto r = second.persistence->restore();
    CHECK(r.loaded == 1);
    CHECK(r.increments_applied == 0);
    CHECK(r.increments_skipped == 0);
    require_known(second, 450);
}

TEST_CASE("increments never pass snapshot_ratio of what they follow, nor max_increments",
          "[persistence][incremental]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    mp::persistence_options o;
    // A base of 1000 series, one increment of 5 new ones, then `more` new series: that save must
    // be a new head of the current generation (the increments gone, the base as it was).
    auto expect_head_after = [&](int more) {
        life l(clock, dir.path(), o);
        l.send(request("x", 0, 1000));
        CHECK(l.persistence->save_now().increments == 0);
        const auto base = read_all(tracker_file(dir.path(), k_key));
        l.send(request("x", 1000, 1005));
        CHECK(l.persistence->save_now().increments == 1);
        l.send(request("x", 1005, 1005 + more));
        const auto r = l.persistence->save_now();
        CHECK(r.saved == 1);
        CHECK(r.increments == 0);
        CHECK(r.layered == 1);
        CHECK(r.frozen_files == 0);  // no generation has frozen yet
        CHECK(increment_files(dir.path()).empty());
        const auto entry = meta_of(dir.path())["trackers"][k_key];
        CHECK(entry["layers"]["head"]["size_bytes"].get<std::uint64_t>() == r.snapshot_bytes);
        CHECK(read_all(tracker_file(dir.path(), k_key)) == base);
    };
    SECTION("ratio: an increment that would pass it is written as a head") {
        o.snapshot_ratio = 0.5;
        // As many new series as the tracker holds: about 1000 changed blocks, far more than half
        // of the base's bytes (a rotation's refreshes do the same to a tracker).
        expect_head_after(1000);
    }
    SECTION("count") {
        o.max_increments = 1;
        o.snapshot_ratio = 100;
        expect_head_after(10);
    }
    SECTION("a tiny ratio: every save is a head") {
        o.snapshot_ratio = 0.000001;
        life l(clock, dir.path(), o);
        l.send(request("x", 0, 1000));
        l.persistence->save_now();
        l.send(request("x", 1000, 1001));
        CHECK(l.persistence->save_now().increments == 0);
        CHECK(increment_files(dir.path()).empty());
    }
}

TEST_CASE("incremental off writes whole tracker files only", "[persistence][incremental]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    mp::persistence_options o;
    o.incremental = false;
    life l(clock, dir.path(), o);
    l.send(request("x", 0, 100));
    l.persistence->save_now();
    l.send(request("x", 100, 110));
    const auto r = l.persistence->save_now();
    CHECK(r.saved == 1);
    CHECK(r.increments == 0);
    CHECK(increment_files(dir.path()).empty());
}

TEST_CASE("a write error or a full disk in the middle of increments loses nothing",
          "[persistence][incremental][faults]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    mg::test::fault_file_system faults;
    mp::persistence_options o;
    o.snapshot_ratio = 100;
    {
        life l(clock, dir.path(), o, faults);
        l.send(request("x", 0, 500));
        l.send(request("y", 0, 500));
        REQUIRE(l.persistence->save_now().saved == 2);
        l.send(request("x", 500, 600));
        l.send(request("y", 500, 600));
        SECTION("write error") {
            faults.fail_append(".inc");
        }
        SECTION("full disk") {
            faults.disk_budget(100);
        }
        const auto bad = l.persistence->save_now();
        CHECK(bad.errors == 2);
        CHECK(bad.saved == 0);
        faults.clear();
        // The changes taken for the failed increments are only in memory now: the next save of
        // each tracker is a whole file.
        l.send(request("x", 600, 610));
        const auto next = l.persistence->save_now();
        CHECK(next.saved == 2);
        CHECK(next.increments == 0);
        l.send(request("x", 610, 620));
        CHECK(l.persistence->save_now().increments == 1);
    }
    life second(clock, dir.path());
    CHECK(second.persistence->restore().loaded == 2);
    require_known(second, 620);
    CHECK(second.active("y") == 600);
}

TEST_CASE("a lost meta.json is rebuilt with the increments its files hold",
          "[persistence][incremental]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    mp::persistence_options o;
    o.snapshot_ratio = 100;
    save_base_and_increments(clock, dir.path(), o, 2);
    write_all(dir.path() + "/meta.json", "{not json");
    life second(clock, dir.path());
    const auto r = second.persistence->restore();
    CHECK(r.loaded == 1);
    CHECK(r.increments_applied == 2);
    require_known(second, 300);
}

TEST_CASE("larger chunks round-trip too, and a restored tracker goes on with increments",
          "[persistence][incremental]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    mp::persistence_options o;
    o.chunk_size = 4096;
    o.snapshot_ratio = 100;  // 4 KiB chunks make big increments: keep them increments here
    {
        life l(clock, dir.path(), o);
        l.send(request("x", 0, 3000));
        l.persistence->save_now();
        l.send(request("x", 3000, 3100));
        CHECK(l.persistence->save_now().increments == 1);
    }
    life second(clock, dir.path(), o);
    CHECK(second.persistence->restore().increments_applied == 1);
    require_known(second, 3100);
    second.send(request("x", 3100, 3110));
    // The tracker is its base plus its one increment: the next is increment 2 of that base.
    CHECK(second.persistence->save_now().increments == 1);
    const auto incs = meta_of(dir.path())["trackers"][k_key]["increments"];
    REQUIRE(incs.size() == 2);
    CHECK(incs[1]["seq"] == 2);
    CHECK(incs[1]["base_checksum"] == incs[0]["base_checksum"]);
    {
        life third(clock, dir.path(), o);
        CHECK(third.persistence->restore().increments_applied == 2);
        require_known(third, 3110);
        // Rotated while running: a base comes first.
        clock.advance(25min);
        third.send(request("x", 3110, 3120));
        CHECK(third.persistence->save_now().increments == 0);
        third.send(request("x", 3120, 3130));
        CHECK(third.persistence->save_now().increments == 1);
    }
    // Rotated by the downtime, at restore: its current generation is not the base's any more,
    // so the next save is a base too (an increment of it would not apply to the base).
    clock.advance(25min);
    {
        life fourth(clock, dir.path(), o);
        CHECK(fourth.persistence->restore().increments_applied == 1);
        fourth.send(request("x", 3130, 3140));
        CHECK(fourth.persistence->save_now().increments == 0);
        fourth.send(request("x", 3140, 3150));
        CHECK(fourth.persistence->save_now().increments == 1);
    }
    life fifth(clock, dir.path(), o);
    const auto r = fifth.persistence->restore();
    CHECK(r.increments_applied == 1);
    CHECK(r.increments_skipped == 0);
    CHECK(r.errors == 0);
}

TEST_CASE("after a restart that skipped a torn increment, the next save is a base",
          "[persistence][incremental]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    mp::persistence_options o;
    o.snapshot_ratio = 100;
    save_base_and_increments(clock, dir.path(), o, 2);
    const auto incs = meta_of(dir.path())["trackers"][k_key]["increments"];
    write_all(increment_path(dir.path(), incs[1]), "torn");
    life second(clock, dir.path(), o);
    CHECK(second.persistence->restore().increments_skipped == 1);
    require_known(second, 200);
    second.send(request("x", 300, 310));
    // Going on with seq 3 would leave the run on disk with a gap at 2: a base instead.
    CHECK(second.persistence->save_now().increments == 0);
    life third(clock, dir.path(), o);
    CHECK(third.persistence->restore().increments_skipped == 0);
    third.governor.refresh();
    CHECK(third.active("x") == 210);
}

TEST_CASE("increments in meta.json round-trip, and a malformed list drops the entry alone",
          "[persistence][incremental][meta]") {
    mp::meta_index idx;
    mp::tracker_meta m;
    m.key = "k";
    m.hash = mp::sha256_hex("k");
    m.increments = {{1, 7, 100, 10, true}, {2, 7, 101, 11, false}, {1, 9, 102, 12, true}};
    idx.trackers["k"] = m;
    auto parsed = mp::parse_meta(mp::to_json(idx));
    REQUIRE(parsed.problem == mp::meta_problem::none);
    CHECK(parsed.index.trackers.at("k").increments == m.increments);
    CHECK(parsed.index.trackers.at("k").disk_bytes() == 33);

    auto j = nlohmann::json::parse(mp::to_json(idx));
    j["trackers"]["other"] = j["trackers"]["k"];
    j["trackers"]["other"]["key"] = "other";
    j["trackers"]["k"]["increments"][1]["seq"] = 1;  // not after seq 1 of the same base
    auto bad = mp::parse_meta(j.dump());
    CHECK(bad.index.trackers.count("other") == 1);
    REQUIRE(bad.bad_entries.count("k") == 1);
    CHECK_THAT(bad.bad_entries.at("k"), Catch::Contains("not after"));
}

// Seed defect: "rotation is several separate writes, not one atomic step". Here a rotation's
// files (the frozen generation and the new head) are written under new names and take effect in
// one index write: when a write fails (as when the process dies before its rename), the old base
// and its increments are still whole and listed, and load.
TEST_CASE("seed defect: a rotation is one atomic step",
          "[persistence][incremental][seed_defect][faults]") {
    mg::test::temp_dir dir;
    mg::test::temp_dir crashed;
    mg::fake_clock clock;
    mg::test::fault_file_system faults;
    mp::persistence_options o;
    o.snapshot_ratio = 100;
    {
        life l(clock, dir.path(), o, faults);
        l.send(request("x", 0, 300));
        l.persistence->save_now();
        l.send(request("x", 300, 400));
        REQUIRE(l.persistence->save_now().increments == 1);
        const auto old_base = read_all(tracker_file(dir.path(), k_key));
        clock.advance(21min);  // rotation: the next save of x writes generation files
        l.send(request("x", 400, 410));
        SECTION("the frozen generation's write fails") {
            faults.fail_rename(".gen.gz");
        }
        SECTION("the head's write fails") {
            faults.fail_rename(".head.gz");
        }
        const auto bad = l.persistence->save_now();
        CHECK(bad.errors == 1);
        CHECK(read_all(tracker_file(dir.path(), k_key)) == old_base);
        CHECK(increment_files(dir.path()).size() == 1);  // the old base's, still listed
        CHECK_FALSE(meta_of(dir.path())["trackers"][k_key].contains("layers"));
        for (const auto& e : fs::directory_iterator(dir.path() + "/trackers"))
            CHECK_FALSE(mp::tracker_store::is_layer_file_name(e.path().filename().string()));
        // The directory as a process killed now would leave it.
        fs::copy(dir.path(), crashed.path(),
                 fs::copy_options::recursive | fs::copy_options::overwrite_existing);
        faults.clear();
    }
    life second(clock, crashed.path(), o);
    const auto r = second.persistence->restore();
    CHECK(r.loaded == 1);
    CHECK(r.errors == 0);
    CHECK(r.increments_applied == 1);
    CHECK(r.increments_skipped == 0);
    require_known(second, 400);
}
