#include "common/units.h"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;

TEST_CASE("byte sizes in every accepted form", "[units]") {
    CHECK(mg::parse_byte_size("524288000").value() == 524288000ULL);
    CHECK(mg::parse_byte_size("500MB").value() == 524288000ULL);
    CHECK(mg::parse_byte_size("500MiB").value() == 524288000ULL);
    CHECK(mg::parse_byte_size("512Ki").value() == 524288ULL);
    CHECK(mg::parse_byte_size("256mb").value() == 268435456ULL);
    CHECK(mg::parse_byte_size("1.5GiB").value() == 1610612736ULL);
    CHECK(mg::parse_byte_size(" 64KB ").value() == 65536ULL);
    CHECK(mg::parse_byte_size("0").value() == 0ULL);
    CHECK(mg::parse_byte_size("10B").value() == 10ULL);
}

TEST_CASE("byte sizes that are rejected say why and what is accepted", "[units]") {
    for (const char* bad :
         {"", "-1", "MB", "12XB", "1.5", "0.3B", "99999999999999999999", "20000000TB"}) {
        auto r = mg::parse_byte_size(bad);
        INFO(bad);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error_message(), Catch::Contains("500MiB"));
    }
}

TEST_CASE("durations in Go form", "[units]") {
    CHECK(mg::parse_duration("30s").value() == 30s);
    CHECK(mg::parse_duration("5m").value() == 5min);
    CHECK(mg::parse_duration("1h").value() == 1h);
    CHECK(mg::parse_duration("2h30m").value() == 150min);
    CHECK(mg::parse_duration("1.5h").value() == 90min);
    CHECK(mg::parse_duration("250ms").value() == 250ms);
    CHECK(mg::parse_duration("0").value() == 0s);
    CHECK(mg::parse_duration("1h2m3s4ms").value() == 1h + 2min + 3s + 4ms);
}

TEST_CASE("bad durations are rejected with the accepted form", "[units]") {
    for (const char* bad : {"", "30", "-5s", "5x", "h", "1h30", "s30"}) {
        auto r = mg::parse_duration(bad);
        INFO(bad);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error_message(), Catch::Contains("2h30m"));
    }
}

TEST_CASE("formatting round-trips through parsing", "[units]") {
    CHECK(mg::format_byte_size(524288000) == "500MB");
    CHECK(mg::format_byte_size(268435456) == "256MB");
    CHECK(mg::format_byte_size(1536) == "1536B");
    CHECK(mg::format_byte_size(0) == "0B");
    CHECK(mg::format_duration(30s) == "30s");
    CHECK(mg::format_duration(1h) == "1h");
    CHECK(mg::format_duration(1h + 5min) == "1h5m");
    CHECK(mg::format_duration(150min) == "2h30m");
    CHECK(mg::format_duration(1500ms) == "1.5s");
    CHECK(mg::format_duration(250ms) == "250ms");
    for (std::uint64_t v : {1ULL, 1024ULL, 524288000ULL, 3ULL << 40, 123456789ULL}) {
        CHECK(mg::parse_byte_size(mg::format_byte_size(v)).value() == v);
    }
    for (std::chrono::nanoseconds d :
         {std::chrono::nanoseconds(1ns), std::chrono::nanoseconds(1500us),
          std::chrono::nanoseconds(61s), std::chrono::nanoseconds(3601s),
          std::chrono::nanoseconds(25h)}) {
        CHECK(mg::parse_duration(mg::format_duration(d)).value() == d);
    }
}
