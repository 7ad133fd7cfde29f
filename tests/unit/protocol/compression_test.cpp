#include "protocol/compression.h"

#include <catch2/catch.hpp>
#include <string>

#include "protocol/wire.h"

using namespace mg::protocol;

namespace {
std::string sample_text(std::size_t n) {
    std::string s;
    for (std::size_t i = 0; s.size() < n; ++i) {
        s += "http_requests_total{code=\"" + std::to_string(i % 7) + "\"} " + std::to_string(i);
    }
    s.resize(n);
    return s;
}
}  // namespace

TEST_CASE("snappy round-trips", "[compression]") {
    for (std::size_t n : {0U, 1U, 100U, 65536U, 1000000U}) {
        const std::string in = sample_text(n);
        std::string z, out;
        snappy_encode(in, z);
        REQUIRE(snappy_decode(z, n, out).ok());
        CHECK(out == in);
    }
}

TEST_CASE("snappy rejects a declared size over the limit before allocating", "[compression]") {
    // A header declaring 3 GiB followed by a few bytes: a bomb if the size were trusted.
    std::string bomb;
    wire_writer::put_varint(bomb, 3ULL << 30);
    bomb += std::string(16, '\0');
    std::string out;
    auto s = snappy_decode(bomb, 1 << 20, out);
    CHECK(s.code() == errc::too_large);
    CHECK_THAT(s.error_message(), Catch::Contains("exceeds the limit"));
    CHECK(out.capacity() < (1U << 20));
    // Within the limit but impossible for the input size: malformed, still no allocation.
    std::string liar;
    wire_writer::put_varint(liar, 512ULL << 20);
    liar += "abc";
    auto s2 = snappy_decode(liar, 1ULL << 30, out);
    CHECK(s2.code() == errc::malformed);
    CHECK(out.capacity() < (1U << 20));
}

TEST_CASE("snappy: exactly at the limit passes, one byte more is too large", "[compression]") {
    const std::string in = sample_text(5000);
    std::string z, out;
    snappy_encode(in, z);
    CHECK(snappy_decode(z, 5000, out).ok());
    CHECK(snappy_decode(z, 4999, out).code() == errc::too_large);
}

TEST_CASE("malformed snappy is a malformed error", "[compression]") {
    std::string out;
    CHECK(snappy_decode("", 100, out).code() == errc::malformed);
    CHECK(snappy_decode("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 100, out).code() ==
          errc::malformed);
    const std::string in = sample_text(2000);
    std::string z;
    snappy_encode(in, z);
    std::string cut = z.substr(0, z.size() / 2);
    CHECK(snappy_decode(cut, 1 << 20, out).code() == errc::malformed);
    std::string garbled = z;
    for (std::size_t i = 3; i < garbled.size(); i += 5) garbled[i] = '\xff';
    CHECK(snappy_decode(garbled, 1 << 20, out).code() == errc::malformed);
}

TEST_CASE("gzip round-trips at every level", "[compression]") {
    const std::string in = sample_text(200000);
    for (int level : {-1, 0, 1, 6, 9}) {
        std::string z, out;
        REQUIRE(gzip_encode(in, level, z).ok());
        REQUIRE(z.size() > 18);
        CHECK(static_cast<unsigned char>(z[0]) == 0x1f);
        REQUIRE(gzip_decode(z, in.size(), out).ok());
        CHECK(out == in);
    }
    std::string z, out;
    REQUIRE(gzip_encode("", 6, z).ok());
    REQUIRE(gzip_decode(z, 0, out).ok());
    CHECK(out.empty());
    CHECK(gzip_encode("x", 10, z).code() == errc::malformed);
}

TEST_CASE("a gzip bomb is too large and never allocated in full", "[compression]") {
    const std::string zeros(64U << 20, '\0');
    std::string z;
    REQUIRE(gzip_encode(zeros, 9, z).ok());
    REQUIRE(z.size() < (1U << 20));
    std::string out;
    const std::size_t limit = 1U << 20;
    auto s = gzip_decode(z, limit, out);
    CHECK(s.code() == errc::too_large);
    CHECK(out.capacity() <= limit + 64);
}

TEST_CASE("gzip: exactly at the limit passes, one byte more is too large", "[compression]") {
    const std::string in = sample_text(100000);
    std::string z, out;
    REQUIRE(gzip_encode(in, 6, z).ok());
    CHECK(gzip_decode(z, 100000, out).ok());
    CHECK(out == in);
    CHECK(gzip_decode(z, 99999, out).code() == errc::too_large);
}

TEST_CASE("malformed or truncated gzip is a malformed error", "[compression]") {
    const std::string in = sample_text(50000);
    std::string z, out;
    REQUIRE(gzip_encode(in, 6, z).ok());
    CHECK(gzip_decode("", 1 << 20, out).code() == errc::malformed);
    CHECK(gzip_decode("not gzip at all", 1 << 20, out).code() == errc::malformed);
    for (std::size_t cut : {std::size_t{1}, std::size_t{10}, z.size() / 2, z.size() - 1}) {
        INFO(cut);
        CHECK(gzip_decode(z.substr(0, cut), 1 << 20, out).code() == errc::malformed);
    }
    std::string bad = z;
    bad[z.size() - 6] ^= 0x55;  // CRC32 trailer
    CHECK(gzip_decode(bad, 1 << 20, out).code() == errc::malformed);
}

TEST_CASE("concatenated gzip members decode as one body", "[compression]") {
    std::string a, b, out;
    REQUIRE(gzip_encode("hello, ", 6, a).ok());
    REQUIRE(gzip_encode("world", 6, b).ok());
    REQUIRE(gzip_decode(a + b, 100, out).ok());
    CHECK(out == "hello, world");
}
