#include "loadgen/pacer.h"

#include <catch2/catch.hpp>
#include <set>
#include <vector>

using mg::loadgen::pacer;
using namespace std::chrono_literals;

TEST_CASE("unpaced: every request is due at once", "[pacer]") {
    const pacer p(0);
    CHECK_FALSE(p.paced());
    CHECK(p.due(0) == 0ns);
    CHECK(p.due(1'000'000) == 0ns);
    CHECK_FALSE(pacer(-3).paced());
}

TEST_CASE("request g is due at g / rate seconds", "[pacer]") {
    const pacer p(100);
    CHECK(p.paced());
    CHECK(p.due(0) == 0ns);
    CHECK(p.due(1) == 10ms);
    CHECK(p.due(250) == 2500ms);
    CHECK(pacer(3).due(1) == 333'333'333ns);
    CHECK(pacer(3).due(3) == 1s);
    CHECK(pacer(0.5).due(2) == 4s);
    // A long run stays exact: a day at 10k requests per second.
    CHECK(pacer(10'000).due(864'000'000) == std::chrono::nanoseconds(86'400'000'000'000));
}

TEST_CASE("connections share the schedule: together they keep the total rate", "[pacer]") {
    // 3 connections, 5 requests per cycle, 4 cycles at 10 requests per second: connection k sends
    // requests r % 3 == k. Over all connections every slot of the global schedule is used once,
    // and each connection's own due times only go forward.
    const pacer p(10);
    const std::uint64_t per_cycle = 5, connections = 3, cycles = 4;
    std::set<std::int64_t> all;
    for (std::uint64_t k = 0; k < connections; ++k) {
        std::chrono::nanoseconds last(-1);
        for (std::uint64_t c = 0; c < cycles; ++c) {
            for (std::uint64_t r = k; r < per_cycle; r += connections) {
                const auto due = p.due(pacer::request_index(c, r, per_cycle));
                CHECK(due > last);
                last = due;
                CHECK(all.insert(due.count()).second);
            }
        }
    }
    REQUIRE(all.size() == per_cycle * cycles);
    std::int64_t expected = 0;
    for (const auto ns : all) {
        CHECK(ns == expected);
        expected += 100'000'000;
    }
}
