// disk_queue on a real directory (a fresh temporary one per test): round trip, acknowledgement,
// the byte bound, torn and corrupt data, file modes; and, through fault_file_system, what
// write errors, a full disk, failed syncs, renames, truncations and reads do.
#include "export/disk_queue.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "shared/fault_file_system.h"
#include "shared/temp_dir.h"

namespace ex = mg::exporter;
namespace fs = std::filesystem;

namespace {

using mg::test::temp_dir;

ex::payload make(const std::string& body, std::uint32_t series = 1) {
    ex::payload p;
    p.format = ex::payload_format::prw_v1;
    p.body = body;
    p.series = series;
    p.points = 2ULL * series;
    return p;
}

std::unique_ptr<ex::disk_queue> open(const std::string& dir, std::uint64_t max = 64 << 20,
                                     std::uint64_t segment = 0,
                                     mg::file_system& fs = mg::posix_file_system()) {
    auto q = ex::disk_queue::open(dir, max, segment, fs);
    if (!q.ok()) FAIL(q.error_message());
    return std::move(*q);
}

std::vector<fs::path> segments(const std::string& dir) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() == ".mgq") out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> bodies(const std::vector<ex::payload>& ps) {
    std::vector<std::string> out;
    for (const auto& p : ps) out.push_back(p.body);
    return out;
}

}  // namespace

TEST_CASE("disk queue: records survive a reopen in order, with their metadata", "[export][disk]") {
    temp_dir d;
    {
        auto q = open(d.path());
        for (int i = 0; i < 5; ++i) {
            auto p = make("body-" + std::to_string(i), static_cast<std::uint32_t>(i + 1));
            p.format = i == 3 ? ex::payload_format::otlp_json : ex::payload_format::prw_v1;
            p.compressed = i == 4;
            REQUIRE(q->append(p) == ex::disk_queue::append_status::ok);
            CHECK(p.disk_id == static_cast<std::uint64_t>(i + 1));
        }
        CHECK(q->live_records() == 5);
        CHECK(q->bytes() == fs::file_size(segments(d.path()).at(0)));
    }
    auto q = open(d.path());
    auto got = q->take_recovered();
    REQUIRE(got.size() == 5);
    CHECK(bodies(got) ==
          std::vector<std::string>{"body-0", "body-1", "body-2", "body-3", "body-4"});
    CHECK(got[3].format == ex::payload_format::otlp_json);
    CHECK(got[4].compressed);
    CHECK(got[2].series == 3);
    CHECK(got[2].points == 6);
    CHECK(q->corrupt() == 0);
    // New records get ids after the recovered ones.
    auto p = make("new");
    REQUIRE(q->append(p) == ex::disk_queue::append_status::ok);
    CHECK(p.disk_id == 6);
}

TEST_CASE("disk queue: acknowledged records are removed and not replayed", "[export][disk]") {
    temp_dir d;
    {
        auto q = open(d.path(), 64 << 20, 100);  // tiny segments: one or two records each
        std::vector<std::uint64_t> ids;
        for (int i = 0; i < 6; ++i) {
            auto p = make("payload-" + std::to_string(i) + std::string(40, 'x'));
            REQUIRE(q->append(p) == ex::disk_queue::append_status::ok);
            ids.push_back(p.disk_id);
        }
        CHECK(segments(d.path()).size() >= 3);
        // Acknowledge out of order, all but the last two.
        q->ack(std::vector<std::uint64_t>{ids[2], ids[0], ids[3], ids[1]});
        CHECK(q->live_records() == 2);
    }
    auto q = open(d.path());
    const auto got = bodies(q->take_recovered());
    REQUIRE(got.size() == 2);
    CHECK(got[0].rfind("payload-4", 0) == 0);
    CHECK(got[1].rfind("payload-5", 0) == 0);
    q->ack(std::vector<std::uint64_t>{5, 6});
    CHECK(segments(d.path()).empty());
    CHECK(q->bytes() == 0);
}

