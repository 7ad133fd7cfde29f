// state_inspect and state_render: the read-only report of a state directory behind `state inspect`
// and `state verify` (docs/persistence.md, "Looking at a state directory"). A state is written
// by the daemon's own persistence (bases and increments), then damaged the ways a disk or an
// operator damages it; the report must name each problem, apply the increments a restore applies
// (checked against a real restore), and never change the directory.
#include "persistence/state_inspect.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "persistence/meta_index.h"
#include "persistence/state_render.h"
#include "persistence/tracker_store.h"
#include "persistence_fixture.h"
#include "shared/fault_file_system.h"
#include "shared/temp_dir.h"

using namespace persistence_fixture;

namespace {

const std::string k_x = "stats:metric:x";
const std::string k_y = "stats:metric:y";

void set_meta(const std::string& dir, const nlohmann::json& j) {
    write_all(dir + "/meta.json", j.dump());
}

// Tracker x: a base of 500 series and three increments of 10 new series each; tracker y: a base
// of 30 series. The clock ends 5 s after the last save.
void write_state(mg::fake_clock& clock, const std::string& dir) {
    mp::persistence_options o;
    o.snapshot_ratio = 100;  // small trackers: keep every later save an increment
    life l(clock, dir, o);
    l.send(request("x", 0, 500));
    l.send(request("y", 0, 30));
    REQUIRE(l.persistence->save_now().saved == 2);
    for (int round = 0; round < 3; ++round) {
        l.send(request("x", 500 + round * 10, 510 + round * 10));
        clock.advance(5s);
        const auto r = l.persistence->save_now();
        REQUIRE(r.increments == 1);
    }
    clock.advance(5s);
}

std::string increment_file(const std::string& dir, const std::string& key, std::uint64_t seq) {
    const auto m = meta_of(dir)["trackers"][key]["increments"][seq - 1];
    mp::increment_meta inc;
    inc.seq = m["seq"].get<std::uint64_t>();
    inc.base_checksum = m["base_checksum"].get<std::uint32_t>();
    inc.compressed = m["compressed"].get<bool>();
    return dir + "/trackers/" + mp::tracker_store::increment_file_name(mp::sha256_hex(key), inc);
}

mp::state_report inspect(mg::file_system& fsys, mg::fake_clock& clock, const std::string& dir) {
    mp::inspect_options o;
    o.path = dir;
    return mp::inspect_state(fsys, clock, o);
}
mp::state_report inspect(mg::fake_clock& clock, const std::string& dir) {
    return inspect(mg::posix_file_system(), clock, dir);
}

const mp::tracker_check& tracker(const mp::state_report& r, const std::string& key) {
    for (const auto& t : r.trackers)
        if (t.meta.key == key) return t;
    FAIL("no tracker " << key);
    throw std::logic_error("unreachable");
}

std::string all_lines(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

// Every file under dir with its contents: a read-only command leaves this unchanged.
std::map<std::string, std::string> tree(const std::string& dir) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        out[e.path().string()] = e.is_directory() ? "<dir>" : read_all(e.path().string());
    return out;
}

// The real file system, refusing (and counting) every call that could change something.
class read_only_fs final : public mg::file_system {
  public:
    mg::result<std::unique_ptr<mg::writable_file>> create_file(const std::string& p,
                                                               unsigned) override {
        return refuse("create " + p);
    }
    mg::result<std::unique_ptr<mg::writable_file>> open_appendable(const std::string& p) override {
        return refuse("append " + p);
    }
    mg::result<std::string> read_file(const std::string& p, std::uint64_t max) override {
        return real_.read_file(p, max);
    }
    mg::status rename(const std::string& from, const std::string&) override {
        return refuse("rename " + from);
    }
    mg::status remove(const std::string& p) override { return refuse("remove " + p); }
    mg::status create_dirs(const std::string& p, unsigned) override { return refuse("mkdir " + p); }
    mg::status sync_dir(const std::string& p) override { return refuse("sync " + p); }
    mg::result<std::vector<mg::dir_entry>> list_dir(const std::string& p) override {
        return real_.list_dir(p);
    }
    mg::result<std::uint64_t> file_size(const std::string& p) override {
        return real_.file_size(p);
    }
    mg::result<std::uint64_t> available_bytes(const std::string& p) override {
        return real_.available_bytes(p);
    }
    mg::result<std::unique_ptr<mg::file_lock>> lock_file(const std::string& p) override {
        return refuse("lock " + p);
    }
    std::vector<std::string> refused;

