// disk_queue on a real directory (a fresh temporary one per test): round trip, acknowledgement,
// the byte bound, torn and corrupt data, file modes.
#include "export/disk_queue.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "shared/temp_dir.h"
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

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
                                     std::uint64_t segment = 0) {
    auto q = ex::disk_queue::open(dir, max, segment);
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

TEST_CASE("disk queue: a flipped byte fails the CRC; garbage files do not crash",
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
