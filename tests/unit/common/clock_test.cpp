#include "common/clock.h"

#include <catch2/catch.hpp>

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