TEST_CASE("disk queue: full at max_bytes, nothing written", "[export][disk]") {
    temp_dir d;
    auto q = open(d.path(), 1000);
    int ok = 0;
    ex::disk_queue::append_status st = ex::disk_queue::append_status::ok;
    while (st == ex::disk_queue::append_status::ok) {
        auto p = make(std::string(100, 'a'));
        st = q->append(p);
        if (st == ex::disk_queue::append_status::ok) ++ok;
    }
    CHECK(st == ex::disk_queue::append_status::full);
    CHECK(ok == 7);  // 8 header + 7 * (32 + 100) = 932; one more would be 1064
    CHECK(q->bytes() <= 1000);
    CHECK(q->bytes() == fs::file_size(segments(d.path()).at(0)));
}

TEST_CASE("disk queue: a torn tail is cut off and counted, the complete records survive",
          "[export][disk]") {
    temp_dir d;
    {
        auto q = open(d.path());
        for (int i = 0; i < 3; ++i) {
            auto p = make("rec" + std::to_string(i) + std::string(50, 'z'));
            REQUIRE(q->append(p) == ex::disk_queue::append_status::ok);
        }
    }
    const auto seg = segments(d.path()).at(0);
    const auto full = fs::file_size(seg);
    fs::resize_file(seg, full - 20);  // in the middle of the last record, as a kill -9 leaves it
    {
        auto q = open(d.path());
        const auto got = bodies(q->take_recovered());
        REQUIRE(got.size() == 2);
        CHECK(got[1].rfind("rec1", 0) == 0);
        CHECK(q->corrupt() == 1);
        CHECK(fs::file_size(seg) == full - (32 + 54));  // truncated to the last good record
        auto p = make("after");
        REQUIRE(q->append(p) == ex::disk_queue::append_status::ok);
    }
    auto q = open(d.path());
    CHECK(bodies(q->take_recovered()).size() == 3);
    CHECK(q->corrupt() == 0);
}

TEST_CASE("disk queue: a flipped byte fails the CRC, garbage files do not crash",
          "[export][disk]") {
    temp_dir d;
    {
        auto q = open(d.path());
        for (int i = 0; i < 3; ++i) {
            auto p = make("rec" + std::to_string(i));
            REQUIRE(q->append(p) == ex::disk_queue::append_status::ok);
        }
    }
    const auto seg = segments(d.path()).at(0);
    {
        std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(8 + (32 + 4) + 32 + 1);  // a body byte of the second record
        f.put('!');
    }
    // A file named like a segment with random content, and an empty one.
    {
        std::ofstream g(d.path() + "/seg-00000000000000000900.mgq", std::ios::binary);
        for (int i = 0; i < 1000; ++i) g.put(static_cast<char>((i * 7919) & 0xff));
    }
    { std::ofstream e(d.path() + "/seg-00000000000000000950.mgq"); }
    {
        std::ofstream other(d.path() + "/notes.txt");
        other << "ignored";
    }
    auto q = open(d.path());
    const auto got = bodies(q->take_recovered());
    CHECK(got == std::vector<std::string>{"rec0"});
    CHECK(q->corrupt() == 3);  // the bad record and the two files without a header
    CHECK(fs::exists(d.path() + "/seg-00000000000000000900.mgq.corrupt"));
    CHECK(fs::exists(d.path() + "/notes.txt"));
}

