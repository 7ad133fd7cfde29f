// Cluster mode's shared admission state against a real redis-server (Debian's, started here on a
// reserved loopback port): the admission script's semantics (src/cluster/admission_script.h)
// through the Asio/hiredis connection (src/cluster/redis_connection.h), several stores standing
// for several replicas.
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "cluster/admission_store.h"
#include "cluster/cluster_options.h"
#include "cluster/redis_client_factory.h"
#include "cluster_redis_support.h"

namespace cl = mg::cluster;
using mg::test::count;
using mg::test::ids;
using mg::test::io_thread;
using mg::test::redis_server;
using mg::test::replica;
using mg::test::test_options;
using namespace std::chrono_literals;

TEST_CASE("cluster redis: the limit is reached exactly with replicas admitting at once",
          "[cluster][redis]") {
    redis_server redis;
    io_thread io;
    constexpr int k_replicas = 6;
    std::vector<std::unique_ptr<replica>> rs;
    for (int i = 0; i < k_replicas; ++i) rs.push_back(std::make_unique<replica>(io, redis.port()));
    // Every replica sees all 2000 series (a round-robin balancer), in batches of 100, at once.
    std::vector<std::future<std::pair<std::size_t, std::size_t>>> runs;
    for (auto& r : rs) {
        runs.push_back(std::async(std::launch::async, [&r] {
            std::size_t admitted = 0;
            std::size_t passed = 0;
            for (std::uint64_t b = 0; b < 20; ++b) {
                auto reply = r->admit("http_requests_total", 500, ids(b * 100, b * 100 + 100));
                if (!reply) return std::pair<std::size_t, std::size_t>{0, 0};
                admitted += count(*reply, cl::admit_code::admitted);
                passed += reply->codes.size() - count(*reply, cl::admit_code::over_limit);
            }
            return std::pair{admitted, passed};
        }));
    }
    std::size_t admitted = 0;
    for (auto& f : runs) admitted += f.get().first;
    CHECK(admitted == 500);  // one limit across replicas, not replicas x 500

    // What any replica admitted passes everywhere; the rest is refused everywhere.
    const auto all = ids(0, 2000);
    for (auto& r : rs) {
        auto reply = r->admit("http_requests_total", 500, all);
        REQUIRE(reply);
        // Exact up to the filter's false positives: a refused series whose bits all happen to be
        // set reads as known (1% per series at a full filter: about 15 of the 1500).
        const auto known = count(*reply, cl::admit_code::known);
        CHECK(known >= 500);
        CHECK(known <= 500 + 30);
        CHECK(count(*reply, cl::admit_code::over_limit) == 2000 - known);
        CHECK(reply->live_total == 500);
    }
}

TEST_CASE(
    "cluster redis: periods are wall-clock aligned - a series is refreshed, then forgotten past "
    "the window",
    "[cluster][redis]") {
    redis_server redis;
    io_thread io;
    auto o = test_options();
    o.window = 30s;
    o.generations = 3;  // periods of 10 s
    replica r(io, redis.port(), o);
    const auto t0 = std::chrono::system_clock::now();
    const auto a = ids(0, 10);
    auto first = r.admit("m", 15, a, t0);
    REQUIRE(first);
    CHECK(count(*first, cl::admit_code::admitted) == 10);

    // One period later: found in the older period, refreshed into the new one, still counted once.
    auto later = r.admit("m", 15, a, t0 + 10s);
    REQUIRE(later);
    CHECK(count(*later, cl::admit_code::refreshed) == 10);
    CHECK(later->live_total == 10);
    auto again = r.admit("m", 15, a, t0 + 10s);
    REQUIRE(again);
    CHECK(count(*again, cl::admit_code::known) == 10);
    // Only 5 new ones fit.
    auto more = r.admit("m", 15, ids(100, 110), t0 + 10s);
    REQUIRE(more);
    CHECK(count(*more, cl::admit_code::admitted) == 5);
    CHECK(count(*more, cl::admit_code::over_limit) == 5);

    // A whole window after the refresh nothing of it is live: new again, counted from zero.
    auto gone = r.admit("m", 15, a, t0 + 40s);
    REQUIRE(gone);
    CHECK(count(*gone, cl::admit_code::admitted) == 10);
    CHECK(gone->live_total == 10);

    // Redis forgets a period with it: its keys carry an expiry within the window (+1 s).
    const auto ttl = r.raw({"PTTL", r.store->bitmap_key("m", r.store->period_of(t0 + 40s))});
    REQUIRE(ttl);
    CHECK(ttl->integer > 0);
    CHECK(ttl->integer <=
          71000);  // the period's end plus the two after it, plus a second; from t0 + 40 s
}

