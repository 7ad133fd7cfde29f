// meta.json encoding and validation (src/persistence/meta_index.h).
#include "persistence/meta_index.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace mp = mg::persistence;
using namespace std::chrono_literals;

TEST_CASE("meta.json round-trips with the spec's fields and our extensions",
          "[persistence][meta]") {
    mp::meta_index idx;
    mp::tracker_meta m;
    m.key = "stats:metric:http_requests";
    m.hash = "a1b2";
    m.count = 15234;
    m.last_updated = *mp::parse_rfc3339("2024-01-15T10:30:00Z");
    m.last_saved = *mp::parse_rfc3339("2024-01-15T10:30:30Z");
    m.created_at = *mp::parse_rfc3339("2024-01-15T08:00:00Z");
    m.checksum = 3847283947u;
    m.size_bytes = 28672;
    m.previous_checksum = 17;
    m.format = 1;
    m.generations = 3;
    m.window = 1h;
    m.window_start = *mp::parse_rfc3339("2024-01-15T09:30:00.250Z");
    m.memory_bytes = 4096;
    idx.trackers[m.key] = m;

    const std::string text = mp::to_json(idx);
    const auto j = nlohmann::json::parse(text);
    CHECK(j["version"] == 1);
    const auto& e = j["trackers"]["stats:metric:http_requests"];
    CHECK(e["key"] == "stats:metric:http_requests");
    CHECK(e["count"] == 15234);
    CHECK(e["last_updated"] == "2024-01-15T10:30:00Z");
    CHECK(e["created_at"] == "2024-01-15T08:00:00Z");
    CHECK(e["checksum"] == 3847283947u);
    CHECK(e["size_bytes"] == 28672);
    CHECK(e["window"] == "1h");
    CHECK(e["window_start"] == "2024-01-15T09:30:00.250Z");

    auto back = mp::parse_meta(text);
    REQUIRE(back.problem == mp::meta_problem::none);
    REQUIRE(back.index.trackers.size() == 1);
    const auto& b = back.index.trackers.at(m.key);
    CHECK(b.checksum == m.checksum);
    CHECK(b.previous_checksum == std::optional<std::uint32_t>(17));
    CHECK(b.last_updated == m.last_updated);
    CHECK(b.window_start == m.window_start);
    CHECK(b.window == 1h);
}

TEST_CASE("the spec's own example parses", "[persistence][meta]") {
    const auto r = mp::parse_meta(R"({"version": 1, "trackers": {"stats:metric:http_requests": {
        "key": "stats:metric:http_requests", "hash": "a1b2c3d4e5f6", "count": 15234,
        "last_updated": "2024-01-15T10:30:00Z", "last_saved": "2024-01-15T10:30:30Z",
        "created_at": "2024-01-15T08:00:00Z", "checksum": 3847283947, "size_bytes": 28672}}})");
    REQUIRE(r.problem == mp::meta_problem::none);
    REQUIRE(r.index.trackers.count("stats:metric:http_requests") == 1);
    CHECK(r.index.trackers.at("stats:metric:http_requests").compressed);
}

