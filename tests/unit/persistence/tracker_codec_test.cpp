// Tracker file encoding, gzip, CRC32 and SHA-256 (src/persistence/tracker_codec.h).
#include "persistence/tracker_codec.h"

#include <catch2/catch.hpp>
#include <random>

#include "common/clock.h"

namespace mp = mg::persistence;
namespace mc = mg::cardinality;

namespace {

mc::tracker_config small_config() {
    mc::tracker_config c;
    c.expected_items = 1000;
    c.fp_rate = 0.01;
    c.generations = 3;
    c.window = std::chrono::minutes(30);
    return c;
}

}  // namespace

TEST_CASE("a tracker survives encode, gzip, gunzip, decode and restore", "[persistence][codec]") {
    mg::fake_clock clock;
    mc::bloom_tracker t(small_config(), clock);
    for (std::uint64_t i = 0; i < 500; ++i) t.insert(i * 0x9e3779b97f4a7c15ull);
    clock.advance(std::chrono::minutes(11));  // a rotation: two generations hold data
    for (std::uint64_t i = 500; i < 700; ++i) t.insert(i * 0x9e3779b97f4a7c15ull);

    const std::string payload = mp::encode_tracker("stats:metric:m", t.snapshot());
    auto z = mp::gzip_compress(payload, 1);
    REQUIRE(z.ok());
    CHECK(z->size() < payload.size());
    auto back = mp::gzip_decompress(*z, payload.size());
    REQUIRE(back.ok());
    REQUIRE(*back == payload);
    auto snap = mp::decode_tracker(*back, "stats:metric:m");
    REQUIRE(snap.ok());
    auto r = mc::bloom_tracker::restore(*snap, clock);
    REQUIRE(r.ok());
    CHECK((*r)->count() == t.count());
    for (std::uint64_t i = 0; i < 700; ++i) CHECK((*r)->test(i * 0x9e3779b97f4a7c15ull));
    // The restored tracker enforces the same limit: no room for a new series at count.
    CHECK((*r)->observe(12345, (*r)->count()) == mc::observe_result::over_limit);
}

TEST_CASE("decode refuses damaged or foreign payloads with a reason", "[persistence][codec]") {
    mg::fake_clock clock;
    mc::bloom_tracker t(small_config(), clock);
    for (std::uint64_t i = 0; i < 50; ++i) t.insert(i + 1);
    const std::string payload = mp::encode_tracker("stats:metric:m", t.snapshot());

    CHECK_FALSE(mp::decode_tracker(payload, "stats:metric:other").ok());
    auto wrong_key = mp::decode_tracker(payload, "stats:metric:other");
    CHECK_THAT(wrong_key.error_message(), Catch::Contains("not the expected one"));

    std::string bad_magic = payload;
    bad_magic[0] = 'X';
    CHECK_THAT(mp::decode_tracker(bad_magic, "stats:metric:m").error_message(),
               Catch::Contains("bad magic"));

    std::string future = payload;
    future[4] = 9;  // file format
    CHECK_THAT(mp::decode_tracker(future, "stats:metric:m").error_message(),
               Catch::Contains("unsupported tracker file format 9"));

    // Format 1 files hold identities of the older series hash: refused with a reason that says
    // so (restore skips and counts them; the tracker relearns its series).
    std::string older = payload;
    older[8] = 1;  // tracker snapshot format
    CHECK_THAT(mp::decode_tracker(older, "stats:metric:m").error_message(),
               Catch::Contains("snapshot format 1 holds series identities of an older version"));

    // Every truncation is an error, never a crash or a partial tracker.
    for (std::size_t n = 0; n < payload.size(); n += 1 + n / 7)
        CHECK_FALSE(
            mp::decode_tracker(std::string_view(payload).substr(0, n), "stats:metric:m").ok());
    CHECK_FALSE(mp::decode_tracker(payload + "x", "stats:metric:m").ok());

    // Random byte flips: decode or restore may fail, but never crash.
    std::mt19937_64 rng(7);
    for (int i = 0; i < 200; ++i) {
        std::string s = payload;
        s[rng() % s.size()] ^= static_cast<char>(1 + rng() % 255);
        auto snap = mp::decode_tracker(s, "stats:metric:m");
        if (snap.ok()) (void)mc::bloom_tracker::restore(*snap, clock);
    }
}

TEST_CASE("gzip errors: truncated, corrupt, and bombs past the bound", "[persistence][codec]") {
    const std::string data(1 << 20, 'a');
    auto z = mp::gzip_compress(data, 6);
    REQUIRE(z.ok());
    CHECK_THAT(
        mp::gzip_decompress(std::string_view(*z).substr(0, z->size() / 2), 2 << 20).error_message(),
        Catch::Contains("truncated"));
    std::string corrupt = *z;
    corrupt[corrupt.size() / 2] ^= 0x55;
    CHECK_FALSE(mp::gzip_decompress(corrupt, 2 << 20).ok());
    CHECK_THAT(mp::gzip_decompress(*z, 1000).error_message(),
               Catch::Contains("inflates past 1000"));
    CHECK_FALSE(mp::gzip_decompress("not gzip", 100).ok());
    CHECK_FALSE(mp::gzip_decompress(*z + "trailing", 2 << 20).ok());
}

TEST_CASE("crc32 and sha256 match published test vectors", "[persistence][codec]") {
    CHECK(mp::crc32_of("123456789") == 0xCBF43926u);
    CHECK(mp::sha256_hex("abc") ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(mp::sha256_hex("stats:metric:a").size() == 64);
}

TEST_CASE("decode_tracker_file reads .bloom.gz and .bloom alike, within its inflate bound",
          "[persistence][codec]") {
    mg::fake_clock clock;
    mc::bloom_tracker t(small_config(), clock);
    for (std::uint64_t i = 0; i < 100; ++i) t.insert(i + 1);
    const std::string payload = mp::encode_tracker("stats:metric:m", t.snapshot());
    const std::string gz = *mp::gzip_compress(payload, 6);

    auto plain = mp::decode_tracker_file(payload, "stats:metric:m", 1);  // no inflating: no bound
    REQUIRE(plain.ok());
    auto packed = mp::decode_tracker_file(gz, "stats:metric:m", payload.size());
    REQUIRE(packed.ok());
    CHECK(packed->generations.size() == plain->generations.size());
    CHECK(packed->generations[0].latest_count == t.generation_counts()[0]);
    CHECK(packed->generations[0].latest_count > 0);

    auto too_big = mp::decode_tracker_file(gz, "stats:metric:m", payload.size() - 1);
    REQUIRE_FALSE(too_big.ok());
    CHECK_THAT(too_big.error_message(), Catch::Contains("inflates past"));
    CHECK_FALSE(
        mp::decode_tracker_file(gz.substr(0, gz.size() / 2), "stats:metric:m", 1 << 20).ok());
    CHECK_FALSE(mp::decode_tracker_file(gz, "stats:metric:other", 1 << 20).ok());
}
