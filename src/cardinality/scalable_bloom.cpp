#include "cardinality/scalable_bloom.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace mg::cardinality {

namespace {

// A tiny configured rate (any positive number is valid) must not underflow to 0 in a slice:
// restore_slice() refuses a zero rate, so the tracker's own snapshot would not load back.
double positive_rate(double r) {
    return std::max(r, std::numeric_limits<double>::min());
}

// The rate budget P: 70% for the large planned slices (in proportion to capacity), at most 10%
// for the small first ones, 20% for all overflow slices together. Why 70/10/20: a tracker sized
// right never grows, yet paid for the growth reserve on every series; 60/10/30 cost 0.35 bit per
// series more (12.1 instead of 11.7 at P = 1%, E = 100000). Going further (80/10/10: 11.4) would
// make a tracker grown to 10x its expected items 20% bigger instead of 7% (docs/benchmarks.md).
constexpr double k_planned_share = 0.7;
constexpr double k_overflow_share = 0.2;

}  // namespace

scalable_bloom::scalable_bloom(std::uint64_t expected_items, double fp_rate)
    : expected_(std::max<std::uint64_t>(1, expected_items)), fp_rate_(fp_rate) {}

scalable_bloom::~scalable_bloom() {
    clear();
}

slice_geometry scalable_bloom::geometry(std::uint64_t expected, double p, std::size_t index) {
    expected = std::max<std::uint64_t>(1, expected);
    const double e = static_cast<double>(expected);
    std::uint64_t cum = 0;
    std::uint64_t cap = k_first_capacity;
    for (std::size_t i = 0;; ++i) {
        // Last planned slice: taking the next x8 step would overshoot E, so this one takes the
        // rest.
        const bool last = cum + cap + cap * 8 > expected;
        const std::uint64_t c = last ? expected - cum : cap;
        if (i == index) {
            const double share = std::max(k_planned_share * static_cast<double>(c) / e,
                                          0.1 * std::ldexp(1.0, -static_cast<int>(i + 1)));
            const double rate = positive_rate(p * share);
            return {c, block_bloom::blocks_for(c, rate), rate};
        }
        cum += c;
        if (last) {
            // Overflow slices j = 1, 2, ...: capacity E * 2^j, rate k_overflow_share * P * 2^-j.
            const std::size_t j = index - i;
            const double c_over = std::min(e * std::ldexp(1.0, static_cast<int>(j)), 1e15);
            const auto c_o = static_cast<std::uint64_t>(c_over);
            const double rate =
                positive_rate(p * k_overflow_share * std::ldexp(1.0, -static_cast<int>(j)));
            return {c_o, block_bloom::blocks_for(c_o, rate), rate};
        }
        cap *= 8;
    }
}

bool scalable_bloom::test_and_insert(const bloom_key& k) {
    if (test(k)) return true;
    return insert_absent(k);
}

bool scalable_bloom::insert_absent(const bloom_key& k) {
    slice* s = head_.load(std::memory_order_acquire);
    if (s == nullptr) s = grow(nullptr);
    // A full head is replaced before inserting. Threads that find it full while another one is
    // growing wait for the new slice instead of overfilling the old one: a small slice overfilled
    // by a burst would turn into a false-positive machine.
    while (s->items.load(std::memory_order_relaxed) >= s->geo.capacity &&
           s->index + 1 < k_max_slices)
        s = grow(s);
    if (s->filter.test_and_insert(k)) return true;
    s->mark(s->filter.block_of(k));
    s->items.fetch_add(1, std::memory_order_relaxed);
    return false;
}

