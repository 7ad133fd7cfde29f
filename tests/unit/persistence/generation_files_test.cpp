// Generation files (docs/persistence.md, "generation files"): frozen generations written once,
// when they freeze; heads of the current generation; what a restart loads from them; layers that
// are older than a newer base; torn generation files; write faults in the middle of a rotation.
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "persistence/layer_codec.h"
#include "persistence/meta_index.h"
#include "persistence/state_inspect.h"
#include "persistence_fixture.h"
#include "shared/fault_file_system.h"
#include "shared/temp_dir.h"

using namespace persistence_fixture;

namespace {

const std::string k_key = "stats:metric:x";

// The generation files of the trackers directory, name -> bytes.
std::map<std::string, std::string> layer_files(const std::string& dir) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::directory_iterator(dir + "/trackers")) {
        const auto name = e.path().filename().string();
        if (mp::tracker_store::is_layer_file_name(name)) out[name] = read_all(e.path().string());
    }
    return out;
}

// The file names the index lists as frozen generations (empty generations have none).
std::vector<std::string> frozen_listed(const std::string& dir) {
    std::vector<std::string> out;
    const auto entry = meta_of(dir)["trackers"][k_key];
    if (!entry.contains("layers")) return out;
    for (const auto& f : entry["layers"]["frozen"]) {
        mp::layer_file lf;
        lf.id = f["id"].get<std::uint64_t>();
        lf.compressed = f["compressed"].get<bool>();
        if (lf.id != 0)
            out.push_back(mp::tracker_store::layer_file_name(mp::sha256_hex(k_key), lf, false));
    }
    return out;
}

// x{0..199} saved as a base, then a rotation and x{200..299}: the save writes a head and the
// frozen generation of x{0..199}.
void base_then_rotation(life& l, mg::fake_clock& clock) {
    l.send(request("x", 0, 200));
    l.persistence->save_now();
    clock.advance(21min);
    l.send(request("x", 200, 300));
    const auto r = l.persistence->save_now();
    REQUIRE(r.layered == 1);
    REQUIRE(r.frozen_files == 1);
}

// The state directory a life leaves after base_then_rotation; returns its frozen generation files.
std::vector<std::string> leave_rotated_state(mg::fake_clock& clock, const std::string& dir,
                                             const mp::persistence_options& o) {
    {
        life l(clock, dir, o);
        base_then_rotation(l, clock);
    }
    return frozen_listed(dir);
}

void require_known(life& l, int from, int to) {
    l.governor.refresh();
    const auto before = l.active("x");
    l.send(request("x", from, to));
    l.governor.refresh();
    CHECK(l.active("x") == before);
}

double metric_value(const std::string& scrape, const std::string& name) {
    std::istringstream in(scrape);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
    return -1;
}

}  // namespace