TEST_CASE(
    "cluster redis: trackers are independent (label limits), and no limit records without refusing",
    "[cluster][redis]") {
    redis_server redis;
    io_thread io;
    replica r(io, redis.port());
    auto a = r.admit("m|status=a", 2, ids(0, 5));
    auto b = r.admit("m|status=b", 3, ids(0, 5));
    auto none = r.admit("other", -1, ids(0, 5000));
    REQUIRE(a);
    REQUIRE(b);
    INFO((none ? std::string() : none.error_message()));
    REQUIRE(none);
    CHECK(count(*a, cl::admit_code::admitted) == 2);
    CHECK(count(*b, cl::admit_code::admitted) == 3);
    CHECK(count(*none, cl::admit_code::admitted) == 5000);
    CHECK(none->live_total == 5000);
}

TEST_CASE("cluster redis: a Redis that lost its scripts gets it again - errors are clear",
          "[cluster][redis]") {
    redis_server redis;
    io_thread io;
    auto o = test_options();
    o.timeout = 200ms;
    replica r(io, redis.port(), o);
    REQUIRE(r.admit("m", 10, ids(0, 3)));
    REQUIRE(r.raw({"SCRIPT", "FLUSH"}));
    auto after = r.admit("m", 10, ids(0, 3));
    REQUIRE(after);
    CHECK(count(*after, cl::admit_code::known) == 3);

    // No answer within the timeout (every client paused): a failure naming it, not a hang.
    REQUIRE(r.raw({"CLIENT", "PAUSE", "1000"}));
    auto slow = r.admit("m", 10, ids(5, 6));
    REQUIRE_FALSE(slow);
    CHECK(slow.error_message().find("did not answer within the timeout") != std::string::npos);
}

TEST_CASE(
    "cluster redis: nothing listening - the failure names the address, and retries wait for the "
    "backoff",
    "[cluster][redis]") {
    mg::test::reserved_port nobody;
    io_thread io;
    replica r(io, nobody.port());
    auto first = r.admit("m", 10, ids(0, 1));
    REQUIRE_FALSE(first);
    CHECK(first.error_message().find("cannot connect to redis at 127.0.0.1:" +
                                     std::to_string(nobody.port())) != std::string::npos);
    auto second = r.admit("m", 10, ids(0, 1));
    REQUIRE_FALSE(second);
    CHECK(second.error_message().find("next connection attempt in") != std::string::npos);
}

TEST_CASE("cluster redis: AUTH with a password, and with an ACL user - a refusal is clear",
          "[cluster][redis]") {
    // The default user needs a password; "governor" is an ACL user of its own (Redis 6+).
    redis_server redis({"--requirepass", "default-pw", "--user", "governor", "on", ">governor-pw",
                        "~*", "&*", "+@all"});
    io_thread io;
    cl::redis_connection_options co;
    co.port = redis.port();
    co.password = "default-pw";
    {
        replica r(io, co);
        const auto a = r.admit("m", 10, ids(0, 3));
        INFO(mg::test::why(a));
        CHECK(a);
    }
    co.username = "governor";
    co.password = "governor-pw";
    {
        replica r(io, co);
        const auto a = r.admit("m", 10, ids(0, 3));
        INFO(mg::test::why(a));
        REQUIRE(a);
        CHECK(count(*a, cl::admit_code::known) == 3);  // the same Redis, the same admitted set
        const auto who = r.raw({"ACL", "WHOAMI"});
        REQUIRE(who);
        CHECK(who->str == "governor");
    }
    co.password = "wrong";
    {
        replica r(io, co);
        const auto a = r.admit("m", 10, ids(0, 3));
        REQUIRE_FALSE(a);
        CHECK_THAT(a.error_message(), Catch::Contains("AUTH"));
    }
}

