// The state directory: layout, permissions, checksums, orphans, write order and faults
// (src/persistence/tracker_store.h), on the real file system with injected faults.
#include "persistence/tracker_store.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "persistence/meta_index.h"
#include "persistence/tracker_codec.h"
#include "shared/fault_file_system.h"
#include "shared/temp_dir.h"

namespace mp = mg::persistence;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

const auto k_now = std::chrono::system_clock::time_point(std::chrono::hours(24 * 365 * 54));

mp::pending_file file(const std::string& key, std::string bytes) {
    mp::pending_file f;
    f.meta.key = key;
    f.meta.last_updated = k_now;
    f.meta.created_at = k_now;
    f.meta.compressed = true;
    f.bytes = std::move(bytes);
    return f;
}

std::unique_ptr<mp::tracker_store> open_store(mg::file_system& fsys, const std::string& path,
                                              mp::open_report* report = nullptr) {
    mp::open_report local;
    mp::store_options o;
    o.path = path;
    auto s =
        mp::tracker_store::open(fsys, mg::system_clock_instance(), o, report ? *report : local);
    REQUIRE(s.ok());
    return std::move(*s);
}

unsigned mode_of(const std::string& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_mode & 0777;
}

std::string slurp(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

TEST_CASE("save writes the spec's layout with 0600 files in 0700 directories",
          "[persistence][store]") {
    mg::test::temp_dir dir;
    const std::string path = dir.file("state/bloom");  // parents are created too
    auto store = open_store(mg::posix_file_system(), path);
    auto out =
        store->save({file("stats:metric:a", "AAAA"), file("stats:metric:b", "BBBBBB")}, k_now);
    REQUIRE(out.size() == 2);
    CHECK(out[0].result.ok());
    CHECK(out[1].result.ok());

    const std::string a = path + "/trackers/" + mp::sha256_hex("stats:metric:a") + ".bloom.gz";
    CHECK(slurp(a) == "AAAA");
    CHECK(mode_of(a) == 0600);
    CHECK(mode_of(path + "/meta.json") == 0600);
    CHECK(mode_of(path) == 0700);
    CHECK(mode_of(path + "/trackers") == 0700);

    const auto meta = mp::parse_meta(slurp(path + "/meta.json"));
    REQUIRE(meta.problem == mp::meta_problem::none);
    const auto& e = meta.index.trackers.at("stats:metric:a");
    CHECK(e.hash == mp::sha256_hex("stats:metric:a"));
    CHECK(e.checksum == mp::crc32_of("AAAA"));
    CHECK(e.size_bytes == 4);
    CHECK(store->disk_usage() == 4 + 6 + fs::file_size(path + "/meta.json"));
    CHECK(*store->read(e) == "AAAA");
}

TEST_CASE("disk usage is exact: a re-save replaces the old size", "[persistence][store]") {
    mg::test::temp_dir dir;
    auto store = open_store(mg::posix_file_system(), dir.path());
    store->save({file("k", std::string(1000, 'x'))}, k_now);
    const auto meta_size = [&] { return fs::file_size(dir.file("meta.json")); };
    CHECK(store->disk_usage() == 1000 + meta_size());
    store->save({file("k", std::string(300, 'y'))}, k_now);
    CHECK(store->disk_usage() == 300 + meta_size());
    REQUIRE(store->remove({"k"}).ok());
    CHECK(store->disk_usage() == meta_size());
    CHECK_FALSE(fs::exists(dir.file("trackers/" + mp::sha256_hex("k") + ".bloom.gz")));
}

TEST_CASE("a file whose CRC matches neither checksum is refused", "[persistence][store]") {
    mg::test::temp_dir dir;
    auto store = open_store(mg::posix_file_system(), dir.path());
    store->save({file("k", "original")}, k_now);
    const auto e = *store->entry("k");
    std::ofstream(store->file_path(e), std::ios::binary) << "tampered";
    auto r = store->read(e);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error_message(), Catch::Contains("checksum mismatch"));

    REQUIRE(fs::remove(store->file_path(e)));
    CHECK_THAT(store->read(e).error_message(), Catch::Contains("missing"));
}