  private:
    mg::error refuse(std::string what) {
        refused.push_back(what);
        return mg::make_error("read-only: " + what);
    }
    mg::file_system& real_ = mg::posix_file_system();
};

}  // namespace

TEST_CASE("state inspect: a healthy state, its increments applied as a restore applies them",
          "[persistence][state_inspect]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    write_state(clock, dir.path());

    const auto r = inspect(clock, dir.path());
    INFO(all_lines(r.problems) << all_lines(r.warnings));
    CHECK(r.index_usable());
    CHECK(r.problems.empty());
    CHECK(r.warnings.empty());
    REQUIRE(r.trackers.size() == 2);
    const auto& x = tracker(r, k_x);
    CHECK(x.meta.hash == mp::sha256_hex(k_x));
    CHECK(x.base_status == mp::file_status::ok);
    CHECK(x.base_file == mp::sha256_hex(k_x) + ".bloom.gz");
    CHECK(x.base_bytes == fs::file_size(tracker_file(dir.path(), k_x)));
    REQUIRE(x.increments.size() == 3);
    for (const auto& inc : x.increments) {
        CHECK(inc.status == mp::file_status::ok);
        CHECK(inc.fate == mp::increment_fate::applied);
    }
    CHECK(x.meta.count == 530);
    CHECK(x.count_rebuilt == 530u);
    CHECK(x.count_now == 530u);
    CHECK(x.loads);
    REQUIRE(x.generations.size() == 3);
    CHECK(x.generations[0].latest_count == 530);
    CHECK(x.generations[0].age >= 20s);  // the tracker's first sighting, 20 s before the report
    CHECK(x.generations[0].slices >= 1);
    CHECK(tracker(r, k_y).count_now == 30u);
    CHECK(tracker(r, k_y).increments.empty());
    CHECK(r.orphans.empty());
    CHECK(r.bytes_on_disk == r.indexed_bytes);  // nothing unlisted

    // The text and JSON forms carry the same.
    const auto text = mp::render_inspect_text(r);
    CHECK_THAT(text, Catch::Contains(k_x) && Catch::Contains("530 (rebuilt") &&
                         Catch::Contains("applied") && Catch::Contains("0 problems"));
    const auto j = nlohmann::json::parse(mp::render_json(r));
    CHECK(j["ok"] == true);
    REQUIRE(j["trackers"].size() == 2);
    CHECK(j["trackers"][0]["key"] == k_x);
    CHECK(j["trackers"][0]["count_now"] == 530);
    CHECK(j["trackers"][0]["base"]["status"] == "ok");
    CHECK(j["trackers"][0]["increments"][2]["fate"] == "applied");
    CHECK(j["trackers"][0]["generations"].size() == 3);
    CHECK(j["problems"].empty());
    CHECK_THAT(mp::render_verify_text(r), Catch::StartsWith("state OK: "));

    // A restore rebuilds exactly what the report says.
    life second(clock, dir.path());
    const auto restored = second.persistence->restore();
    CHECK(restored.increments_applied == 3);
    second.governor.refresh();
    CHECK(second.active("x") == 530);
}

TEST_CASE("state inspect: a torn increment and the ones after it are problems, the rest applies",
          "[persistence][state_inspect]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    write_state(clock, dir.path());
    const auto second_inc = increment_file(dir.path(), k_x, 2);
    const auto bytes = read_all(second_inc);
    write_all(second_inc, bytes.substr(0, bytes.size() / 2));  // a write cut short

    const auto r = inspect(clock, dir.path());
    const auto& x = tracker(r, k_x);
    REQUIRE(x.increments.size() == 3);
    CHECK(x.increments[0].fate == mp::increment_fate::applied);
    CHECK(x.increments[1].status == mp::file_status::mismatch);
    CHECK(x.increments[1].fate == mp::increment_fate::skipped);
    CHECK(x.increments[2].status == mp::file_status::ok);  // intact, but after the torn one
    CHECK(x.increments[2].fate == mp::increment_fate::skipped);
    CHECK_THAT(x.increments[2].skipped, Catch::Contains("follows an increment that was skipped"));
    CHECK(x.count_now == 510u);  // base and increment 1
    CHECK(x.loads);
    REQUIRE(r.problems.size() == 2);
    CHECK_THAT(r.problems[0], Catch::StartsWith(k_x + ": increment ") &&
                                  Catch::Contains("(seq 2)") &&
                                  Catch::Contains("checksum mismatch"));
    CHECK_THAT(r.problems[1], Catch::Contains("(seq 3)"));
    CHECK_THAT(mp::render_verify_text(r),
               Catch::StartsWith("problem: " + k_x) && Catch::Contains("state has 2 problems"));

    // The daemon's restore agrees.
    life second(clock, dir.path());
    const auto restored = second.persistence->restore();
    CHECK(restored.increments_applied == 1);
    CHECK(restored.increments_skipped == 2);
    second.governor.refresh();
    CHECK(second.active("x") == 510);
}