TEST_CASE("disk queue: modes, lock, unusable path", "[export][disk]") {
    temp_dir d;
    const std::string dir = d.path() + "/q/sub";
    auto q = open(dir);
    auto p = make("x");
    REQUIRE(q->append(p) == ex::disk_queue::append_status::ok);
    struct stat st {};
    REQUIRE(::stat(dir.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    REQUIRE(::stat(segments(dir).at(0).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    // flock is per open file description, so a second open in this process is refused too.
    auto second = ex::disk_queue::open(dir, 1 << 20);
    REQUIRE_FALSE(second.ok());
    CHECK(second.error_message().find(dir) != std::string::npos);

    std::ofstream(d.path() + "/file") << "not a directory";
    auto bad = ex::disk_queue::open(d.path() + "/file/q", 1 << 20);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error_message().find(d.path() + "/file/q") != std::string::npos);
}

// ---- faults (tests/shared/fault_file_system.h) ------------------------------------------------

namespace {

using append_status = ex::disk_queue::append_status;

// Every name in the directory but LOCK, sorted.
std::vector<std::string> files_in(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().filename() != "LOCK") out.push_back(e.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::uint64_t bytes_on_disk(const std::string& dir) {
    std::uint64_t n = 0;
    for (const auto& p : segments(dir)) n += fs::file_size(p);
    return n;
}

// What a restart finds: the recovered bodies, and the corrupt count.
std::pair<std::vector<std::string>, std::uint64_t> reopen(const std::string& dir) {
    auto q = open(dir);
    return {bodies(q->take_recovered()), q->corrupt()};
}

}  // namespace

TEST_CASE("disk queue faults: a write error refuses the payload, the queue goes on",
          "[export][disk][faults]") {
    temp_dir d;
    mg::test::fault_file_system faults;
    {
        auto q = open(d.path(), 64 << 20, 0, faults);
        auto a = make("a");
        REQUIRE(q->append(a) == append_status::ok);
        faults.fail_append("seg-");
        auto b = make("b");
        CHECK(q->append(b) == append_status::error);
        CHECK(b.disk_id == 0);
        CHECK(q->live_records() == 1);
        CHECK(q->bytes() == bytes_on_disk(d.path()));
        faults.clear();
        auto c = make("c");
        REQUIRE(q->append(c) == append_status::ok);
        CHECK(c.disk_id == a.disk_id + 1);  // the refused record used no id
    }
    const auto [got, corrupt] = reopen(d.path());
    CHECK(got == std::vector<std::string>{"a", "c"});
    CHECK(corrupt == 0);
}

TEST_CASE("disk queue faults: a full disk mid-record leaves no partial record visible",
          "[export][disk][faults]") {
    // The budget ends inside the record's frame, or inside its body: write(2) writes what fits,
    // then fails with ENOSPC; the partial record is cut off and the next append writes where it
    // began (not after a hole).
    const std::uint64_t budget = GENERATE(std::uint64_t{20}, std::uint64_t{50});
    INFO("bytes left on the disk: " << budget);
    temp_dir d;
    mg::test::fault_file_system faults;
    {
        auto q = open(d.path(), 64 << 20, 0, faults);
        auto a = make("a");
        REQUIRE(q->append(a) == append_status::ok);
        const auto size_before = q->bytes();
        faults.disk_budget(budget);
        for (int i = 0; i < 2; ++i) {  // still full the second time
            auto big = make(std::string(100, 'x'));
            CHECK(q->append(big) == append_status::error);
            CHECK(q->bytes() == size_before);
            CHECK(bytes_on_disk(d.path()) == size_before);
        }
        // A record that fits what is left goes through: the cut gave the partial bytes back.
        auto small = make("s");
        const bool fits = budget >= ex::disk_queue::k_record_overhead + 1;
        CHECK(q->append(small) == (fits ? append_status::ok : append_status::error));
        faults.disk_budget(std::nullopt);
        auto c = make("c");
        REQUIRE(q->append(c) == append_status::ok);
        CHECK(q->bytes() == bytes_on_disk(d.path()));
    }
    const auto [got, corrupt] = reopen(d.path());
    CHECK(got == (budget >= ex::disk_queue::k_record_overhead + 1
                      ? std::vector<std::string>{"a", "s", "c"}
                      : std::vector<std::string>{"a", "c"}));
    CHECK(corrupt == 0);
}

TEST_CASE("disk queue faults: a full disk while starting a segment leaves no file behind",
          "[export][disk][faults]") {
    temp_dir d;
    mg::test::fault_file_system faults;
    {
        auto q = open(d.path(), 64 << 20, 0, faults);
        faults.disk_budget(4);  // half a segment header
        auto a = make("a");
        CHECK(q->append(a) == append_status::error);
        CHECK(files_in(d.path()).empty());
        CHECK(q->bytes() == 0);
        faults.clear();
        REQUIRE(q->append(a) == append_status::ok);
    }
    CHECK(reopen(d.path()).first == std::vector<std::string>{"a"});
}

TEST_CASE("disk queue faults: a failed fdatasync refuses the payload, later appends sync again",
          "[export][disk][faults]") {
    temp_dir d;
    mg::test::fault_file_system faults;
    {
        auto q = open(d.path(), 64 << 20, 0, faults);
        auto a = make("a");
        REQUIRE(q->append(a) == append_status::ok);
        faults.fail_sync("seg-");
        auto b = make("b");
        CHECK(q->append(b) == append_status::error);
        CHECK(b.disk_id == 0);
        CHECK(q->live_records() == 1);  // b is nobody's to acknowledge
        faults.clear();
        auto c = make("c");
        REQUIRE(q->append(c) == append_status::ok);
        CHECK(q->live_records() == 2);
        q->ack(std::vector<std::uint64_t>{a.disk_id, c.disk_id});
        // b's record is still in the segment, so the segment stays until its records are gone:
        // here, every live one is acknowledged and it is deleted.
        CHECK(segments(d.path()).empty());
    }
    CHECK(reopen(d.path()).first.empty());
}

TEST_CASE("disk queue faults: a refused record whose sync failed may come back after a restart",
          "[export][disk][faults]") {
    temp_dir d;
    mg::test::fault_file_system faults;
    {
        auto q = open(d.path(), 64 << 20, 0, faults);
        auto a = make("a");
        REQUIRE(q->append(a) == append_status::ok);
        faults.fail_sync("seg-");
        auto b = make("b");
        CHECK(q->append(b) == append_status::error);
        faults.clear();
        auto c = make("c");
        REQUIRE(q->append(c) == append_status::ok);
    }
    // Written but not known durable: replayed (the sender was told to retry: a duplicate at
    // worst, never a loss), and in order.
    CHECK(reopen(d.path()).first == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("disk queue faults: a failed segment rename or header sync starts no segment",
          "[export][disk][faults]") {
    const std::string which = GENERATE(std::string("rename"), std::string("header sync"));
    INFO(which);
    temp_dir d;
    mg::test::fault_file_system faults;
    {
        // Tiny segments: every append after the first starts a new one.
        auto q = open(d.path(), 64 << 20, 10, faults);
        auto a = make("a");
        REQUIRE(q->append(a) == append_status::ok);
        const auto files_before = files_in(d.path());
        if (which == "rename") faults.fail_rename("seg-");
        if (which == "header sync") faults.fail_sync("tmp-seg-");
        auto b = make("b");
        CHECK(q->append(b) == append_status::error);
        CHECK(files_in(d.path()) == files_before);  // no tmp- file left, no new segment
        CHECK(q->bytes() == bytes_on_disk(d.path()));
        faults.clear();
        auto c = make("c");
        REQUIRE(q->append(c) == append_status::ok);
        CHECK(segments(d.path()).size() == 2);
    }
    CHECK(reopen(d.path()).first == std::vector<std::string>{"a", "c"});
}

TEST_CASE(
    "disk queue faults: when the partial record cannot be cut the segment is sealed and "
    "open() cuts it",
    "[export][disk][faults]") {
    temp_dir d;
    mg::test::fault_file_system faults;
    {
        auto q = open(d.path(), 64 << 20, 0, faults);
        auto a = make("a");
        REQUIRE(q->append(a) == append_status::ok);
        faults.disk_budget(50);
        faults.fail_truncate("seg-");
        auto big = make(std::string(100, 'x'));
        CHECK(q->append(big) == append_status::error);
        faults.clear();
        auto c = make("c");
        REQUIRE(q->append(c) == append_status::ok);
        CHECK(segments(d.path()).size() == 2);  // c went to a new segment
    }
    const auto [got, corrupt] = reopen(d.path());
    CHECK(got == std::vector<std::string>{"a", "c"});
    CHECK(corrupt == 1);  // the torn record, cut at startup
    CHECK(reopen(d.path()).second == 0);
}

TEST_CASE("disk queue faults: a sealed segment with nothing live is removed at once",
          "[export][disk][faults]") {
    temp_dir d;
    mg::test::fault_file_system faults;
    auto q = open(d.path(), 64 << 20, 0, faults);
    faults.disk_budget(50);  // the header fits, the record does not
    faults.fail_truncate("seg-");
    auto big = make(std::string(100, 'x'));
    CHECK(q->append(big) == append_status::error);
    CHECK(segments(d.path()).empty());
    CHECK(q->bytes() == 0);
}

TEST_CASE(
    "disk queue faults: a segment that cannot be read or cut fails open with its name, "
    "the data waits for the next start",
    "[export][disk][faults]") {
    temp_dir d;
    {
        auto q = open(d.path());
        for (const char* b : {"a", "b"}) {
            auto p = make(b);
            REQUIRE(q->append(p) == append_status::ok);
        }
    }
    const auto seg = segments(d.path()).at(0);
    mg::test::fault_file_system faults;
    SECTION("read error") {
        faults.fail_read("seg-");
    }
    SECTION("torn tail that cannot be cut") {
        fs::resize_file(seg, fs::file_size(seg) - 3);
        faults.fail_truncate("seg-");
    }
    auto q = ex::disk_queue::open(d.path(), 64 << 20, 0, faults);
    REQUIRE_FALSE(q.ok());
    CHECK(q.error_message().find(seg.string()) != std::string::npos);
    faults.clear();
    const auto [got, corrupt] = reopen(d.path());
    CHECK(got.at(0) == "a");  // b too, unless its tail was torn
    CHECK(got.size() == (corrupt == 0 ? 2U : 1U));
}

TEST_CASE("disk queue faults: a lock that cannot be taken fails open with the path",
          "[export][disk][faults]") {
    temp_dir d;
    mg::test::fault_file_system faults;
    faults.fail_lock("LOCK");
    auto q = ex::disk_queue::open(d.path(), 1 << 20, 0, faults);
    REQUIRE_FALSE(q.ok());
    CHECK(q.error_message().find(d.path()) != std::string::npos);
}

TEST_CASE(
    "disk queue faults: concurrent appenders while syncs fail and recover, every accepted "
    "record survives",
    "[export][disk][faults]") {
    temp_dir d;
    mg::test::fault_file_system faults;
    std::set<std::string> accepted;
    {
        auto q = open(d.path(), 64 << 20, 2048, faults);  // small segments: rotations too
        std::mutex mu;
        std::atomic<int> finished{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&, t] {
                for (int i = 0; i < 50; ++i) {
                    auto p = make("t" + std::to_string(t) + "-" + std::to_string(i) +
                                  std::string(100, 'y'));
                    if (q->append(p) == append_status::ok) {
                        std::lock_guard lock(mu);
                        accepted.insert(p.body);
                    }
                }
                finished.fetch_add(1);
            });
        }
        // Group syncs of records fail and succeed while the appenders run ("/seg-": not the
        // header syncs of new segments, "/tmp-seg-").
        for (int i = 0; finished.load() < 4; ++i) {
            if (i % 2 == 0) {
                faults.fail_sync("/seg-");
            } else {
                faults.clear();
            }
            std::this_thread::yield();
        }
        for (auto& t : threads) t.join();
        faults.clear();
        auto last = make("last");
        REQUIRE(q->append(last) == append_status::ok);
        accepted.insert(last.body);
        CHECK(q->live_records() == accepted.size());
    }
    // Refused records may come back too (written, sync failed); accepted ones always do, once.
    const auto got = reopen(d.path()).first;
    const std::set<std::string> got_set(got.begin(), got.end());
    CHECK(got_set.size() == got.size());
    for (const auto& a : accepted) CHECK(got_set.count(a) == 1);
}

// Hidden (run with `export_test "[.bench]"`): the cost of append() (write + fdatasync, shared
// by concurrent appenders), for docs/export.md.
TEST_CASE("disk queue: append cost", "[.bench][disk]") {
    for (int threads : {1, 8}) {
        for (std::size_t size : {std::size_t{1024}, std::size_t{64 * 1024}}) {
            temp_dir d;
            auto q = open(d.path(), std::uint64_t{1} << 32);
            constexpr int n = 400;
            const auto t0 = std::chrono::steady_clock::now();
            std::vector<std::thread> ts;
            for (int t = 0; t < threads; ++t) {
                ts.emplace_back([&] {
                    for (int i = 0; i < n / threads; ++i) {
                        auto p = make(std::string(size, 'b'));
                        if (q->append(p) != ex::disk_queue::append_status::ok) std::abort();
                    }
                });
            }
            for (auto& t : ts) t.join();
            const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::steady_clock::now() - t0)
                                .count();
            WARN(threads << " threads, payload " << size << " B: " << us / n << " us per append, "
                         << (n * 1000000LL / std::max<long long>(us, 1)) << " appends/s, "
                         << q->syncs() << " syncs");
        }
    }
}