scalable_bloom::slice* scalable_bloom::grow(slice* full) {
    for (;;) {
        slice* h = head_.load(std::memory_order_acquire);
        if (h != full) return h;  // someone else already grew it
        if (!growing_.exchange(true, std::memory_order_acquire)) break;
        std::this_thread::yield();
    }
    slice* h = head_.load(std::memory_order_acquire);
    if (h == full) {
        const std::uint32_t index = h == nullptr ? 0 : h->index + 1;
        auto* s = new slice(geometry(expected_, fp_rate_, index), index, h);
        memory_.fetch_add(s->bytes(), std::memory_order_relaxed);
        head_.store(s, std::memory_order_release);
        h = s;
    }
    growing_.store(false, std::memory_order_release);
    return h;
}

std::size_t scalable_bloom::slice_count() const noexcept {
    const slice* h = head_.load(std::memory_order_acquire);
    return h == nullptr ? 0 : h->index + 1;
}

std::uint64_t scalable_bloom::items() const noexcept {
    std::uint64_t n = 0;
    for (const slice* s = head_.load(std::memory_order_acquire); s != nullptr; s = s->older)
        n += s->items.load(std::memory_order_relaxed);
    return n;
}

void scalable_bloom::for_each_slice(const std::function<void(const slice_view&)>& fn) const {
    std::vector<const slice*> order;
    for (const slice* s = head_.load(std::memory_order_acquire); s != nullptr; s = s->older)
        order.push_back(s);
    for (auto it = order.rbegin(); it != order.rend(); ++it)
        fn(slice_view{(*it)->geo, (*it)->items.load(std::memory_order_relaxed), (*it)->filter});
}

void scalable_bloom::take_changes(
    const std::function<void(const slice_view&, std::span<const std::uint64_t>)>& fn) {
    std::vector<slice*> order;
    for (slice* s = head_.load(std::memory_order_acquire); s != nullptr; s = s->older)
        order.push_back(s);
    std::vector<std::uint64_t> taken;
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        slice* s = *it;
        taken.resize(s->mark_words);
        for (std::uint64_t i = 0; i < s->mark_words; ++i)
            taken[i] = s->marks[i].load(std::memory_order_relaxed) == 0
                           ? 0
                           : s->marks[i].exchange(0, std::memory_order_acquire);
        fn(slice_view{s->geo, s->items.load(std::memory_order_relaxed), s->filter}, taken);
    }
}

void scalable_bloom::clear() noexcept {
    slice* s = head_.exchange(nullptr, std::memory_order_acq_rel);
    while (s != nullptr) {
        slice* older = s->older;
        delete s;
        s = older;
    }
    memory_.store(0, std::memory_order_relaxed);
}

void scalable_bloom::reshape(std::uint64_t expected_items, double fp_rate) noexcept {
    clear();
    expected_ = std::max<std::uint64_t>(1, expected_items);
    fp_rate_ = fp_rate;
}

status scalable_bloom::restore_slice(const slice_geometry& geo, std::uint64_t items,
                                     std::span<const std::uint64_t> words) {
    slice* h = head_.load(std::memory_order_relaxed);
    const std::uint32_t index = h == nullptr ? 0 : h->index + 1;
    if (index >= k_max_slices)
        return make_error("too many slices: more than " + std::to_string(k_max_slices));
    if (geo.n_blocks == 0 || geo.n_blocks > block_bloom::k_max_blocks)
        return make_error("slice " + std::to_string(index) + ": bad block count " +
                          std::to_string(geo.n_blocks));
    if (words.size() != geo.n_blocks * block_bloom::k_words_per_block)
        return make_error("slice " + std::to_string(index) + ": " + std::to_string(words.size()) +
                          " words for " + std::to_string(geo.n_blocks) + " blocks");
    if (geo.capacity == 0 || !(geo.fp_rate > 0 && geo.fp_rate < 1))
        return make_error("slice " + std::to_string(index) + ": bad capacity or rate");
    auto* s = new slice(geo, index, h);
    (void)s->filter.load_words(words);
    s->items.store(items, std::memory_order_relaxed);
    memory_.fetch_add(s->bytes(), std::memory_order_relaxed);
    head_.store(s, std::memory_order_release);
    return status::success();
}

}  // namespace mg::cardinality