TEST_CASE("state inspect: a corrupt, missing or undecodable base is a problem of its tracker only",
          "[persistence][state_inspect]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    write_state(clock, dir.path());

    SECTION("CRC32 mismatch") {
        corrupt_one_byte(tracker_file(dir.path(), k_y));
        const auto r = inspect(clock, dir.path());
        REQUIRE(r.problems.size() == 1);
        CHECK_THAT(r.problems[0],
                   Catch::StartsWith(k_y + ": base file ") && Catch::Contains("checksum mismatch"));
        CHECK(tracker(r, k_y).base_status == mp::file_status::mismatch);
        CHECK_FALSE(tracker(r, k_y).loads);
        CHECK(tracker(r, k_x).loads);
        CHECK(nlohmann::json::parse(mp::render_json(r))["trackers"][1]["base"]["status"] ==
              "mismatch");
    }
    SECTION("missing: its increments are not applied") {
        fs::remove(tracker_file(dir.path(), k_x));
        const auto r = inspect(clock, dir.path());
        REQUIRE(r.problems.size() == 1);
        CHECK_THAT(r.problems[0],
                   Catch::StartsWith(k_x + ": base file ") && Catch::Contains("missing"));
        const auto& x = tracker(r, k_x);
        CHECK(x.base_status == mp::file_status::missing);
        for (const auto& inc : x.increments) CHECK(inc.fate == mp::increment_fate::skipped);
        CHECK_FALSE(x.count_now);
    }
    SECTION("CRC32 as indexed, contents that do not decode") {
        const std::string junk = "not a tracker file at all";
        write_all(tracker_file(dir.path(), k_y), junk);
        auto meta = meta_of(dir.path());
        meta["trackers"][k_y]["checksum"] = mp::crc32_of(junk);
        meta["trackers"][k_y]["size_bytes"] = junk.size();
        set_meta(dir.path(), meta);
        const auto r = inspect(clock, dir.path());
        REQUIRE(r.problems.size() == 1);
        CHECK(tracker(r, k_y).base_status == mp::file_status::undecodable);
        CHECK_THAT(r.problems[0], Catch::StartsWith(k_y + ": base file "));
    }
    SECTION("unreadable (an injected read error)") {
        mg::test::fault_file_system faults;
        faults.fail_read(mp::sha256_hex(k_y) + ".bloom");
        const auto r = inspect(faults, clock, dir.path());
        REQUIRE(r.problems.size() == 1);
        CHECK(tracker(r, k_y).base_status == mp::file_status::unreadable);
    }
}

TEST_CASE("state inspect: leftovers a start copes with are warnings, not problems",
          "[persistence][state_inspect]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    write_state(clock, dir.path());

    SECTION("files meta.json does not list, and unreadable/") {
        write_all(dir.path() + "/trackers/" + std::string(64, 'a') + ".bloom.gz", "stray");
        write_all(dir.path() + "/trackers/half-written.bloom.gz.tmp", "x");
        fs::create_directories(dir.path() + "/unreadable");
        write_all(dir.path() + "/unreadable/" + std::string(64, 'b') + ".bloom.gz", "bad");
        const auto r = inspect(clock, dir.path());
        CHECK(r.problems.empty());
        REQUIRE(r.orphans.size() == 2);
        CHECK(r.orphans[0].name == std::string(64, 'a') + ".bloom.gz");
        CHECK(r.orphans[0].size == 5);
        CHECK_THAT(r.orphans[0].note, Catch::Contains("deleted at the next start"));
        CHECK_THAT(r.orphans[1].note, Catch::Contains("a write cut short"));
        REQUIRE(r.unreadable.size() == 1);
        CHECK(r.warnings.size() == 3);
        CHECK(r.bytes_on_disk == r.indexed_bytes + 5 + 1 + 3);
        const auto j = nlohmann::json::parse(mp::render_json(r));
        CHECK(j["ok"] == true);
        CHECK(j["orphans"].size() == 2);
        CHECK(j["unreadable"].size() == 1);
    }
    SECTION("a base of the previous save, after a save cut short") {
        auto meta = meta_of(dir.path());
        auto& y = meta["trackers"][k_y];
        y["previous_checksum"] = y["checksum"];
        y["checksum"] = y["checksum"].get<std::uint32_t>() + 1;
        set_meta(dir.path(), meta);
        const auto r = inspect(clock, dir.path());
        CHECK(r.problems.empty());
        CHECK(tracker(r, k_y).base_status == mp::file_status::ok_previous);
        CHECK(tracker(r, k_y).loads);
        REQUIRE(r.warnings.size() == 1);
        CHECK_THAT(r.warnings[0], Catch::Contains("previous save"));
    }
    SECTION("increments of another base are superseded") {
        auto meta = meta_of(dir.path());
        auto& incs = meta["trackers"][k_x]["increments"];
        auto stale = incs[0];
        stale["base_checksum"] = stale["base_checksum"].get<std::uint32_t>() ^ 1u;
        incs.push_back(stale);  // its file does not exist: harmless, it is never read
        set_meta(dir.path(), meta);
        const auto r = inspect(clock, dir.path());
        INFO(all_lines(r.problems));
        CHECK(r.problems.empty());
        const auto& x = tracker(r, k_x);
        REQUIRE(x.increments.size() == 4);
        CHECK(x.increments[3].fate == mp::increment_fate::superseded);
        CHECK(x.count_now == 530u);
        REQUIRE(r.warnings.size() == 1);
        CHECK_THAT(r.warnings[0], Catch::Contains("superseded"));
    }
}

