// block_bloom: a split-block Bloom filter. Every item lives in one 512-bit block (one cache
// line) chosen from its hash, and sets exactly one bit in each of the block's eight 64-bit words
// (k = 8), the bit chosen from a remixed hash. A lookup is one cache line, no matter the size.
// At 1% false positives it needs ~10.1 bits per item (a classic Bloom filter needs 9.6).
//
// Thread-safety: test, test_and_insert and insert may run concurrently from any number of
// threads (words are std::atomic<uint64_t>; inserts use fetch_or only on words that miss a bit,
// so re-inserting a present item writes nothing). clear, load_words and moves need exclusive
// access. Owns its words; move-only.
//
// Sizing is exact for this layout: fp_rate_for() sums the false-positive probability over the
// Poisson distribution of items per block, and blocks_for() is the smallest block count meeting
// a target.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

namespace mg::cardinality {

// Everything derived from a 64-bit series hash that a probe needs, computed once per lookup and
// reused across every slice and generation of a tracker. The input must be a well-mixed 64-bit
// hash (series_hash output, XXH3): its high bits pick the block as they are, and the eight bit
// positions come from a remix of it (murmur3 finalizer), independent of the block choice.
struct bloom_key {
    std::uint64_t block_hash;            // picks the block (multiply-shift range reduction)
    std::array<std::uint64_t, 8> masks;  // one bit per word of the block

    static bloom_key from_hash(std::uint64_t hash) noexcept {
        bloom_key k;
        k.block_hash = hash;
        const std::uint64_t b = bit_positions(hash);
        for (std::size_t i = 0; i < 8; ++i) k.masks[i] = std::uint64_t{1} << ((b >> (6 * i)) & 63);
        return k;
    }
    // The remix whose 6-bit fields i = 0..7 are the bit set in word i of the block (what
    // `masks` holds, unpacked). Batched probes keep this one word instead of the 64-byte masks.
    static std::uint64_t bit_positions(std::uint64_t hash) noexcept {
        std::uint64_t b = hash;
        b ^= b >> 33;
        b *= 0xff51afd7ed558ccdULL;
        b ^= b >> 33;
        b *= 0xc4ceb9fe1a85ec53ULL;
        b ^= b >> 33;
        return b;
    }
};

class block_bloom {
  public:
    static constexpr std::size_t k_words_per_block = 8;
    static constexpr std::size_t k_bits_per_block = 512;
    static constexpr std::size_t k_bytes_per_block = 64;
    static constexpr std::uint64_t k_max_blocks = std::uint64_t{1} << 32;  // 256 GiB

    // n_blocks is clamped to [1, k_max_blocks]; words start zero.
    explicit block_bloom(std::uint64_t n_blocks);
    // Sized for `items` at `fp_rate` (0 < fp_rate < 1).
    static block_bloom for_capacity(std::uint64_t items, double fp_rate);
    // Smallest block count whose expected false-positive rate with `items` is <= fp_rate.
    static std::uint64_t blocks_for(std::uint64_t items, double fp_rate);
    // Expected false-positive rate of a filter of n_blocks holding `items` distinct items.
    static double fp_rate_for(std::uint64_t n_blocks, std::uint64_t items);

    block_bloom(block_bloom&& other) noexcept;
    block_bloom& operator=(block_bloom&& other) noexcept;
    block_bloom(const block_bloom&) = delete;
    block_bloom& operator=(const block_bloom&) = delete;
    ~block_bloom();

    std::uint64_t block_of(const bloom_key& k) const noexcept {
        return block_index(k.block_hash, n_blocks_);
    }
    // Multiply-shift range reduction of a hash to [0, n_blocks).
    static std::uint64_t block_index(std::uint64_t hash, std::uint64_t n_blocks) noexcept {
        __extension__ using u128 = unsigned __int128;
        return static_cast<std::uint64_t>((static_cast<u128>(hash) * n_blocks) >> 64);
    }
    // Probing by address, for batched lookups that copied a filter's words pointer and block
    // count once (scalable_bloom::probe_slice): the block of `hash`, and whether the item whose
    // bloom_key::bit_positions() are `bits` has all its 8 bits set in that block. Same answer as
    // test().
    static const std::atomic<std::uint64_t>* block_at(const std::atomic<std::uint64_t>* words,
                                                      std::uint64_t n_blocks,
                                                      std::uint64_t hash) noexcept {
        return words + block_index(hash, n_blocks) * k_words_per_block;
    }
    static bool block_has(const std::atomic<std::uint64_t>* b, std::uint64_t bits) noexcept {
        return block_has(b, bits, std::make_index_sequence<k_words_per_block>{});
    }
    const std::atomic<std::uint64_t>* block_ptr(const bloom_key& k) const noexcept {
        return words_ + block_of(k) * k_words_per_block;
    }

    bool test(const bloom_key& k) const noexcept {
        const std::atomic<std::uint64_t>* b = block_ptr(k);
        std::uint64_t miss = 0;
        for (std::size_t i = 0; i < k_words_per_block; ++i)
            miss |= k.masks[i] & ~b[i].load(std::memory_order_relaxed);
        return miss == 0;
    }
    bool test(std::uint64_t hash) const noexcept { return test(bloom_key::from_hash(hash)); }

    // Sets the item's bits. Returns true when the item was already present (no bit changed), the
    // insert-if-absent primitive: exactly the bits that were missing are fetch_or'ed.
    bool test_and_insert(const bloom_key& k) noexcept;
    bool test_and_insert(std::uint64_t hash) noexcept {
        return test_and_insert(bloom_key::from_hash(hash));
    }
    void insert(std::uint64_t hash) noexcept { (void)test_and_insert(hash); }

    void prefetch(const bloom_key& k) const noexcept { __builtin_prefetch(block_ptr(k)); }

    std::uint64_t n_blocks() const noexcept { return n_blocks_; }
    std::size_t word_count() const noexcept { return n_blocks_ * k_words_per_block; }
    // Bytes of filter words (the object itself adds sizeof(block_bloom)).
    std::size_t memory_bytes() const noexcept { return n_blocks_ * k_bytes_per_block; }
    std::uint64_t bit_count() const noexcept { return n_blocks_ * k_bits_per_block; }
    // Number of set bits; O(size).
    std::uint64_t popcount() const noexcept;

    // Raw words for snapshots. Reading while others insert gives a fuzzy copy (each word atomic).
    std::span<const std::atomic<std::uint64_t>> words() const noexcept {
        return {words_, word_count()};
    }
    void copy_words(std::span<std::uint64_t> out) const noexcept;
    // Overwrites the words; `in` must hold word_count() words. Needs exclusive access.
    bool load_words(std::span<const std::uint64_t> in) noexcept;
    void clear() noexcept;

  private:
    // Shifts each word right by its bit position and ANDs the low bits: one shift per word
    // instead of building eight masks, unrolled.
    template <std::size_t... I>
    static bool block_has(const std::atomic<std::uint64_t>* b, std::uint64_t bits,
                          std::index_sequence<I...>) noexcept {
        const std::uint64_t all =
            ((b[I].load(std::memory_order_relaxed) >> ((bits >> (6 * I)) & 63)) & ...);
        return (all & 1) != 0;
    }

    std::atomic<std::uint64_t>* words_ = nullptr;
    std::uint64_t n_blocks_ = 0;
};

}  // namespace mg::cardinality