TEST_CASE("meta.json problems: unknown version, malformed, bad entries", "[persistence][meta]") {
    auto v2 = mp::parse_meta(R"({"version": 2, "trackers": {}})");
    CHECK(v2.problem == mp::meta_problem::version_unsupported);
    CHECK(v2.version == 2);
    CHECK_THAT(v2.message, Catch::Contains("version 2 is not supported"));

    CHECK(mp::parse_meta("{").problem == mp::meta_problem::malformed);
    CHECK(mp::parse_meta("[]").problem == mp::meta_problem::malformed);
    CHECK(mp::parse_meta(R"({"trackers": {}})").problem == mp::meta_problem::malformed);
    CHECK(mp::parse_meta(R"({"version": 1})").problem == mp::meta_problem::malformed);

    auto partial = mp::parse_meta(R"({"version": 1, "trackers": {
        "good": {"key": "good", "hash": "h", "count": 1, "last_updated": "2024-01-15T10:30:00Z", "checksum": 1, "size_bytes": 2},
        "nocount": {"key": "nocount", "hash": "h", "last_updated": "2024-01-15T10:30:00Z", "checksum": 1, "size_bytes": 2},
        "../etc/passwd": {"key": "../etc/passwd", "hash": "h", "count": 1, "last_updated": "2024-01-15T10:30:00Z", "checksum": 1, "size_bytes": 2},
        "mismatch": {"key": "other", "hash": "h", "count": 1, "last_updated": "2024-01-15T10:30:00Z", "checksum": 1, "size_bytes": 2},
        "badtime": {"key": "badtime", "hash": "h", "count": 1, "last_updated": "yesterday", "checksum": 1, "size_bytes": 2},
        "bigcrc": {"key": "bigcrc", "hash": "h", "count": 1, "last_updated": "2024-01-15T10:30:00Z", "checksum": 99999999999, "size_bytes": 2}}})");
    CHECK(partial.problem == mp::meta_problem::none);
    CHECK(partial.index.trackers.size() == 1);
    CHECK(partial.index.trackers.count("good") == 1);
    CHECK(partial.bad_entries.size() == 5);
    CHECK_THAT(partial.bad_entries.at("nocount"), Catch::Contains("missing count"));
    CHECK_THAT(partial.bad_entries.at("../etc/passwd"), Catch::Contains(".."));
}

TEST_CASE("tracker keys that could name a path are rejected", "[persistence][meta]") {
    CHECK(mp::validate_key("stats:metric:http_requests").ok());
    CHECK(mp::validate_key("stats:metric:http.server.duration").ok());
    CHECK_FALSE(mp::validate_key("").ok());
    CHECK_FALSE(mp::validate_key("stats:metric:..").ok());
    CHECK_FALSE(mp::validate_key("a/b").ok());
    CHECK_FALSE(mp::validate_key("a\\b").ok());
    CHECK_FALSE(mp::validate_key(std::string("a\0b", 3)).ok());
    CHECK_FALSE(mp::validate_key("a\nb").ok());
    CHECK_FALSE(mp::validate_key(std::string(5000, 'a')).ok());
}

TEST_CASE("RFC 3339 times: UTC, fractions, offsets, garbage", "[persistence][meta]") {
    const auto t = *mp::parse_rfc3339("2024-01-15T10:30:00Z");
    CHECK(mp::format_rfc3339(t) == "2024-01-15T10:30:00Z");
    CHECK(*mp::parse_rfc3339("2024-01-15T12:30:00+02:00") == t);
    CHECK(*mp::parse_rfc3339("2024-01-15T10:30:00.5Z") == t + 500ms);
    CHECK_FALSE(mp::parse_rfc3339("2024-01-15 10:30:00").ok());
    CHECK_FALSE(mp::parse_rfc3339("2024-01-15T10:30:00").ok());
    CHECK_FALSE(mp::parse_rfc3339("2024-01-15T10:30:00+0").ok());
    CHECK_FALSE(mp::parse_rfc3339("2024-01-15T10:30:00Zjunk").ok());
}

// Times are nanoseconds since 1970 in 64 bits: past 2262 the conversion overflowed (found by the
// meta_json fuzz target), before 1970 the ages computed from them could.
TEST_CASE("RFC 3339 times outside 1970..2262 are refused, not overflowed", "[persistence][meta]") {
    CHECK(mp::parse_rfc3339("1970-01-01T00:00:00Z").ok());
    CHECK(mp::parse_rfc3339("2262-01-01T00:00:00Z").ok());
    const auto late = mp::parse_rfc3339("4046-11-14T22:13:20Z");
    REQUIRE_FALSE(late.ok());
    CHECK(late.error_message().find("1970 to 2262") != std::string::npos);
    CHECK_FALSE(mp::parse_rfc3339("2263-01-01T00:00:00Z").ok());
    CHECK_FALSE(mp::parse_rfc3339("1969-12-31T23:59:59Z").ok());
}
