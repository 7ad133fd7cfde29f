// The benchmark's tracker registry (bench/tracker_registry.h): creation once, lookups, erase and
// concurrent use.
#include "tracker_registry.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

using mg::bench::tracker_registry;
using mg::cardinality::bloom_tracker;
using mg::cardinality::tracker_config;

TEST_CASE("registry creates once and finds by string_view", "[tracker_registry]") {
    mg::fake_clock clk;
    tracker_registry reg(tracker_config{}, clk);
    CHECK(reg.size() == 0);
    CHECK(reg.find("http_requests_total") == nullptr);
    auto a = reg.get_or_create("http_requests_total");
    REQUIRE(a != nullptr);
    const std::string name = "http_requests_total";
    CHECK(reg.get_or_create(std::string_view(name)) == a);
    CHECK(reg.find(name) == a);
    CHECK(reg.size() == 1);

    tracker_config custom;
    custom.expected_items = 10;
    auto b = reg.get_or_create("other", custom);
    CHECK(b->config().expected_items == 10);
    CHECK(reg.get_or_create("other")->config().expected_items == 10);  // config only at creation

    a->insert(42);
    CHECK(reg.memory_bytes() == a->memory_bytes() + b->memory_bytes());

    std::set<std::string> names;
    reg.for_each([&](std::string_view n, const auto& t) {
        names.insert(std::string(n));
        CHECK(t != nullptr);
    });
    CHECK(names == std::set<std::string>{"http_requests_total", "other"});

    CHECK(reg.erase("other"));
    CHECK_FALSE(reg.erase("other"));
    CHECK(reg.size() == 1);
    CHECK(b->count() == 0);  // still usable by holders after erase

    auto c = std::make_shared<bloom_tracker>(tracker_config{}, clk);
    CHECK(reg.put("restored", c));
    CHECK(reg.find("restored") == c);
    CHECK(reg.size() == 2);
    CHECK_FALSE(reg.put("x", nullptr));
}

TEST_CASE("registry rejects a bad default config", "[tracker_registry]") {
    mg::fake_clock clk;
    tracker_config bad;
    bad.generations = 0;
    CHECK_THROWS_AS(tracker_registry(bad, clk), std::invalid_argument);
}

TEST_CASE("concurrent get_or_create of one name yields one tracker",
          "[tracker_registry][concurrency]") {
    mg::fake_clock clk;
    tracker_registry reg(tracker_config{}, clk);
    constexpr int k_threads = 4;
    std::vector<std::shared_ptr<bloom_tracker>> got(k_threads * 100);
    std::vector<std::thread> threads;
    for (int w = 0; w < k_threads; ++w) {
        threads.emplace_back([&, w] {
            for (int i = 0; i < 100; ++i) {
                got[w * 100 + i] = reg.get_or_create("metric_" + std::to_string(i));
                got[w * 100 + i]->insert(static_cast<std::uint64_t>(w));
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(reg.size() == 100);
    for (int w = 1; w < k_threads; ++w)
        for (int i = 0; i < 100; ++i) REQUIRE(got[w * 100 + i] == got[i]);
    for (int i = 0; i < 100; ++i) CHECK(got[i]->count() == k_threads);
}
