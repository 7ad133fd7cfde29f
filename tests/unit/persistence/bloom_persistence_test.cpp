// Save, restore, cleanup and the threads, against the real governor
// (src/persistence/bloom_persistence.h).
#include "persistence/bloom_persistence.h"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <spdlog/sinks/ostream_sink.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "limits/governor.h"
#include "limits/limits_file.h"
#include "logging/log.h"
#include "persistence/governor_host.h"
#include "persistence/tracker_codec.h"
#include "persistence_fixture.h"
#include "shared/fault_file_system.h"
#include "shared/temp_dir.h"

using namespace persistence_fixture;

TEST_CASE("a restart keeps enforcing limits from the saved state", "[persistence]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    {
        life first(clock, dir.path());
        CHECK(first.send(request("m", 0, 15)).size() == 10);
        CHECK(first.send(request("u", 0, 5, "user")).size() == 3);  // label limit: 3 users
        const auto r = first.persistence->save_now();
        CHECK(r.saved == 3);  // m, u and u's user label tracker
        CHECK(r.errors == 0);
    }
    clock.advance(5min);  // downtime
    life second(clock, dir.path());
    const auto r = second.persistence->restore();
    CHECK(r.loaded == 3);
    CHECK(r.errors == 0);
    second.governor.refresh();
    CHECK(second.active("m") == 10);
    // Known series pass, new ones stay over the limit: the restart re-admitted nothing.
    CHECK(second.send(request("m", 0, 10)).size() == 10);
    CHECK(second.send(request("m", 10, 20)).empty());
    CHECK(second.send(request("u", 0, 3, "user")).size() == 3);
    CHECK(second.send(request("u", 3, 6, "user")).empty());
    CHECK_THAT(second.scrape(),
               Catch::Contains("bloom_persistence_loads_total{status=\"success\"} 3"));
    CHECK_THAT(second.scrape(), Catch::Contains("bloom_persistence_trackers_total 3"));
}

TEST_CASE("a restart with persistence off starts from nothing (the control)", "[persistence]") {
    mg::fake_clock clock;
    mg::test::temp_dir dir;
    {
        life first(clock, dir.path());
        first.send(request("m", 0, 15));
        first.persistence->save_now();
    }
    life second(clock, dir.path());  // no restore()
    CHECK(second.send(request("m", 10, 20)).size() == 10);
}

TEST_CASE("stale entries are skipped at restore and their files deleted", "[persistence]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    {
        life first(clock, dir.path());
        first.send(request("m", 0, 5));
        first.persistence->save_now();
    }
    REQUIRE(fs::exists(tracker_file(dir.path(), "stats:metric:m")));
    clock.advance(61min);  // past the 1h state_ttl
    life second(clock, dir.path());
    const auto r = second.persistence->restore();
    CHECK(r.loaded == 0);
    CHECK(r.skipped_stale == 1);
    CHECK_FALSE(fs::exists(tracker_file(dir.path(), "stats:metric:m")));
}

TEST_CASE("a corrupt tracker file is skipped, counted and logged, the rest loads",
          "[persistence]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    {
        life first(clock, dir.path());
        first.send(request("m", 0, 5));
        first.send(request("other", 0, 5));
        first.persistence->save_now();
    }
    corrupt_one_byte(tracker_file(dir.path(), "stats:metric:m"));
    log_capture logs;
    life second(clock, dir.path());
    const auto r = second.persistence->restore();
    CHECK(r.loaded == 1);
    CHECK(r.errors == 1);
    CHECK(second.active("other") == 5);
    CHECK(second.active("m") == 0);
    CHECK_THAT(second.scrape(),
               Catch::Contains("bloom_persistence_loads_total{status=\"error\"} 1"));
    CHECK_THAT(logs.text(), Catch::Contains("\"msg\":\"failed to load tracker\""));
    CHECK_THAT(logs.text(), Catch::Contains("checksum mismatch"));
    CHECK_THAT(
        logs.text(),
        Catch::Contains(
            R"("msg":"bloom state restore complete","loaded":1,"skipped_stale":0,"errors":1)"));
}