TEST_CASE("state inspect: an unusable meta.json or directory", "[persistence][state_inspect]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;

    SECTION("no directory") {
        const auto r = inspect(clock, dir.file("none"));
        CHECK_FALSE(r.readable);
        REQUIRE(r.problems.size() == 1);
        CHECK_THAT(r.problems[0], Catch::Contains("not a readable state directory"));
    }
    SECTION("no meta.json") {
        const auto r = inspect(clock, dir.path());
        CHECK(r.readable);
        CHECK_FALSE(r.index_usable());
        REQUIRE(r.problems.size() == 1);
        CHECK_THAT(r.problems[0], Catch::Contains("meta.json: missing"));
    }
    write_state(clock, dir.path());
    SECTION("malformed: the files are listed, as a start would rebuild them") {
        write_all(dir.path() + "/meta.json", "{\"version\": 1, \"trackers\": ");
        const auto r = inspect(clock, dir.path());
        CHECK_FALSE(r.index_usable());
        REQUIRE(r.problems.size() == 1);
        CHECK_THAT(r.problems[0], Catch::Contains("meta.json.corrupt"));
        CHECK(r.orphans.size() == 5);  // two bases, three increments
        CHECK_THAT(r.orphans[0].note, Catch::Contains("rebuilds"));
    }
    SECTION("another version") {
        write_all(dir.path() + "/meta.json", R"({"version": 2, "trackers": {}})");
        const auto r = inspect(clock, dir.path());
        CHECK(r.meta == mp::meta_problem::version_unsupported);
        REQUIRE(r.problems.size() == 1);
        CHECK_THAT(r.problems[0], Catch::Contains("version 2"));
    }
    SECTION("a malformed entry: the others are still checked") {
        auto meta = meta_of(dir.path());
        meta["trackers"][k_y].erase("hash");
        set_meta(dir.path(), meta);
        const auto r = inspect(clock, dir.path());
        CHECK(r.index_usable());
        REQUIRE(r.trackers.size() == 1);
        REQUIRE(r.problems.size() == 1);
        CHECK_THAT(r.problems[0], Catch::StartsWith("meta.json entry " + k_y));
        REQUIRE(r.orphans.size() == 1);  // y's base: a start recovers it from the file
        CHECK_THAT(r.orphans[0].note, Catch::Contains("rebuilds"));
    }
}

TEST_CASE("state inspect never changes the directory", "[persistence][state_inspect]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    write_state(clock, dir.path());
    // What tracker_store::open would change: an orphan, a temporary file, a malformed entry.
    write_all(dir.path() + "/trackers/" + std::string(64, 'a') + ".bloom.gz", "stray");
    write_all(dir.path() + "/trackers/x.tmp", "x");
    auto meta = meta_of(dir.path());
    meta["trackers"][k_y].erase("hash");
    set_meta(dir.path(), meta);
    corrupt_one_byte(increment_file(dir.path(), k_x, 1));

    const auto before = tree(dir.path());
    read_only_fs fsys;
    const auto r = inspect(fsys, clock, dir.path());
    CHECK(r.problems.size() == 4);  // the entry, increments 1 to 3
    CHECK(fsys.refused.empty());
    CHECK(tree(dir.path()) == before);
}
