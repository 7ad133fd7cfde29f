// The clocks' readings and waits (src/common/clock.h): the real clock's waits end at their
// deadline or a notification; the fake clock's end only when advance() passes the deadline, and
// none is lost however an advance and a wait interleave. Threads other than the test's report
// through variables read after join (no assertion runs off the test's thread).
#include "common/clock.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

TEST_CASE("fake clock moves only when advanced, wall and monotonic together", "[clock]") {
    mg::fake_clock c;
    const auto w0 = c.wall_now();
    const auto m0 = c.monotonic_now();
    CHECK(c.wall_now() == w0);
    c.advance(90min);
    CHECK(c.wall_now() - w0 == 90min);
    CHECK(c.monotonic_now() - m0 == 90min);
}

TEST_CASE("system clock is monotonic", "[clock]") {
    auto& c = mg::system_clock_instance();
    const auto a = c.monotonic_now();
    const auto b = c.monotonic_now();
    CHECK(b >= a);
}

TEST_CASE("deadline_after saturates instead of overflowing", "[clock]") {
    mg::fake_clock c;
    CHECK(c.deadline_after(std::chrono::nanoseconds::max()) == mg::clock::time_point::max());
    CHECK(c.deadline_after(5s) == c.monotonic_now() + 5s);
}

TEST_CASE("system clock: sleep_until returns at its deadline", "[clock][system]") {
    auto& c = mg::system_clock_instance();
    const auto deadline = c.monotonic_now() + 2ms;
    c.sleep_until(deadline);
    CHECK(c.monotonic_now() >= deadline);
    c.sleep_until(deadline - 1h);  // in the past: at once
}

TEST_CASE("system clock: wait_until ends on the predicate, a notification or the deadline",
          "[clock][system]") {
    auto& c = mg::system_clock_instance();
    std::mutex mu;
    std::condition_variable cv;
    bool flag = false;
    const auto set_and_notify = [&] {
        {
            std::lock_guard g(mu);
            flag = true;
        }
        cv.notify_all();
    };

    SECTION("a predicate already true does not wait") {
        std::unique_lock lock(mu);
        CHECK(c.wait_until(lock, cv, c.monotonic_now() - 1s, [] { return true; }));
    }
    SECTION("a deadline in the past returns the predicate's value at once") {
        std::unique_lock lock(mu);
        CHECK_FALSE(c.wait_until(lock, cv, c.monotonic_now() - 1s, [&] { return flag; }));
    }
    SECTION("a short deadline times out") {
        std::unique_lock lock(mu);
        const auto deadline = c.monotonic_now() + 5ms;
        CHECK_FALSE(c.wait_until(lock, cv, deadline, [&] { return flag; }));
        CHECK(c.monotonic_now() >= deadline);
        CHECK(lock.owns_lock());
    }
    SECTION("a notification ends the wait long before the deadline") {
        std::thread setter(set_and_notify);
        std::unique_lock lock(mu);
        CHECK(c.wait_for(lock, cv, 1h, [&] { return flag; }));
        lock.unlock();
        setter.join();
    }
    SECTION("no deadline (time_point::max()) waits for the notification") {
        std::thread setter(set_and_notify);
        std::unique_lock lock(mu);
        CHECK(c.wait_until(lock, cv, mg::clock::time_point::max(), [&] { return flag; }));
        lock.unlock();
        setter.join();
    }
}

TEST_CASE("fake clock: sleep_until ends only when the time is advanced past it", "[clock][fake]") {
    mg::fake_clock c;
    const auto deadline = c.monotonic_now() + 10s;
    std::atomic<bool> woke{false};
    std::thread sleeper([&] {
        c.sleep_until(deadline);
        woke = true;
    });
    REQUIRE(c.await_waiters(1));
    c.advance(5s);  // not yet: the sleeper cannot have returned
    CHECK_FALSE(woke);
    CHECK(c.await_waiters(1));
    c.advance(5s);
    sleeper.join();
    CHECK(woke);
    CHECK(c.waiters() == 0);
    c.sleep_until(deadline);  // in the past: at once
}

