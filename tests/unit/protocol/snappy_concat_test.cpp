// snappy_concat: blocks from the real snappy compressor joined by their element streams decode
// to the concatenation of their inputs (snappy's own validator and decoder say so), for blocks
// past snappy's 64 KiB fragment, many small pieces and empty ones.
#include "protocol/snappy_concat.h"

#include <snappy.h>

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "protocol/compression.h"

using namespace mg::protocol;

namespace {

// Text that compresses (repeats within and across 64 KiB) with some noise, from a seed.
std::string text(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s;
    while (s.size() < n) {
        s += "up{job=\"node\",instance=\"host-" + std::to_string(rng() % 50) + "\"} " +
             std::to_string(rng()) + "\n";
    }
    s.resize(n);
    return s;
}

std::string compress(const std::string& in) {
    std::string z;
    snappy::Compress(in.data(), in.size(), &z);
    return z;
}

// Joins the blocks of `parts` and checks the result against their plain concatenation.
void check_join(const std::vector<std::string>& parts) {
    std::vector<std::string> blocks;
    std::string want;
    for (const auto& p : parts) {
        blocks.push_back(compress(p));
        want += p;
    }
    std::vector<bytes_view> views(blocks.begin(), blocks.end());
    std::string joined;
    REQUIRE(snappy_concat(views, joined).ok());
    CHECK(snappy::IsValidCompressedBuffer(joined.data(), joined.size()));
    std::string got;
    REQUIRE(snappy::Uncompress(joined.data(), joined.size(), &got));
    CHECK(got.size() == want.size());
    CHECK(got == want);
    // Our own decoder (the one the receiver and the 413 split use) agrees.
    std::string ours;
    REQUIRE(snappy_decode(joined, want.size(), ours).ok());
    CHECK(ours == want);
}

}  // namespace

TEST_CASE("snappy_concat: two blocks decode to both inputs in order", "[snappy_concat]") {
    check_join({text(1000, 1), text(2000, 2)});
}

TEST_CASE("snappy_concat: blocks larger than 64 KiB, of various sizes", "[snappy_concat]") {
    for (std::size_t a : {65535U, 65536U, 65537U, 200000U, 1000003U}) {
        for (std::size_t b : {1U, 70000U, 300001U}) {
            INFO(a << " + " << b);
            check_join({text(a, static_cast<unsigned>(a)), text(b, static_cast<unsigned>(b + 7))});
        }
    }
}

TEST_CASE("snappy_concat: many pieces, empty ones and identical ones", "[snappy_concat]") {
    std::vector<std::string> parts;
    std::mt19937 rng(42);
    for (int i = 0; i < 200; ++i) parts.push_back(text(rng() % 5000, static_cast<unsigned>(i)));
    parts.push_back("");
    parts.push_back(parts.front());  // copies in the second one must not reach into the first
    parts.insert(parts.begin(), "");
    check_join(parts);
    check_join({""});
    check_join({"", ""});
}

TEST_CASE("snappy_concat: the declared length is the sum, headers of several bytes",
          "[snappy_concat]") {
    const auto a = compress(text(100, 1));    // 1-byte header
    const auto b = compress(text(20000, 2));  // 3-byte header
    std::vector<bytes_view> views{a, b};
    std::string joined;
    REQUIRE(snappy_concat(views, joined).ok());
    std::size_t n = 0;
    REQUIRE(snappy::GetUncompressedLength(joined.data(), joined.size(), &n));
    CHECK(n == 20100);
    std::size_t declared = 0;
    std::size_t header = 0;
    REQUIRE(snappy_block_header(joined, declared, header));
    CHECK(declared == 20100);
    CHECK(header == 3);
}

TEST_CASE("snappy_concat: a block without a valid header is refused", "[snappy_concat]") {
    const auto good = compress(text(100, 1));
    const std::string bad("\xff\xff\xff\xff\xff\xff", 6);  // varint longer than 5 bytes
    std::vector<bytes_view> views{good, bad};
    std::string out;
    CHECK_FALSE(snappy_concat(views, out).ok());
    std::vector<bytes_view> empty_block{good, bytes_view()};
    CHECK_FALSE(snappy_concat(empty_block, out).ok());
}