TEST_CASE("frozen generations are written once, when they freeze", "[persistence][layers]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    mp::persistence_options o;
    // Every change after a head is an increment (a head of a young, sparse generation compresses
    // to less than the increments would take, so the default ratio writes heads instead).
    o.snapshot_ratio = 100;
    life l(clock, dir.path(), o);
    // Generation periods are 20 minutes (1 h window, 3 generations).
    l.send(request("x", 0, 300));
    REQUIRE(l.persistence->save_now().increments == 0);  // the base
    const auto base = read_all(tracker_file(dir.path(), k_key));
    l.send(request("x", 300, 320));
    REQUIRE(l.persistence->save_now().increments == 1);

    // First rotation: the generation of x{0..319} freezes and is written, with a new head.
    clock.advance(21min);
    l.send(request("x", 1000, 1050));
    auto r = l.persistence->save_now();
    CHECK(r.saved == 1);
    CHECK(r.layered == 1);
    CHECK(r.frozen_files == 1);
    CHECK(r.increments == 0);
    const auto first_frozen = frozen_listed(dir.path());
    REQUIRE(first_frozen.size() == 1);
    const auto first_bytes = layer_files(dir.path()).at(first_frozen[0]);
    const auto head_bytes =
        meta_of(dir.path())["trackers"][k_key]["layers"]["head"]["size_bytes"].get<std::uint64_t>();
    CHECK(r.snapshot_bytes == head_bytes + first_bytes.size());

    // Changes of the new current generation are increments of the head.
    l.send(request("x", 1050, 1060));
    CHECK(l.persistence->save_now().increments == 1);

    // Second rotation: only the newly frozen generation is written; the first one's file stays
    // as it was, now one generation further back.
    clock.advance(20min);
    l.send(request("x", 2000, 2010));
    r = l.persistence->save_now();
    CHECK(r.layered == 1);
    CHECK(r.frozen_files == 1);
    const auto second_frozen = frozen_listed(dir.path());
    REQUIRE(second_frozen.size() == 2);
    CHECK(second_frozen[1] == first_frozen[0]);
    CHECK(layer_files(dir.path()).at(first_frozen[0]) == first_bytes);

    // Third rotation: the first frozen generation expires: its file is gone from index and disk.
    clock.advance(20min);
    l.send(request("x", 3000, 3010));
    r = l.persistence->save_now();
    CHECK(r.frozen_files == 1);
    const auto third_frozen = frozen_listed(dir.path());
    REQUIRE(third_frozen.size() == 2);
    CHECK(third_frozen[1] == second_frozen[0]);
    CHECK(layer_files(dir.path()).count(first_frozen[0]) == 0);
    // Only the listed generation files are on disk: the previous heads went with their turn.
    const auto files = layer_files(dir.path());
    CHECK(files.size() == 3);  // two frozen generations and the head
    // The base, written once at the first save, is still the spec's valid (older) state.
    CHECK(read_all(tracker_file(dir.path(), k_key)) == base);

    // A restart loads the layers: every series of the live generations is known.
    life second(clock, dir.path(), o);
    const auto rr = second.persistence->restore();
    CHECK(rr.loaded == 1);
    CHECK(rr.errors == 0);
    require_known(second, 1000, 1060);
    require_known(second, 2000, 2010);
    require_known(second, 3000, 3010);
}

TEST_CASE("a restart that rotates a tracker goes on without writing its frozen generations again",
          "[persistence][layers]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    mp::persistence_options o;
    const auto before = leave_rotated_state(clock, dir.path(), o);
    REQUIRE(before.size() == 1);
    clock.advance(20min);  // downtime across a period boundary
    life second(clock, dir.path(), o);
    REQUIRE(second.persistence->restore().loaded == 1);
    second.send(request("x", 500, 510));
    const auto r = second.persistence->save_now();
    CHECK(r.saved == 1);
    CHECK(r.layered == 1);
    CHECK(r.frozen_files == 1);  // the generation of x{200..299}, not x{0..199} again
    const auto after = frozen_listed(dir.path());
    REQUIRE(after.size() == 2);
    CHECK(after[1] == before[0]);
}

// Seed defect: "stale dirty chunks preferred over a newer full snapshot". Layers name the base
// they follow; once a newer base is in place, they are never loaded over it, even when a crash
// left them listed.
TEST_CASE("seed defect: generation files of an older base are never loaded over a newer base",
          "[persistence][layers][seed_defect][faults]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    mg::test::fault_file_system faults;
    mp::persistence_options o;
    o.snapshot_ratio = 100;  // the save after the head is an increment
    nlohmann::json stale_layers;
    std::map<std::string, std::string> stale_files;
    {
        life l(clock, dir.path(), o, faults);
        base_then_rotation(l, clock);
        stale_layers = meta_of(dir.path())["trackers"][k_key]["layers"];
        stale_files = layer_files(dir.path());
        // A failed increment ends the chain: the next save is a new base, which supersedes the
        // layers (they are deleted once it is in place).
        l.send(request("x", 300, 310));
        faults.fail_create(".inc");
        REQUIRE(l.persistence->save_now().errors == 1);
        faults.clear();
        l.send(request("x", 310, 320));
        const auto r = l.persistence->save_now();
        CHECK(r.saved == 1);
        CHECK(r.layered == 0);
        CHECK(r.increments == 0);
        CHECK(layer_files(dir.path()).empty());
        CHECK_FALSE(meta_of(dir.path())["trackers"][k_key].contains("layers"));
    }
    // As if the process died before the layers were dropped: listed and on disk again.
    auto meta = meta_of(dir.path());
    meta["trackers"][k_key]["layers"] = stale_layers;
    write_all(dir.path() + "/meta.json", meta.dump());
    for (const auto& [name, bytes] : stale_files)
        write_all(dir.path() + "/trackers/" + name, bytes);

    life second(clock, dir.path(), o);
    const auto r = second.persistence->restore();
    CHECK(r.loaded == 1);
    CHECK(r.errors == 0);
    // x{300..319} are only in the newer base: loading the layers would have forgotten them.
    require_known(second, 0, 320);
}

