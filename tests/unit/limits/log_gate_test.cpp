#include "limits/log_gate.h"

#include <catch2/catch.hpp>
#include <chrono>

using namespace std::chrono_literals;

TEST_CASE("a log gate passes the first call, then one per interval", "[limits][log_gate]") {
    mg::limits::log_gate gate;
    // Any time point, also one near the clock's epoch (a machine booted seconds ago).
    const std::chrono::steady_clock::time_point t0{1s};
    CHECK(gate.allow(t0, 10s));
    CHECK_FALSE(gate.allow(t0, 10s));
    CHECK_FALSE(gate.allow(t0 + 9s, 10s));
    CHECK(gate.allow(t0 + 10s, 10s));
    CHECK_FALSE(gate.allow(t0 + 15s, 10s));
    CHECK(gate.allow(t0 + 21s, 10s));
}