TEST_CASE("the spec's log lines, with their fields", "[persistence]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    log_capture logs;
    {
        life first(clock, dir.path());
        first.send(request("http_requests", 0, 7));
        first.persistence->start();
        first.persistence->stop();
    }
    clock.advance(5min);
    life second(clock, dir.path());
    second.persistence->restore();
    const auto t = logs.text();
    CHECK_THAT(
        t,
        Catch::Contains(
            R"("msg":"bloom persistence initialized","path":")" + dir.path() +
            R"(","save_interval":"30s","state_ttl":"1h","max_size":"500MB","compression":true)"));
    CHECK_THAT(t, Catch::Contains(R"("msg":"bloom persistence shutting down","dirty_trackers":1)"));
    CHECK_THAT(t, Catch::Contains(R"("msg":"bloom state saved","saved":1,"duration_ms":)"));
    CHECK_THAT(t, Catch::Contains(
                      R"("msg":"final bloom state saved","saved":1,"total":1,"duration_ms":)"));
    CHECK_THAT(t, Catch::Contains(R"("msg":"bloom persistence stopped")"));
    CHECK_THAT(t, Catch::Contains(R"("msg":"loading bloom state from disk","path":")" + dir.path() +
                                  "\""));
    CHECK_THAT(
        t,
        Catch::Contains(
            R"("msg":"loaded tracker","key":"stats:metric:http_requests","count":7,"age":"5m")"));
}

TEST_CASE("cleanup evicts by TTL from memory and disk, keeping what is in use",
          "[persistence][cleanup]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    life l(clock, dir.path());
    l.send(request("old", 0, 5));
    l.send(request("busy", 0, 5));
    l.persistence->save_now();
    for (int i = 0; i < 7; ++i) {  // "busy" is seen every 10 minutes, "old" never again
        clock.advance(10min);
        l.send(request("busy", 0, 5));
    }
    log_capture logs;
    const auto r = l.persistence->cleanup_now();
    CHECK(r.evicted_ttl == 1);
    CHECK_FALSE(l.governor.metric("old"));
    CHECK(l.governor.metric("busy"));
    CHECK_FALSE(fs::exists(tracker_file(dir.path(), "stats:metric:old")));
    CHECK(fs::exists(tracker_file(dir.path(), "stats:metric:busy")));
    CHECK_THAT(l.scrape(), Catch::Contains("bloom_persistence_evictions_total{reason=\"ttl\"} 1"));
    CHECK_THAT(l.scrape(), Catch::Contains("bloom_persistence_cleanups_total 1"));
    CHECK_THAT(
        logs.text(),
        Catch::Contains(
            R"("msg":"evicted tracker","key":"stats:metric:old","reason":"ttl","age":"1h10m")"));
    CHECK_THAT(logs.text(),
               Catch::Contains(
                   R"("msg":"bloom state cleanup complete","evicted_ttl":1,"evicted_size":0)"));
}

TEST_CASE("cleanup evicts the oldest by last_updated when the disk is over max_size",
          "[persistence][cleanup]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    mp::persistence_options o;
    o.compression = false;  // sizes follow the filters exactly
    life l(clock, dir.path(), o);
    for (const char* m : {"a", "b", "c"}) {
        l.send(request(m, 0, 50));
        clock.advance(1min);
    }
    l.persistence->save_now();
    const auto usage = l.persistence->disk_usage();
    // Room for about two of the three.
    mp::persistence_options small = o;
    small.path = dir.path();
    small.max_size = usage - usage / 5;
    l.persistence.reset();
    l.persistence = std::make_unique<mp::bloom_persistence>(small, l.host, clock,
                                                            mg::posix_file_system(), nullptr);
    const auto r = l.persistence->cleanup_now();
    CHECK(r.evicted_size == 1);
    CHECK_FALSE(l.governor.metric("a"));
    CHECK(l.governor.metric("b"));
    CHECK(l.governor.metric("c"));
    CHECK(l.persistence->disk_usage() <= small.max_size);
}

