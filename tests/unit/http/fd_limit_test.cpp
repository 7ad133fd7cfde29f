#include "http/fd_limit.h"

#include <sys/resource.h>

#include <catch2/catch.hpp>

TEST_CASE("raise_fd_limit takes the hard limit as the soft one", "[http]") {
    rlimit lim{};
    REQUIRE(getrlimit(RLIMIT_NOFILE, &lim) == 0);
    // Lower the soft limit first so there is something to raise (the hard limit stays).
    const bool lowered = lim.rlim_max != RLIM_INFINITY && lim.rlim_max > 64;
    if (lowered) {
        rlimit lower = lim;
        lower.rlim_cur = 64;
        REQUIRE(setrlimit(RLIMIT_NOFILE, &lower) == 0);
    }
    const auto got = mg::http::raise_fd_limit();
    REQUIRE(getrlimit(RLIMIT_NOFILE, &lim) == 0);
    const std::uint64_t cap = 1 << 20;
    const std::uint64_t hard = lim.rlim_max == RLIM_INFINITY ? cap : lim.rlim_max;
    CHECK(got.hard == hard);
    CHECK(got.soft == std::min(hard, cap));
    CHECK(static_cast<std::uint64_t>(lim.rlim_cur) == got.soft);
    if (lowered) CHECK(got.raised);
}