TEST_CASE("fake clock: a wait ends at the advanced deadline or on its notification",
          "[clock][fake]") {
    mg::fake_clock c;
    std::mutex mu;
    std::condition_variable cv;
    bool flag = false;
    bool result = true;
    mg::clock::time_point returned_at{};

    SECTION("timeout when advanced past the deadline") {
        std::thread waiter([&] {
            std::unique_lock lock(mu);
            result = c.wait_for(lock, cv, 30s, [&] { return flag; });
            returned_at = c.monotonic_now();
        });
        REQUIRE(c.await_waiters(1));
        const auto start = c.monotonic_now();
        c.advance(29s);
        CHECK(c.await_waiters(1));  // still waiting: its deadline is a second ahead
        c.advance(1s);
        waiter.join();
        CHECK_FALSE(result);
        CHECK(returned_at == start + 30s);
    }
    SECTION("woken by its own condition variable, no time passing") {
        std::thread waiter([&] {
            std::unique_lock lock(mu);
            result = c.wait_for(lock, cv, 30s, [&] { return flag; });
        });
        REQUIRE(c.await_waiters(1));
        {
            std::lock_guard g(mu);
            flag = true;
        }
        cv.notify_all();
        waiter.join();
        CHECK(result);
        CHECK(c.waiters() == 0);
    }
    SECTION("the single-step form reports timeout and no_timeout") {
        std::cv_status status = std::cv_status::no_timeout;
        std::thread waiter([&] {
            std::unique_lock lock(mu);
            status = c.wait_until(lock, cv, c.monotonic_now() + 1s);
        });
        REQUIRE(c.await_waiters(1));
        c.advance(1s);
        waiter.join();
        CHECK(status == std::cv_status::timeout);
        std::unique_lock lock(mu);
        CHECK(c.wait_until(lock, cv, c.monotonic_now()) ==
              std::cv_status::timeout);  // due: no wait
    }
}

TEST_CASE("fake clock: await_waiters times out when nobody waits", "[clock][fake]") {
    mg::fake_clock c;
    CHECK(c.waiters() == 0);
    CHECK_FALSE(c.await_waiters(1, 10ms));
}

TEST_CASE("fake clock: an advance right after a waiter registers is never lost",
          "[clock][fake][concurrency]") {
    // The advance lands between the waiter's registration and its sleep on the condition
    // variable as often as the scheduler allows; a lost wake-up would leave the waiter asleep
    // for good and the next await_waiters would time out.
    mg::fake_clock c;
    std::mutex mu;
    std::condition_variable cv;
    constexpr int k_rounds = 500;
    std::atomic<int> timeouts{0};
    std::thread waiter([&] {
        std::unique_lock lock(mu);
        for (int i = 0; i < k_rounds; ++i) {
            if (!c.wait_for(lock, cv, 1s, [] { return false; })) ++timeouts;
        }
    });
    int rounds = 0;
    for (; rounds < k_rounds; ++rounds) {
        if (!c.await_waiters(1, 10s)) break;
        c.advance(1s);
    }
    CHECK(rounds == k_rounds);
    // A stuck waiter (the failure above) is freed by later advances, so the test ends.
    while (timeouts < k_rounds) {
        c.advance(1s);
        std::this_thread::yield();
    }
    waiter.join();
    CHECK(timeouts == k_rounds);
}

TEST_CASE(
    "fake clock: waiters may destroy their mutex and condition variable as soon as they return",
    "[clock][fake][concurrency]") {
    // sleep_until waits on a mutex and condition variable of its own stack frame: with advances
    // racing the returns, a notification after the return would touch freed memory (ASan, TSan).
    mg::fake_clock c;
    constexpr int k_sleeps = 300;
    std::atomic<int> running{2};
    std::vector<std::thread> sleepers;
    for (int t = 0; t < 2; ++t) {
        sleepers.emplace_back([&] {
            for (int i = 0; i < k_sleeps; ++i) c.sleep_until(c.monotonic_now() + 1ms);
            --running;
        });
    }
    while (running > 0) {
        c.advance(1ms);
        std::this_thread::yield();
    }
    for (auto& s : sleepers) s.join();
    CHECK(c.waiters() == 0);
}
