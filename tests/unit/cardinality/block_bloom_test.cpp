#include "cardinality/block_bloom.h"

#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "unit/cardinality/test_util.h"

using mg::cardinality::block_bloom;
using mg::cardinality::test::id;
using mg::cardinality::test::k_probe_base;

namespace {

double measured_fpr(const block_bloom& f, std::uint64_t probes) {
    std::uint64_t fp = 0;
    for (std::uint64_t i = 0; i < probes; ++i) fp += f.test(id(k_probe_base + i)) ? 1 : 0;
    return static_cast<double>(fp) / static_cast<double>(probes);
}

}  // namespace

TEST_CASE("block bloom has no false negatives and reports presence", "[block_bloom]") {
    auto f = block_bloom::for_capacity(10000, 0.01);
    std::uint64_t already = 0;  // false positives while filling up
    for (std::uint64_t i = 0; i < 10000; ++i) already += f.test_and_insert(id(i)) ? 1 : 0;
    CHECK(already < 100);
    for (std::uint64_t i = 0; i < 10000; ++i) REQUIRE(f.test(id(i)));
    for (std::uint64_t i = 0; i < 10000; ++i) REQUIRE(f.test_and_insert(id(i)));
}

TEST_CASE("block bloom meets its false-positive target from 1k to 1M items", "[block_bloom]") {
    const double target = 0.01;
    const std::uint64_t n = GENERATE(1000ULL, 10000ULL, 100000ULL, 1000000ULL);
    auto f = block_bloom::for_capacity(n, target);
    for (std::uint64_t i = 0; i < n; ++i) f.insert(id(i));
    const std::uint64_t probes = 400000;
    const double fpr = measured_fpr(f, probes);
    INFO("n=" << n << " blocks=" << f.n_blocks() << " bits/item=" << (8.0 * f.memory_bytes() / n)
              << " fpr=" << fpr << " predicted=" << block_bloom::fp_rate_for(f.n_blocks(), n));
    // 4 sigma of binomial noise on 400k probes at 1% is ~0.0006.
    CHECK(fpr <= target + 0.0008);
    CHECK(8.0 * f.memory_bytes() / static_cast<double>(n) <= 12.0);
}

TEST_CASE("block bloom sizing: bits per item at 1% and monotone rates", "[block_bloom]") {
    const std::uint64_t n = 1000000;
    const auto blocks = block_bloom::blocks_for(n, 0.01);
    const double bits = 512.0 * static_cast<double>(blocks) / static_cast<double>(n);
    CHECK(bits > 9.6);   // no Bloom filter beats the information bound of ~9.6
    CHECK(bits < 10.5);  // ~10.1 for this layout
    CHECK(block_bloom::fp_rate_for(blocks, n) <= 0.01);
    CHECK(block_bloom::fp_rate_for(blocks - 1, n) > 0.01);
    CHECK(block_bloom::blocks_for(n, 0.001) > blocks);
    CHECK(block_bloom::blocks_for(0, 0.01) == 1);
    CHECK(block_bloom::blocks_for(1, 0.01) == 1);
}

TEST_CASE("block bloom sizing from several threads at once gives each the minimal count",
          "[block_bloom]") {
    // Trackers are made by every ingest thread. Each thread here sizes pairs no call asked for
    // before (new to the cache), so the searches and their Poisson terms run at the same time:
    // under ThreadSanitizer a shared write in them is a reported race (glibc's lgamma writes the
    // process-wide signgam; a daemon under TSan stopped on it).
    constexpr std::uint64_t k_threads = 4;
    constexpr std::uint64_t k_pairs = 100;
    constexpr double k_rate = 0.0123;
    std::vector<std::vector<std::uint64_t>> got(k_threads);
    std::vector<std::thread> threads;
    for (std::uint64_t t = 0; t < k_threads; ++t) {
        threads.emplace_back([&got, t] {
            for (std::uint64_t i = 0; i < k_pairs; ++i)
                got[t].push_back(block_bloom::blocks_for(700001 + i * k_threads + t, k_rate));
        });
    }
    for (auto& th : threads) th.join();
    for (std::uint64_t t = 0; t < k_threads; ++t) {
        REQUIRE(got[t].size() == k_pairs);
        for (std::uint64_t i = 0; i < k_pairs; ++i) {
            const std::uint64_t n = 700001 + i * k_threads + t;
            const std::uint64_t b = got[t][i];
            INFO("items " << n);
            CHECK(block_bloom::fp_rate_for(b, n) <= k_rate);
            CHECK(block_bloom::fp_rate_for(b - 1, n) > k_rate);
        }
    }
}

TEST_CASE("block bloom sizing: remembered answers stay minimal for each items and rate pair",
          "[block_bloom]") {
    // blocks_for() remembers its answers; asking again, interleaved with other pairs, from two
    // threads and past the cache's size bound must keep giving the minimal block count of
    // exactly the pair asked for.
    const std::vector<std::uint64_t> items{16, 128, 1024, 8192, 65536, 524288};
    const std::vector<double> rates{0.01 / 3, 0.001, 0.01 / 3 * 0.6, 0.02};
    auto minimal = [](std::uint64_t n, double p, std::uint64_t b) {
        return block_bloom::fp_rate_for(b, n) <= p &&
               (b == 1 || block_bloom::fp_rate_for(b - 1, n) > p);
    };
    std::vector<std::uint64_t> first;
    for (auto n : items)
        for (auto p : rates) first.push_back(block_bloom::blocks_for(n, p));
    std::vector<std::uint64_t> other_thread;
    std::thread t([&] {
        for (auto n : items)
            for (auto p : rates) other_thread.push_back(block_bloom::blocks_for(n, p));
    });
    t.join();
    // Push the cache past its bound so it is emptied at least once.
    for (std::uint64_t n = 1; n <= 5000; ++n) (void)block_bloom::blocks_for(n, 0.5);
    std::size_t k = 0;
    for (auto n : items) {
        for (auto p : rates) {
            INFO("items " << n << " rate " << p);
            CHECK(minimal(n, p, first[k]));
            CHECK(block_bloom::blocks_for(n, p) == first[k]);
            CHECK(other_thread[k] == first[k]);
            ++k;
        }
    }
    // The rate is part of the key: the same items at a lower rate need more blocks.
    CHECK(block_bloom::blocks_for(65536, 0.001) > block_bloom::blocks_for(65536, 0.01));
    CHECK(minimal(65536, 0.01, block_bloom::blocks_for(65536, 0.01)));
}

TEST_CASE("block bloom words round trip", "[block_bloom]") {
    auto f = block_bloom::for_capacity(1000, 0.01);
    for (std::uint64_t i = 0; i < 1000; ++i) f.insert(id(i));
    std::vector<std::uint64_t> words(f.word_count());
    f.copy_words(words);
    block_bloom g(f.n_blocks());
    REQUIRE(g.load_words(words));
    CHECK(g.popcount() == f.popcount());
    for (std::uint64_t i = 0; i < 1000; ++i) REQUIRE(g.test(id(i)));
    std::vector<std::uint64_t> wrong(words.size() + 1);
    CHECK_FALSE(g.load_words(wrong));
    g.clear();
    CHECK(g.popcount() == 0);
}

TEST_CASE("block bloom at 10M items", "[block_bloom][.slow]") {
    const std::uint64_t n = 10000000;
    auto f = block_bloom::for_capacity(n, 0.01);
    for (std::uint64_t i = 0; i < n; ++i) f.insert(id(i));
    CHECK(measured_fpr(f, 1000000) <= 0.0105);
}