TEST_CASE("while a new base replaces the one the layers follow, the base file found decides",
          "[persistence][layers][faults]") {
    mg::test::temp_dir dir;
    mg::test::temp_dir crashed;
    mg::fake_clock clock;
    mg::test::fault_file_system faults;
    mp::persistence_options o;
    o.snapshot_ratio = 100;  // the save after the head is an increment
    {
        life l(clock, dir.path(), o, faults);
        base_then_rotation(l, clock);
        l.send(request("x", 300, 310));
        faults.fail_create(".inc");
        REQUIRE(l.persistence->save_now().errors == 1);
        // The new base's rename fails: the index already names it (and the old base as
        // previous_checksum) and still lists the layers that follow the old base.
        faults.clear();
        faults.fail_rename(".bloom.gz");
        l.send(request("x", 310, 320));
        REQUIRE(l.persistence->save_now().errors == 1);
        const auto entry = meta_of(dir.path())["trackers"][k_key];
        REQUIRE(entry.contains("layers"));
        copy_as_crashed(dir.path(), crashed.path());
        faults.clear();
    }
    life second(clock, crashed.path(), o);
    const auto r = second.persistence->restore();
    CHECK(r.loaded == 1);
    CHECK(r.errors == 0);
    // The old base was found: the layers after it are the newest finished save.
    require_known(second, 0, 300);
}

TEST_CASE("a torn generation file: the tracker loads from its base, counted and logged",
          "[persistence][layers]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    mp::persistence_options o;
    const auto frozen = leave_rotated_state(clock, dir.path(), o);
    REQUIRE(frozen.size() == 1);
    corrupt_one_byte(dir.path() + "/trackers/" + frozen[0]);

    log_capture logs;
    life second(clock, dir.path(), o);
    const auto r = second.persistence->restore();
    CHECK(r.loaded == 1);
    CHECK(metric_value(second.scrape(), "bloom_persistence_generation_files_skipped_total") == 1);
    CHECK_THAT(logs.text(),
               Catch::Contains("bloom state generation files skipped, loading the base file") &&
                   Catch::Contains(frozen[0]));
    require_known(second, 0, 200);  // the base's series
    // The torn file is not deleted by the load; the next save is a new base, which supersedes
    // the layers.
    CHECK(fs::exists(dir.path() + "/trackers/" + frozen[0]));
    second.send(request("x", 300, 301));
    const auto s = second.persistence->save_now();
    CHECK(s.saved == 1);
    CHECK(s.layered == 0);
    CHECK(layer_files(dir.path()).empty());
}

TEST_CASE("state verify reads generation files as a start would", "[persistence][layers]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    mp::persistence_options o;
    o.snapshot_ratio = 100;  // the save after the head is an increment
    {
        life l(clock, dir.path(), o);
        base_then_rotation(l, clock);
        l.send(request("x", 300, 310));
        REQUIRE(l.persistence->save_now().increments == 1);
    }
    auto& pfs = mg::posix_file_system();
    mp::inspect_options io;
    io.path = dir.path();
    auto report = mp::inspect_state(pfs, clock, io);
    CHECK(report.problems.empty());
    REQUIRE(report.trackers.size() == 1);
    const auto& t = report.trackers[0];
    CHECK(t.from_layers);
    REQUIRE(t.layers.size() == 2);  // the head and one frozen generation
    CHECK(t.layers[0].generation == 0);
    CHECK(t.layers[1].generation == 1);
    CHECK(t.layers[1].status == mp::file_status::ok);
    REQUIRE(t.increments.size() == 1);
    CHECK(t.increments[0].fate == mp::increment_fate::applied);
    CHECK(t.count_rebuilt == 310);
    CHECK(report.orphans.empty());

    corrupt_one_byte(dir.path() + "/trackers/" + t.layers[1].file);
    report = mp::inspect_state(pfs, clock, io);
    REQUIRE(report.problems.size() == 1);
    CHECK_THAT(report.problems[0], Catch::Contains("generation files") &&
                                       Catch::Contains("a start loads the base file instead"));
    CHECK_FALSE(report.trackers[0].from_layers);
    CHECK(report.trackers[0].count_rebuilt == 200);
}