TEST_CASE("memory at 95% of max_memory evicts least recently used trackers to under 80%",
          "[persistence][cleanup]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    std::uint64_t total = 0;
    {
        life probe(clock, dir.path() + "/probe");
        for (int i = 0; i < 10; ++i) probe.send(request("m" + std::to_string(i), 0, 100));
        total = probe.persistence->memory_usage();
    }
    mp::persistence_options o;
    o.max_memory = total * 100 / 96;  // at 96%
    log_capture logs;
    life l(clock, dir.path() + "/real", o);
    for (int i = 0; i < 10; ++i) {
        l.send(request("m" + std::to_string(i), 0, 100));
        clock.advance(2s);  // m0 least recently used, m9 most
    }
    REQUIRE(l.persistence->memory_usage() == total);
    const auto r = l.persistence->cleanup_now();
    CHECK(r.evicted_memory >= 2);
    CHECK(l.persistence->memory_usage() < o.max_memory / 100 * 80);
    CHECK_FALSE(l.governor.metric("m0"));
    CHECK(l.governor.metric("m9"));
    CHECK_THAT(logs.text(), Catch::Contains("memory over 95% of max_memory"));
    CHECK_THAT(l.scrape(), Catch::Contains("bloom_persistence_evictions_total{reason=\"memory\"} " +
                                           std::to_string(r.evicted_memory)));
}

TEST_CASE("memory at 80% warns and evicts nothing", "[persistence][cleanup]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    mp::persistence_options o;
    life l(clock, dir.path(), o);
    l.send(request("m", 0, 100));
    const auto used = l.persistence->memory_usage();
    mp::persistence_options tight = o;
    tight.path = dir.path();
    tight.max_memory = used * 100 / 85;
    l.persistence = std::make_unique<mp::bloom_persistence>(tight, l.host, clock,
                                                            mg::posix_file_system(), nullptr);
    log_capture logs;
    CHECK(l.persistence->cleanup_now().evicted_memory == 0);
    CHECK_THAT(logs.text(), Catch::Contains("memory over 80% of max_memory"));
}

TEST_CASE("write errors and a full disk are counted and logged, saves resume",
          "[persistence][faults]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    mg::test::fault_file_system faults;
    life l(clock, dir.path(), {}, faults);
    l.send(request("m", 0, 5));
    REQUIRE(l.persistence->save_now().saved == 1);
    const std::string file = tracker_file(dir.path(), "stats:metric:m");
    const auto old_bytes = fs::file_size(file);

    l.send(request("m", 5, 10));
    SECTION("write error") {
        faults.fail_append(mp::sha256_hex("stats:metric:m"));
    }
    SECTION("full disk") {
        faults.disk_budget(10);
    }
    log_capture logs;
    const auto bad = l.persistence->save_now();
    CHECK(bad.errors == 1);
    CHECK(bad.saved == 0);
    CHECK(fs::file_size(file) == old_bytes);
    CHECK_THAT(l.scrape(), Catch::Contains("bloom_persistence_saves_total{status=\"error\"} 1"));
    CHECK_THAT(logs.text(), Catch::Contains("\"msg\":\"bloom state save failed\""));
    // Proxying goes on meanwhile, and the tracker stays dirty for the next pass.
    CHECK(l.send(request("m", 0, 10)).size() == 10);
    faults.clear();
    CHECK(l.persistence->save_now().saved == 1);
    CHECK(fs::file_size(file) != old_bytes);
    CHECK_THAT(l.scrape(), Catch::Contains("bloom_persistence_saves_total{status=\"success\"} 2"));
}

TEST_CASE("keys that could escape the directory are never written", "[persistence][faults]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    map_host host;
    card::tracker_config cfg;
    for (const std::string& key : std::vector<std::string>{
             "stats:metric:../../escape", std::string("stats:metric:a\0b", 16), "ok"}) {
        host.trackers[key] = std::make_shared<card::bloom_tracker>(cfg, clock);
        host.trackers[key]->insert(1);
    }
    auto registry = std::make_shared<prometheus::Registry>();
    mp::bloom_persistence p({.path = dir.file("state")}, host, clock, mg::posix_file_system(),
                            registry);
    const auto r = p.save_now();
    CHECK(r.saved == 1);
    CHECK(r.errors == 0);  // refused once and counted once, below; not a failing save
    // A refused key is counted once, not on every pass (it would never change).
    host.trackers["stats:metric:../../escape"]->insert(2);
    CHECK(p.save_now().errors == 0);
    CHECK_THAT(prometheus::TextSerializer().Serialize(registry->Collect()),
               Catch::Contains("bloom_persistence_saves_total{status=\"error\"} 2"));
    std::size_t files = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir.path()))
        files += e.is_regular_file() ? 1 : 0;
    CHECK(files == 2);  // meta.json and one tracker
}