TEST_CASE("cluster redis: bytes per series of the limit in Redis", "[cluster][redis]") {
    redis_server redis;
    io_thread io;
    // The daemon's settings (cluster_options.h): two live periods at 0.1% false positives each.
    auto o = mg::test::test_options();
    o.generations = cl::k_redis_generations;
    o.fp_rate = cl::k_redis_fp_rate;
    replica r(io, redis.port(), o);
    constexpr std::int64_t k_limit = 100000;
    const auto t = std::chrono::system_clock::now();
    for (std::uint64_t b = 0; b < 10; ++b)
        REQUIRE(r.admit("big", k_limit, ids(b * 10000, b * 10000 + 10000), t));
    const auto used = r.raw({"MEMORY", "USAGE", r.store->bitmap_key("big", r.store->period_of(t))});
    REQUIRE(used);
    INFO("bitmap bytes " << used->integer);
    // One period's bitmap at 0.1%: 1.8 bytes per series of the limit (plus the allocator's
    // rounding); the goal is at most 4 bytes per series for the live periods.
    CHECK(used->integer > 100000);
    CHECK(cl::k_redis_generations * static_cast<double>(used->integer) / k_limit <= 4.0);
}

TEST_CASE("cluster redis: client settings - addresses, and every mistake reported at once",
          "[cluster][redis]") {
    auto named = cl::parse_redis_address("redis.example:6380");
    REQUIRE(named);
    CHECK(named->host == "redis.example");
    CHECK(named->port == 6380);
    auto v6 = cl::parse_redis_address("[::1]:7000");
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(v6->port == 7000);
    auto bare = cl::parse_redis_address("redis");
    REQUIRE(bare);
    CHECK(bare->port == 6379);
    for (const char* bad : {"::1:7000", "redis:0", "redis:70000", "redis:x", ":6379", "[::1"}) {
        INFO(bad);
        CHECK_FALSE(cl::parse_redis_address(bad));
    }

    io_thread io;
    cl::redis_client_options o;
    o.addresses = {"a:1", "b:2", "c:x"};
    o.connection.tls.enabled = true;
    o.connection.tls.ca_file = "/nonexistent/ca.pem";
    auto wrong = cl::make_redis_client(io.strand(), o);
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error_message().find("\"c:x\"") != std::string::npos);
    CHECK(wrong.error_message().find("more than one redis address") != std::string::npos);
    CHECK(wrong.error_message().find("/nonexistent/ca.pem") != std::string::npos);
    o.cluster = true;
    o.connection.db = 2;
    wrong = cl::make_redis_client(io.strand(), o);
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error_message().find("db must be 0") != std::string::npos);
    CHECK(wrong.error_message().find("more than one") == std::string::npos);

    // Nothing is sent before the first command, so these need no server.
    cl::redis_client_options one;
    one.addresses = {"127.0.0.1:6379"};
    auto single = cl::make_redis_client(io.strand(), one);
    REQUIRE(single);
    CHECK(dynamic_cast<cl::redis_connection*>(single->get()) != nullptr);
    one.cluster = true;
    one.addresses.push_back("127.0.0.1:6380");
    auto cluster = cl::make_redis_client(io.strand(), one);
    REQUIRE(cluster);
    CHECK(dynamic_cast<cl::redis_cluster*>(cluster->get()) != nullptr);
    (*single)->close();
    (*cluster)->close();
}
