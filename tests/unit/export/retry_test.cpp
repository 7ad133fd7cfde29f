#include "export/retry.h"

#include <catch2/catch.hpp>

#include "common/clock.h"

namespace ex = mg::exporter;
using namespace std::chrono_literals;

TEST_CASE("backoff doubles up to the maximum with full jitter", "[export][retry]") {
    double r = 1.0;
    ex::backoff_policy b(100ms, 1s, [&] { return r; });
    CHECK(b.ceiling(0) == 100ms);
    CHECK(b.ceiling(1) == 200ms);
    CHECK(b.ceiling(3) == 800ms);
    CHECK(b.ceiling(4) == 1s);
    CHECK(b.ceiling(1000) == 1s);
    CHECK(b.next_delay(2) == 400ms);
    r = 0.5;
    CHECK(b.next_delay(2) == 200ms);
    r = 0.0;
    CHECK(b.next_delay(5) == 0ms);
}

TEST_CASE("the default random source stays in the unit interval", "[export][retry]") {
    auto rnd = ex::default_random_source();
    for (int i = 0; i < 1000; ++i) {
        const double v = rnd();
        CHECK(v >= 0.0);
        CHECK(v < 1.0);
    }
}

TEST_CASE("Retry-After in seconds or as an HTTP date", "[export][retry]") {
    mg::fake_clock clock;  // a whole number of seconds since the epoch
    const auto now = clock.wall_now();
    CHECK(ex::parse_retry_after("120", now) == std::chrono::nanoseconds(120s));
    CHECK(ex::parse_retry_after(" 0 ", now) == std::chrono::nanoseconds(0s));
    CHECK_FALSE(ex::parse_retry_after("", now).has_value());
    CHECK_FALSE(ex::parse_retry_after("-1", now).has_value());
    CHECK_FALSE(ex::parse_retry_after("soon", now).has_value());
    CHECK_FALSE(ex::parse_retry_after("Sun, 06 Nov 1994 08:49:37 UTC", now).has_value());

    // A date in the past means "now".
    CHECK(ex::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now) ==
          std::chrono::nanoseconds::zero());

    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch());
    const std::time_t t = static_cast<std::time_t>(secs.count() + 90);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    CHECK(ex::parse_retry_after(buf, now) == std::chrono::nanoseconds(90s));
    clock.advance(30s);
    CHECK(ex::parse_retry_after(buf, clock.wall_now()) == std::chrono::nanoseconds(60s));
}