TEST_CASE("files over the size limit are refused on load and on save", "[persistence][store]") {
    mg::test::temp_dir dir;
    mp::open_report rep;
    mp::store_options o;
    o.path = dir.path();
    o.max_file_bytes = 100;
    auto opened =
        mp::tracker_store::open(mg::posix_file_system(), mg::system_clock_instance(), o, rep);
    REQUIRE(opened.ok());
    auto store = std::move(*opened);
    auto out =
        store->save({file("big", std::string(101, 'x')), file("ok", std::string(100, 'x'))}, k_now);
    REQUIRE(out.size() == 2);
    CHECK_THAT(out[0].result.error_message(), Catch::Contains("over the limit"));
    CHECK(out[1].result.ok());
    // A file that grew on disk past the limit is not read.
    auto e = *store->entry("ok");
    std::ofstream(store->file_path(e), std::ios::binary) << std::string(200, 'x');
    CHECK_THAT(store->read(e).error_message(), Catch::Contains("over the limit"));
}

TEST_CASE("open removes orphans and temporary files, keeps indexed files", "[persistence][store]") {
    mg::test::temp_dir dir;
    {
        auto store = open_store(mg::posix_file_system(), dir.path());
        store->save({file("k", "data")}, k_now);
    }
    dir.write("trackers/deadbeef.bloom.gz", "orphan");
    dir.write("trackers/" + mp::sha256_hex("k") + ".bloom.gz.tmp", "half");
    dir.write("meta.json.tmp", "{");
    mp::open_report rep;
    auto store = open_store(mg::posix_file_system(), dir.path(), &rep);
    CHECK(rep.orphans_removed.size() == 2);
    CHECK_FALSE(fs::exists(dir.file("trackers/deadbeef.bloom.gz")));
    CHECK_FALSE(fs::exists(dir.file("meta.json.tmp")));
    CHECK(*store->read(*store->entry("k")) == "data");
}

TEST_CASE("an index of an unknown version is refused and left alone", "[persistence][store]") {
    mg::test::temp_dir dir;
    dir.write("meta.json", R"({"version": 7, "trackers": {}})");
    fs::create_directories(dir.file("trackers"));
    dir.write("trackers/abc.bloom.gz", "newer build's data");
    mp::open_report rep;
    mp::store_options o;
    o.path = dir.path();
    auto s = mp::tracker_store::open(mg::posix_file_system(), mg::system_clock_instance(), o, rep);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.error_message(), Catch::Contains("version 7 is not supported"));
    CHECK(fs::exists(dir.file("trackers/abc.bloom.gz")));
    CHECK(slurp(dir.file("meta.json")) == R"({"version": 7, "trackers": {}})");
}

TEST_CASE("a malformed index is moved aside and the store starts empty", "[persistence][store]") {
    mg::test::temp_dir dir;
    dir.write("meta.json", "{\"version\": 1, \"trackers\": ");
    mp::open_report rep;
    auto store = open_store(mg::posix_file_system(), dir.path(), &rep);
    CHECK(rep.problem == mp::meta_problem::malformed);
    CHECK(store->size() == 0);
    CHECK(fs::exists(dir.file("meta.json.corrupt")));
}

TEST_CASE("a failed file write leaves the old file and entry in place", "[persistence][store]") {
    mg::test::temp_dir dir;
    mg::test::fault_file_system faults;
    auto store = open_store(faults, dir.path());
    store->save({file("k", "version-1")}, k_now);

    for (const char* which : {"append", "sync", "rename"}) {
        SECTION(which) {
            const std::string name = mp::sha256_hex("k");
            if (std::string(which) == "append") faults.fail_append(name);
            if (std::string(which) == "sync") faults.fail_sync(name);
            if (std::string(which) == "rename") faults.fail_rename(name);
            auto out = store->save({file("k", "version-2")}, k_now);
            REQUIRE(out.size() == 1);
            CHECK_FALSE(out[0].result.ok());
            CHECK(*store->read(*store->entry("k")) == "version-1");
            faults.clear();
            // A restart reads the old file.
            auto reopened = open_store(mg::posix_file_system(), dir.path());
            CHECK(*reopened->read(*reopened->entry("k")) == "version-1");
            // And once the fault is gone, saves go through.
            CHECK(store->save({file("k", "version-3")}, k_now)[0].result.ok());
            CHECK(*store->read(*store->entry("k")) == "version-3");
        }
    }
}

