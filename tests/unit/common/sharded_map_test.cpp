#include "common/sharded_map.h"

#include <catch2/catch.hpp>
#include <set>
#include <thread>
#include <vector>

TEST_CASE("sharded map finds, creates once, replaces and erases", "[sharded_map]") {
    mg::sharded_map<int> m;
    CHECK(m.find("a") == nullptr);
    int made = 0;
    auto a = m.get_or_create("a", [&] {
        ++made;
        return std::make_shared<int>(1);
    });
    auto again = m.get_or_create("a", [&] {
        ++made;
        return std::make_shared<int>(2);
    });
    CHECK(a == again);
    CHECK(made == 1);
    CHECK(m.size() == 1);
    CHECK(m.put("a", std::make_shared<int>(5)));
    CHECK(*m.find("a") == 5);
    CHECK(*a == 1);  // holders keep the old value
    CHECK_FALSE(m.put("b", nullptr));
    CHECK(m.erase("a"));
    CHECK_FALSE(m.erase("a"));
    CHECK(m.size() == 0);
}

TEST_CASE("concurrent get_or_create of one key yields one value", "[sharded_map]") {
    mg::sharded_map<int> m;
    std::vector<std::thread> threads;
    std::vector<std::shared_ptr<int>> got(4);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 1000; ++i) {
                auto p = m.get_or_create("k" + std::to_string(i),
                                         [] { return std::make_shared<int>(0); });
                if (i == 999) got[static_cast<std::size_t>(t)] = p;
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(m.size() == 1000);
    CHECK(got[0] == got[1]);
    CHECK(got[1] == got[2]);
    CHECK(got[2] == got[3]);
    std::set<std::string> keys;
    m.for_each([&](std::string_view k, const auto&) { keys.emplace(k); });
    CHECK(keys.size() == 1000);
}