TEST_CASE("an unusable directory means in-memory only, said once", "[persistence][faults]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    dir.write("not-a-dir", "x");
    log_capture logs;
    life l(clock, dir.file("not-a-dir/state"));
    CHECK(l.persistence->degraded());
    CHECK(l.persistence->restore().loaded == 0);
    l.send(request("m", 0, 5));
    CHECK(l.persistence->save_now().saved == 0);
    CHECK_THAT(l.scrape(), Catch::Contains("bloom_persistence_degraded 1"));
    CHECK_THAT(logs.text(),
               Catch::Contains("bloom persistence unavailable, keeping state in memory only"));
}

TEST_CASE("the saver thread saves on its own and stop() is prompt", "[persistence][threads]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    mp::persistence_options o;
    o.save_interval = 10ms;
    o.cleanup_interval = 10ms;
    life l(clock, dir.path(), o);
    l.persistence->start();
    l.send(request("m", 0, 5));
    // The saver and the cleanup thread wait for their intervals on the clock; once the time
    // passed and both wait again, both passes are done.
    REQUIRE(clock.await_waiters(2));
    CHECK_FALSE(fs::exists(tracker_file(dir.path(), "stats:metric:m")));
    clock.advance(10ms);
    REQUIRE(clock.await_waiters(2));
    CHECK(fs::exists(tracker_file(dir.path(), "stats:metric:m")));
    CHECK_THAT(l.scrape(), Catch::Contains("bloom_persistence_cleanups_total 1"));
    // Ingest keeps deciding while saves run (TSan checks the snapshot path).
    std::atomic<bool> done{false};
    std::thread ingest([&] {
        for (int i = 0; !done; ++i) l.send(request("m" + std::to_string(i % 20), i, i + 50));
    });
    for (int i = 0; i < 20; ++i) l.persistence->save_now();
    done = true;
    ingest.join();
    l.persistence->stop();
    CHECK(l.persistence->save_now().errors == 0);
}

TEST_CASE("a restored tracker keeps saving what it learns after the restart", "[persistence]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    for (int life_no = 0; life_no < 4; ++life_no) {
        life l(clock, dir.path());
        CHECK(l.persistence->restore().loaded == (life_no == 0 ? 0u : 1u));
        l.governor.refresh();
        CHECK(l.active("grow") == static_cast<std::uint64_t>(life_no * 100));
        l.send(request("grow", life_no * 100, life_no * 100 + 100));
        CHECK(l.persistence->save_now().saved == 1);
        clock.advance(1s);
    }
}

TEST_CASE("a truncated .bloom.gz whose checksum matches is still refused by the gzip check",
          "[persistence][faults]") {
    mg::test::temp_dir dir;
    mg::fake_clock clock;
    {
        life first(clock, dir.path());
        first.send(request("m", 0, 50));
        first.send(request("other", 0, 5));
        first.persistence->save_now();
    }
    // Cut the file and make the index agree with the cut, as a buggy writer could.
    const std::string file = tracker_file(dir.path(), "stats:metric:m");
    std::string bytes;
    {
        std::ifstream in(file, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    bytes.resize(bytes.size() / 2);
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
    std::string meta;
    {
        std::ifstream in(dir.file("meta.json"));
        meta.assign(std::istreambuf_iterator<char>(in), {});
    }
    auto j = nlohmann::json::parse(meta);
    j["trackers"]["stats:metric:m"]["checksum"] = mp::crc32_of(bytes);
    std::ofstream(dir.file("meta.json"), std::ios::trunc) << j.dump();

    log_capture logs;
    life second(clock, dir.path());
    const auto r = second.persistence->restore();
    CHECK(r.loaded == 1);
    CHECK(r.errors == 1);
    CHECK_THAT(logs.text(), Catch::Contains("gzip: truncated stream"));
    CHECK(second.active("other") == 5);
}