TEST_CASE("a crash between the index and the file still loads the previous save",
          "[persistence][store]") {
    mg::test::temp_dir dir;
    mg::test::fault_file_system faults;
    auto store = open_store(faults, dir.path());
    store->save({file("k", "version-1")}, k_now);
    // The index write goes through; the tracker file write and the index repair after it fail:
    // on disk the index names the new checksum, the old file is in place (the crash window).
    faults.fail_rename(mp::sha256_hex("k"));
    faults.fail_create("meta.json.tmp", 1);
    CHECK_FALSE(store->save({file("k", "version-2")}, k_now)[0].result.ok());
    faults.clear();

    const auto on_disk = mp::parse_meta(slurp(dir.file("meta.json")));
    const auto& e = on_disk.index.trackers.at("k");
    REQUIRE(e.checksum == mp::crc32_of("version-2"));
    REQUIRE(e.previous_checksum == std::optional<std::uint32_t>(mp::crc32_of("version-1")));
    auto reopened = open_store(mg::posix_file_system(), dir.path());
    CHECK(*reopened->read(*reopened->entry("k")) == "version-1");
}

TEST_CASE("a full disk refuses the whole save before writing anything", "[persistence][store]") {
    mg::test::temp_dir dir;
    mg::test::fault_file_system faults;
    auto store = open_store(faults, dir.path());
    store->save({file("k", "version-1")}, k_now);
    const auto meta_before = slurp(dir.file("meta.json"));
    faults.disk_budget(1000);  // under the 1 MiB margin
    const auto written_before = faults.appended_bytes();
    auto out = store->save({file("k", "version-2"), file("j", "new")}, k_now);
    REQUIRE(out.size() == 2);
    for (const auto& o : out)
        CHECK_THAT(o.result.error_message(), Catch::Contains("not enough disk space"));
    CHECK(faults.appended_bytes() == written_before);
    CHECK(slurp(dir.file("meta.json")) == meta_before);
    CHECK_FALSE(store->entry("j"));

    // Writes that fail midway (the disk fills during the save) leave the old state too.
    faults.disk_budget(std::nullopt);
    faults.fail_append(mp::sha256_hex("k"));
    CHECK_FALSE(store->save({file("k", "version-2")}, k_now)[0].result.ok());
    faults.clear();
    CHECK(*store->read(*store->entry("k")) == "version-1");
}

TEST_CASE("switching compression off replaces the .bloom.gz with a .bloom",
          "[persistence][store]") {
    mg::test::temp_dir dir;
    auto store = open_store(mg::posix_file_system(), dir.path());
    store->save({file("k", "gz")}, k_now);
    auto plain = file("k", "plain");
    plain.meta.compressed = false;
    REQUIRE(store->save({plain}, k_now)[0].result.ok());
    const std::string base = dir.file("trackers/" + mp::sha256_hex("k"));
    CHECK(fs::exists(base + ".bloom"));
    CHECK_FALSE(fs::exists(base + ".bloom.gz"));
    CHECK(*store->read(*store->entry("k")) == "plain");
}

TEST_CASE("a save stops starting files once the deadline on the store's clock passed",
          "[persistence][store]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    mp::open_report rep;
    mp::store_options o;
    o.path = dir.path();
    auto opened = mp::tracker_store::open(mg::posix_file_system(), clock, o, rep);
    REQUIRE(opened.ok());
    auto store = std::move(*opened);
    const auto deadline = clock.monotonic_now() + 1s;
    auto out = store->save({file("a", "aaaa")}, k_now, deadline);
    REQUIRE(out.size() == 1);
    CHECK(out[0].result.ok());
    CHECK_FALSE(out[0].timed_out);
    clock.advance(1s);
    out = store->save({file("b", "bbbb")}, k_now, deadline);
    REQUIRE(out.size() == 1);
    CHECK(out[0].timed_out);
    CHECK_THAT(out[0].result.error_message(), Catch::Contains("deadline"));
    CHECK_FALSE(store->entry("b"));
    CHECK(store->entry("a"));
}