TEST_CASE("layers in meta.json round-trip, and a malformed set drops the entry alone",
          "[persistence][layers]") {
    mp::meta_index idx;
    mp::tracker_meta m;
    m.key = "k";
    m.hash = mp::sha256_hex("k");
    m.checksum = 7;
    m.size_bytes = 10;
    mp::layer_set set;
    set.base_checksum = 7;
    set.head = {5, 11, 20, true};
    set.frozen = {{4, 12, 30, true}, {}};
    m.layers = set;
    idx.trackers["k"] = m;
    auto parsed = mp::parse_meta(mp::to_json(idx));
    REQUIRE(parsed.problem == mp::meta_problem::none);
    REQUIRE(parsed.index.trackers.at("k").layers);
    CHECK(*parsed.index.trackers.at("k").layers == set);
    CHECK(parsed.index.trackers.at("k").layered());
    CHECK(parsed.index.trackers.at("k").chain_checksum() == 11);
    CHECK(parsed.index.trackers.at("k").disk_bytes() == 60);

    auto j = nlohmann::json::parse(mp::to_json(idx));
    j["trackers"]["other"] = j["trackers"]["k"];
    j["trackers"]["other"]["key"] = "other";
    SECTION("a file listed twice") {
        j["trackers"]["k"]["layers"]["frozen"][1]["id"] = 5;
    }
    SECTION("a head without a file") {
        j["trackers"]["k"]["layers"]["head"]["id"] = 0;
    }
    SECTION("no frozen list") {
        j["trackers"]["k"]["layers"].erase("frozen");
    }
    SECTION("a checksum out of range") {
        j["trackers"]["k"]["layers"]["frozen"][0]["checksum"] = 1ull << 40;
    }
    auto bad = mp::parse_meta(j.dump());
    CHECK(bad.index.trackers.count("other") == 1);
    REQUIRE(bad.bad_entries.count("k") == 1);
    CHECK_THAT(bad.bad_entries.at("k"), Catch::Contains("layers"));
}

TEST_CASE("a head and its frozen generations join back into the snapshot they were cut from",
          "[persistence][layers]") {
    card::tracker_snapshot snap;
    snap.config.generations = 3;
    snap.generations.resize(3);
    for (std::size_t g = 0; g < 3; ++g) {
        snap.generations[g].latest_count = static_cast<std::int64_t>(10 * g + 1);
        snap.generations[g].age = std::chrono::minutes(20 * g);
        auto& s = snap.generations[g].slices.emplace_back();
        s.geometry.n_blocks = 1;
        s.words.assign(8, g + 100);
    }
    auto split = mp::split_layers(snap);
    CHECK(split.frozen.size() == 2);
    CHECK(split.head.generations[1].slices.empty());
    CHECK(split.head.generations[2].latest_count == 21);
    CHECK_FALSE(mp::generation_empty(split.frozen[0], 0));
    auto head = split.head;
    CHECK(mp::attach_frozen(head, 1, split.frozen[0]));
    CHECK(mp::attach_frozen(head, 2, split.frozen[1]));
    CHECK(head.generations[2].slices[0].words == snap.generations[2].slices[0].words);
    // Twice into one generation, a file of another config, generation 0: refused, unchanged.
    CHECK_FALSE(mp::attach_frozen(head, 1, split.frozen[0]));
    auto other = split.frozen[1];
    other.config.fp_rate = 0.5;
    auto head2 = split.head;
    CHECK_FALSE(mp::attach_frozen(head2, 2, other));
    CHECK(head2.generations[2].slices.empty());
    CHECK_FALSE(mp::attach_frozen(head2, 0, split.frozen[0]));
}
