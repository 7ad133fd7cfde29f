#include "cardinality/block_bloom.h"

#include <math.h>
#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <utility>

namespace mg::cardinality {
namespace {

constexpr std::size_t k_huge_page = std::size_t{2} << 20;
// Filters this large get 2 MiB-aligned memory with MADV_HUGEPAGE: a random probe into a
// multi-megabyte filter otherwise costs a TLB miss on most lookups.
constexpr std::size_t k_huge_threshold = std::size_t{4} << 20;

std::atomic<std::uint64_t>* allocate_words(std::size_t bytes) {
    void* p = nullptr;
    if (bytes >= k_huge_threshold) {
        const std::size_t rounded = (bytes + k_huge_page - 1) / k_huge_page * k_huge_page;
        p = std::aligned_alloc(k_huge_page, rounded);
        if (p != nullptr) (void)::madvise(p, rounded, MADV_HUGEPAGE);
    } else {
        p = std::aligned_alloc(block_bloom::k_bytes_per_block, bytes);
    }
    if (p == nullptr) throw std::bad_alloc();
    std::memset(p, 0, bytes);
    static_assert(sizeof(std::atomic<std::uint64_t>) == sizeof(std::uint64_t));
    static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
    return static_cast<std::atomic<std::uint64_t>*>(p);
}

// log of the Poisson(lambda) probability of j. lgamma_r, not std::lgamma: glibc's lgamma also
// writes the process-wide `signgam`, a data race when two threads size trackers at once
// (ThreadSanitizer stopped a daemon on it while two ingest threads created trackers).
double log_poisson(double lambda, double j) {
    int sign = 0;
    return j * std::log(lambda) - lambda - ::lgamma_r(j + 1, &sign);
}

// False-positive probability of one block holding j items: each of the 8 probed bits is set.
double block_fp(double j) {
    const double unset = std::pow(1.0 - 1.0 / 64.0, j);
    return std::pow(1.0 - unset, 8.0);
}

}  // namespace

block_bloom::block_bloom(std::uint64_t n_blocks)
    : n_blocks_(std::clamp<std::uint64_t>(n_blocks, 1, k_max_blocks)) {
    words_ = allocate_words(memory_bytes());
}

block_bloom block_bloom::for_capacity(std::uint64_t items, double fp_rate) {
    return block_bloom(blocks_for(items, fp_rate));
}

double block_bloom::fp_rate_for(std::uint64_t n_blocks, std::uint64_t items) {
    if (items == 0) return 0.0;
    if (n_blocks <= 1) return block_fp(static_cast<double>(items));
    // Poisson approximation of the binomial block load; it has the larger spread, so it slightly
    // overestimates the rate for small filters (the safe side).
    const double lambda = static_cast<double>(items) / static_cast<double>(n_blocks);
    const double sd = std::sqrt(lambda);
    const double lo = std::max(0.0, std::floor(lambda - 12 * sd - 10));
    const double hi = std::ceil(lambda + 12 * sd + 40);
    double sum = 0;
    for (double j = lo; j <= hi; j += 1) sum += std::exp(log_poisson(lambda, j)) * block_fp(j);
    return std::min(sum, 1.0);
}

namespace {

// The smallest block count meeting the rate: a binary search over block_bloom::fp_rate_for().
std::uint64_t search_blocks(std::uint64_t items, double fp_rate) {
    if (block_bloom::fp_rate_for(1, items) <= fp_rate) return 1;
    // Upper bound: 64 bits per item is far past any rate this layout can reach in practice.
    std::uint64_t lo = 1, hi = std::max<std::uint64_t>(2, items / 8 + 2);
    while (block_bloom::fp_rate_for(hi, items) > fp_rate && hi < block_bloom::k_max_blocks)
        hi = std::min(hi * 2, block_bloom::k_max_blocks);
    while (hi - lo > 1) {
        const std::uint64_t mid = lo + (hi - lo) / 2;
        if (block_bloom::fp_rate_for(mid, items) <= fp_rate)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

}  // namespace

std::uint64_t block_bloom::blocks_for(std::uint64_t items, double fp_rate) {
    if (items == 0) return 1;
    fp_rate = std::clamp(fp_rate, 1e-15, 0.999);
    // search_blocks() evaluates the Poisson model ~40 times (pow, exp and lgamma per term), and
    // every new tracker asks for the same (items, rate) pairs of the slice schedule: with 1000
    // new metric names that was 4% of a proxy's CPU (docs/benchmarks.md, issue 7). So answers
    // are remembered, in a small map that is emptied when full (rare pairs cannot grow it).
    static std::mutex cache_mu;
    static std::map<std::pair<std::uint64_t, std::uint64_t>, std::uint64_t> cache;
    const auto key = std::pair{items, std::bit_cast<std::uint64_t>(fp_rate)};
    {
        std::lock_guard lock(cache_mu);
        if (const auto it = cache.find(key); it != cache.end()) return it->second;
    }
    const std::uint64_t blocks = search_blocks(items, fp_rate);
    std::lock_guard lock(cache_mu);
    if (cache.size() >= 4096) cache.clear();
    cache.emplace(key, blocks);
    return blocks;
}

block_bloom::block_bloom(block_bloom&& other) noexcept
    : words_(std::exchange(other.words_, nullptr)), n_blocks_(std::exchange(other.n_blocks_, 0)) {}

block_bloom& block_bloom::operator=(block_bloom&& other) noexcept {
    if (this != &other) {
        std::free(words_);
        words_ = std::exchange(other.words_, nullptr);
        n_blocks_ = std::exchange(other.n_blocks_, 0);
    }
    return *this;
}

block_bloom::~block_bloom() {
    std::free(words_);
}

bool block_bloom::test_and_insert(const bloom_key& k) noexcept {
    std::atomic<std::uint64_t>* b = words_ + block_of(k) * k_words_per_block;
    bool present = true;
    for (std::size_t i = 0; i < k_words_per_block; ++i) {
        // Read first: a present bit costs no write and no cache-line ownership transfer.
        if ((b[i].load(std::memory_order_relaxed) & k.masks[i]) == 0) {
            if ((b[i].fetch_or(k.masks[i], std::memory_order_relaxed) & k.masks[i]) == 0)
                present = false;
        }
    }
    return present;
}

std::uint64_t block_bloom::popcount() const noexcept {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < word_count(); ++i)
        n += static_cast<std::uint64_t>(std::popcount(words_[i].load(std::memory_order_relaxed)));
    return n;
}

void block_bloom::copy_words(std::span<std::uint64_t> out) const noexcept {
    const std::size_t n = std::min(out.size(), word_count());
    for (std::size_t i = 0; i < n; ++i) out[i] = words_[i].load(std::memory_order_relaxed);
}

bool block_bloom::load_words(std::span<const std::uint64_t> in) noexcept {
    if (in.size() != word_count()) return false;
    for (std::size_t i = 0; i < in.size(); ++i) words_[i].store(in[i], std::memory_order_relaxed);
    return true;
}

void block_bloom::clear() noexcept {
    for (std::size_t i = 0; i < word_count(); ++i) words_[i].store(0, std::memory_order_relaxed);
}

}  // namespace mg::cardinality
