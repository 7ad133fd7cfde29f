// The fold gate (src/overflow/fold_gate.h): collect()'s close waits for the requests inside, and a
// request that comes while it waits goes in only after the snapshot; requests go in together.
#include "overflow/fold_gate.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using mg::overflow::fold_gate;

namespace {

// Awaits `done` (a state another thread reaches), yielding; false after 10 s.
bool await(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::yield();
    }
    return true;
}

class order_log {
  public:
    void add(std::string what) {
        std::lock_guard lock(mu_);
        steps_.push_back(std::move(what));
    }
    std::vector<std::string> steps() const {
        std::lock_guard lock(mu_);
        return steps_;
    }

  private:
    mutable std::mutex mu_;
    std::vector<std::string> steps_;
};

}  // namespace

TEST_CASE("fold gate: a close waits for the request inside and goes before one that comes later",
          "[overflow][gate]") {
    fold_gate gate;
    order_log log;
    gate.enter();  // a request in the middle of its folds

    std::thread collector([&] {
        gate.close();
        log.add("snapshot");
        gate.open();
    });
    REQUIRE(await([&] { return gate.closing() == 1; }));
    std::thread late([&] {
        gate.enter();
        log.add("late request");
        gate.leave();
    });
    REQUIRE(await([&] { return gate.entering() == 1; }));

    log.add("request done");
    gate.leave();
    collector.join();
    late.join();
    CHECK(log.steps() == std::vector<std::string>{"request done", "snapshot", "late request"});
    CHECK(gate.closing() == 0);
    CHECK(gate.entering() == 0);
}

TEST_CASE("fold gate: requests go in together, and an open gate lets them in at once",
          "[overflow][gate]") {
    fold_gate gate;
    gate.enter();
    std::thread other([&] {
        gate.enter();  // would block forever if one request shut out another
        gate.leave();
    });
    other.join();
    gate.leave();

    gate.close();  // nobody inside: returns at once
    std::thread after([&] {
        gate.enter();
        gate.leave();
    });
    REQUIRE(await([&] { return gate.entering() == 1; }));
    gate.open();
    after.join();
    CHECK(gate.entering() == 0);
}
