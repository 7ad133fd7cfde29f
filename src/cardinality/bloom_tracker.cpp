// bloom_tracker: lookups, inserts, rotation and the reader/rotator handshake (see
// bloom_tracker.h); snapshot and restore are in bloom_tracker_snapshot.cpp.
#include "cardinality/bloom_tracker.h"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>

namespace mg::cardinality {
namespace {

// Reader announcement slots, shared by every tracker of the process. A thread claims one slot on
// its first lookup and keeps it until it exits. While inside a lookup it stores the tracker's
// address there; a rotation of that tracker sets rotating_ and waits until no slot holds its
// address (Dekker: each side stores, fences, then loads the other's flag). The fence is
// asymmetric where Linux membarrier(PRIVATE_EXPEDITED) is available: readers pay only a compiler
// barrier and the rare rotation pays the syscall (~1 us) that makes every running thread of the
// process execute a full barrier; elsewhere both sides use seq_cst fences. Threads beyond
// k_reader_slots fall back to a per-tracker counter (correct, just contended).
constexpr std::size_t k_reader_slots = 256;

struct alignas(64) reader_slot {
    std::atomic<const void*> active{nullptr};
    std::atomic<bool> owned{false};
};

reader_slot g_slots[k_reader_slots];

struct slot_holder {
    reader_slot* slot = nullptr;
    bool tried = false;

    reader_slot* get() {
        if (!tried) {
            tried = true;
            for (auto& s : g_slots) {
                bool expected = false;
                if (!s.owned.load(std::memory_order_relaxed) &&
                    s.owned.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
                    slot = &s;
                    break;
                }
            }
        }
        return slot;
    }
    ~slot_holder() {
        if (slot != nullptr) slot->owned.store(false, std::memory_order_release);
    }
};

thread_local slot_holder t_slot;

// ThreadSanitizer cannot see the ordering that fences and membarrier give the reader/rotator
// handshake (and GCC refuses atomic_thread_fence under it). In a TSan build the handshake is the
// plain Dekker form instead, a seq_cst store then a seq_cst load on both sides, which is correct
// by the C++ memory model alone and which TSan checks. Production builds keep the cheap readers.
#if defined(__SANITIZE_THREAD__)
#define MG_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MG_TSAN 1
#endif
#endif
#ifdef MG_TSAN
constexpr auto k_slot_store = std::memory_order_seq_cst;
constexpr auto k_flag_load = std::memory_order_seq_cst;
constexpr auto k_flag_store = std::memory_order_seq_cst;
#else
constexpr auto k_slot_store = std::memory_order_relaxed;
constexpr auto k_flag_load = std::memory_order_acquire;
constexpr auto k_flag_store = std::memory_order_relaxed;
#endif

#ifndef MG_TSAN
bool asymmetric_fences() {
    static const bool ok =
        syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
    return ok;
}
#endif

// Reader side: cheap. Orders the slot store before the rotating_ load.
inline void light_fence() {
#ifndef MG_TSAN
    if (asymmetric_fences())
        std::atomic_signal_fence(std::memory_order_seq_cst);
    else
        std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

// Writer side: a full barrier on every thread of the process that is running right now.
void heavy_fence() {
#ifndef MG_TSAN
    if (!asymmetric_fences() ||
        syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0)
        std::atomic_thread_fence(std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

constexpr std::int64_t k_touch_resolution_ns = 1'000'000'000;

// Striped spinlocks, shared by every tracker, taken only on the mutating paths (new series,
// refresh) and keyed by the series hash: two threads inserting the same series serialize, and
// the second one finds it present, so a series is never counted twice. Threads inserting
// different series almost never meet on a stripe.
constexpr std::size_t k_stripes = 512;

struct alignas(64) stripe {
    std::atomic<bool> locked{false};
};

stripe g_stripes[k_stripes];

class stripe_lock {
  public:
    explicit stripe_lock(std::uint64_t key) : s_(g_stripes[(key >> 23) % k_stripes]) {
        while (s_.locked.exchange(true, std::memory_order_acquire)) {
            while (s_.locked.load(std::memory_order_relaxed)) std::this_thread::yield();
        }
    }
    ~stripe_lock() { s_.locked.store(false, std::memory_order_release); }
    stripe_lock(const stripe_lock&) = delete;
    stripe_lock& operator=(const stripe_lock&) = delete;

  private:
    stripe& s_;
};

// Pass 1 of observe_batch: out[i] = known for each series found in the given slices of the
// current generation (newest first), k_unresolved otherwise; returns the number left unresolved.
// Each lookup is one random cache line per slice probed, a DRAM (and, in a VM, nested TLB) miss
// once a filter is past a few MiB, so software prefetching k_ahead series ahead overlaps them.
// Only the newest slice is prefetched for every series: it holds nearly all the items of a
// tracker sized for its load. The few series it does not hold are collected per chunk and probed
// in the older slices in a second loop with its own prefetching (up to k_older_prefetch slices
// each: a grown tracker spreads its items over its newest few), so they do not stall either.
constexpr auto k_unresolved = static_cast<observe_result>(0xff);

[[gnu::always_inline]] inline std::size_t probe_current_impl(const scalable_bloom::probe_slice* sl,
                                                             std::size_t n_slices,
                                                             const std::uint64_t* series,
                                                             std::size_t n, observe_result* out) {
    constexpr std::size_t k_ahead = 16;
    constexpr std::size_t k_chunk = 256;
    constexpr std::size_t k_older_prefetch = 3;
    const std::atomic<std::uint64_t>* const head = sl[0].words;
    const std::uint64_t head_blocks = sl[0].n_blocks;
    auto in_head = [&](std::uint64_t h) { return block_bloom::block_at(head, head_blocks, h); };
    const std::size_t older_prefetch = std::min(n_slices - 1, k_older_prefetch);
    auto prefetch_older = [&](std::uint64_t h) {
        for (std::size_t j = 1; j <= older_prefetch; ++j)
            __builtin_prefetch(block_bloom::block_at(sl[j].words, sl[j].n_blocks, h));
    };
    std::uint32_t missed[k_chunk];
    std::size_t left = 0;
    for (std::size_t i = 0; i < std::min(n, k_ahead); ++i) __builtin_prefetch(in_head(series[i]));
    for (std::size_t begin = 0; begin < n; begin += k_chunk) {
        const std::size_t end = std::min(n, begin + k_chunk);
        std::size_t m = 0;
        for (std::size_t i = begin; i < end; ++i) {
            if (i + k_ahead < n) __builtin_prefetch(in_head(series[i + k_ahead]));
            const std::uint64_t h = series[i];
            const bool found = block_bloom::block_has(in_head(h), bloom_key::bit_positions(h));
            out[i] = found ? observe_result::known : k_unresolved;
            if (!found) missed[m++] = static_cast<std::uint32_t>(i);
        }
        if (n_slices == 1) {
            left += m;
            continue;
        }
        for (std::size_t k = 0; k < std::min(m, k_ahead); ++k) prefetch_older(series[missed[k]]);
        for (std::size_t k = 0; k < m; ++k) {
            if (k + k_ahead < m) prefetch_older(series[missed[k + k_ahead]]);
            const std::uint64_t h = series[missed[k]];
            const std::uint64_t bits = bloom_key::bit_positions(h);
            bool found = false;
            for (std::size_t j = 1; j < n_slices && !found; ++j)
                found = block_bloom::block_has(
                    block_bloom::block_at(sl[j].words, sl[j].n_blocks, h), bits);
            if (found)
                out[missed[k]] = observe_result::known;
            else
                ++left;
        }
    }
    return left;
}

// The probe is mostly variable shifts: with BMI2 (shrx, one micro-op, no flags) it is about a
// quarter faster than the baseline x86-64 shr-by-cl, so it is compiled both ways and chosen
// once at run time.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
[[gnu::target("bmi2")]] std::size_t probe_current_bmi2(const scalable_bloom::probe_slice* sl,
                                                       std::size_t n_slices,
                                                       const std::uint64_t* series, std::size_t n,
                                                       observe_result* out) {
    return probe_current_impl(sl, n_slices, series, n, out);
}
#endif

std::size_t probe_current(const scalable_bloom::probe_slice* sl, std::size_t n_slices,
                          const std::uint64_t* series, std::size_t n, observe_result* out) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    static const bool bmi2 = __builtin_cpu_supports("bmi2");
    if (bmi2) return probe_current_bmi2(sl, n_slices, series, n, out);
#endif
    return probe_current_impl(sl, n_slices, series, n, out);
}

}  // namespace

class bloom_tracker::read_guard {
  public:
    explicit read_guard(const bloom_tracker& t) : t_(t), slot_(t_slot.get()) {
        for (;;) {
            if (slot_ != nullptr) {
                slot_->active.store(&t_, k_slot_store);
                light_fence();
            } else {
                t_.overflow_readers_.fetch_add(1, std::memory_order_seq_cst);
            }
            if (!t_.rotating_.load(k_flag_load)) return;
            leave();
            while (t_.rotating_.load(std::memory_order_acquire)) std::this_thread::yield();
        }
    }
    ~read_guard() { leave(); }
    read_guard(const read_guard&) = delete;
    read_guard& operator=(const read_guard&) = delete;

  private:
    void leave() {
        if (slot_ != nullptr)
            slot_->active.store(nullptr, std::memory_order_release);
        else
            t_.overflow_readers_.fetch_sub(1, std::memory_order_release);
    }
    const bloom_tracker& t_;
    reader_slot* slot_;
};

status tracker_config::validate() const {
    std::string problems;
    auto add = [&](const std::string& p) {
        if (!problems.empty()) problems += '\n';
        problems += p;
    };
    if (expected_items < 1 || expected_items > (std::uint64_t{1} << 40))
        add("cardinality expected items must be between 1 and 2^40, got " +
            std::to_string(expected_items));
    if (!(fp_rate > 0 && fp_rate <= 0.5))
        add("cardinality fp rate must be in (0, 0.5], got " + std::to_string(fp_rate));
    if (generations < 1 || generations > k_max_generations)
        add("cardinality generations must be between 1 and " + std::to_string(k_max_generations) +
            ", got " + std::to_string(generations));
    else if (window.count() <= 0 || window / generations < std::chrono::microseconds(1))
        add("cardinality window must be positive and at least 1us per generation");
    if (problems.empty()) return status::success();
    return make_error(std::move(problems));
}

namespace {
std::atomic<std::uint64_t> g_next_instance{1};
}  // namespace

bloom_tracker::bloom_tracker(const tracker_config& config, mg::clock& clock)
    : config_(config),
      clock_(clock),
      instance_id_(g_next_instance.fetch_add(1, std::memory_order_relaxed)) {
    if (auto st = config.validate(); !st) throw std::invalid_argument(st.error_message());
    period_ns_ = config_.period().count();
    gens_ = std::make_unique<generation[]>(config_.generations);
    for (std::uint32_t i = 0; i < config_.generations; ++i)
        gens_[i].filter.reshape(config_.expected_items, config_.fp_rate / config_.generations);
    const std::int64_t now = ns(clock_.monotonic_now());
    current_start_ns_.store(now, std::memory_order_relaxed);
    next_rotation_ns_.store(now + period_ns_, std::memory_order_relaxed);
    last_seen_ns_.store(now, std::memory_order_relaxed);
    last_updated_ns_.store(now, std::memory_order_relaxed);
}

bloom_tracker::~bloom_tracker() = default;

void bloom_tracker::wait_for_readers() const {
    heavy_fence();  // pairs with light_fence() in read_guard: rotating_ = true is now visible
    for (auto& s : g_slots)
        while (s.active.load(k_flag_load) == this) std::this_thread::yield();
    while (overflow_readers_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
}

void bloom_tracker::rotate_to(time_point now) {
    std::lock_guard lk(rotate_mu_);
    const std::int64_t now_ns = ns(now);
    const std::int64_t start = current_start_ns_.load(std::memory_order_relaxed);
    if (now_ns < start + period_ns_) return;  // another thread rotated first
    const std::uint64_t periods = static_cast<std::uint64_t>((now_ns - start) / period_ns_);
    const std::uint32_t n = config_.generations;

    rotating_.store(true, k_flag_store);
    wait_for_readers();
    std::uint32_t cur = current_.load(std::memory_order_relaxed);
    bool dropped = false;
    const std::uint64_t steps = std::min<std::uint64_t>(periods, n);
    for (std::uint64_t i = 0; i < steps; ++i) {
        cur = (cur + 1) % n;
        generation& g = gens_[cur];
        const std::int64_t expired = g.latest.exchange(0, std::memory_order_relaxed);
        if (expired != 0 || !g.filter.empty()) dropped = true;
        total_.fetch_sub(expired, std::memory_order_relaxed);
        g.filter.clear();
    }
    epoch_.fetch_add(steps, std::memory_order_release);
    // A negative count can only come from a false positive on an older generation; clamp.
    if (total_.load(std::memory_order_relaxed) < 0 || steps == n)
        total_.store(0, std::memory_order_relaxed);
    current_.store(cur, std::memory_order_relaxed);
    const std::int64_t new_start = start + static_cast<std::int64_t>(periods) * period_ns_;
    current_start_ns_.store(new_start, std::memory_order_relaxed);
    next_rotation_ns_.store(new_start + period_ns_, std::memory_order_release);
    rotating_.store(false, std::memory_order_release);
    if (dropped) {
        last_updated_ns_.store(now_ns, std::memory_order_relaxed);
        dirty_.store(true, std::memory_order_release);
    }
}

std::uint32_t bloom_tracker::lagging(std::int64_t now_ns) const {
    const std::int64_t start = current_start_ns_.load(std::memory_order_relaxed);
    if (now_ns < start + period_ns_) return 0;
    const auto periods = static_cast<std::uint64_t>((now_ns - start) / period_ns_);
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(periods, config_.generations));
}

void bloom_tracker::touch(std::int64_t now_ns, bool mutated) {
    if (now_ns - last_seen_ns_.load(std::memory_order_relaxed) >= k_touch_resolution_ns)
        last_seen_ns_.store(now_ns, std::memory_order_relaxed);
    if (mutated) {
        if (now_ns - last_updated_ns_.load(std::memory_order_relaxed) >= k_touch_resolution_ns)
            last_updated_ns_.store(now_ns, std::memory_order_relaxed);
        // Release: the saver's take_dirty() (acquire) then sees the words written before this.
        dirty_.store(true, std::memory_order_release);
    }
}

observe_result bloom_tracker::observe_locked(const bloom_key& k, std::uint64_t limit, bool& mutated,
                                             bool batched) {
    const std::uint32_t n = config_.generations;
    const std::uint32_t cur = current_.load(std::memory_order_relaxed);
    generation& current = gens_[cur];
    if (!batched) {
        // Start the cache misses of every slice of every generation together; the tests below
        // then find small slices in cache and overlap the large ones' misses.
        prefetch_locked(k, cur);
        if (current.filter.test(k)) return observe_result::known;  // the common case: no write
    }
    std::uint32_t found = 0;  // generations back from the current one
    for (std::uint32_t i = 1, g = prev(cur); i < n; ++i, g = prev(g)) {
        if (gens_[g].filter.test(k)) {
            found = i;
            break;
        }
    }

    // Mutating paths: serialize on the series' stripe and re-check the current generation, so
    // a series raced by two threads is refreshed or counted once.
    stripe_lock lock(k.block_hash);
    if (current.filter.test(k)) return observe_result::known;
    if (found != 0) {
        mutated = true;
        (void)current.filter.insert_absent(k);
        gens_[(cur + n - found) % n].latest.fetch_sub(1, std::memory_order_relaxed);  // rare path
        current.latest.fetch_add(1, std::memory_order_relaxed);
        return observe_result::refreshed;
    }
    // New: reserve a place under the limit first, so concurrent admissions never exceed it.
    std::int64_t t = total_.load(std::memory_order_relaxed);
    do {
        if (t >= 0 && static_cast<std::uint64_t>(t) >= limit) return observe_result::over_limit;
    } while (!total_.compare_exchange_weak(t, t + 1, std::memory_order_relaxed));
    mutated = true;
    (void)current.filter.insert_absent(k);
    current.latest.fetch_add(1, std::memory_order_relaxed);
    return observe_result::admitted;
}

void bloom_tracker::prefetch_locked(const bloom_key& k, std::uint32_t cur) const {
    const std::uint32_t n = config_.generations;
    for (std::uint32_t i = 0, g = cur; i < n; ++i, g = prev(g)) gens_[g].filter.prefetch(k);
}

observe_result bloom_tracker::observe(std::uint64_t series, std::uint64_t limit) {
    return observe(series, limit, clock_.monotonic_now());
}

observe_result bloom_tracker::observe(std::uint64_t series, std::uint64_t limit, time_point now) {
    maybe_rotate(now);
    const bloom_key k = bloom_key::from_hash(series);
    observe_result r;
    bool mutated = false;
    {
        read_guard g(*this);
        r = observe_locked(k, limit, mutated, false);
    }
    touch(ns(now), mutated);
    return r;
}

void bloom_tracker::observe_batch(std::span<const std::uint64_t> series, std::uint64_t limit,
                                  std::span<observe_result> out) {
    observe_batch(series, {}, limit, out, clock_.monotonic_now());
}

void bloom_tracker::observe_batch(std::span<const std::uint64_t> series,
                                  std::span<const std::uint64_t> limits,
                                  std::span<observe_result> out, time_point now) {
    observe_batch(series, limits, UINT64_MAX, out, now);
}

void bloom_tracker::observe_batch(std::span<const std::uint64_t> series,
                                  std::span<const std::uint64_t> limits, std::uint64_t limit,
                                  std::span<observe_result> out, time_point now) {
    maybe_rotate(now);
    const std::size_t n = std::min(series.size(), out.size());
    bool mutated = false;
    {
        read_guard g(*this);
        const std::uint32_t cur = current_.load(std::memory_order_relaxed);
        // Pass 1 answers the known series (the steady state) from a copy of the current
        // generation's slice addresses; it writes nothing shared. The copy stays valid under the
        // read guard; a slice another thread adds meanwhile is missing from it, which only leaves
        // a series for pass 2.
        scalable_bloom::probe_slice sl[scalable_bloom::k_max_slices];
        const std::size_t n_slices = gens_[cur].filter.newest_slices(sl);
        std::size_t left = n;
        if (n_slices != 0)
            left = probe_current(sl, n_slices, series.data(), n, out.data());
        else
            std::fill_n(out.data(), n, k_unresolved);
        // Pass 2, in order: everything pass 1 did not find (older generations, new series,
        // series inserted by an earlier entry of this batch) through the full decision. The
        // result is the same as deciding one by one: pass 1 only answers `known`, which inserts
        // made earlier in the batch could not have changed. Pass 1 left the current
        // generation's blocks of these series in cache; the older generations' newest slices
        // (stable: only the current generation grows) are prefetched k_ahead unresolved series
        // ahead, which matters right after a rotation, when every series is a refresh.
        constexpr std::size_t k_ahead = 8;
        const std::uint32_t gens = config_.generations;
        scalable_bloom::probe_slice older[tracker_config::k_max_generations];
        std::size_t n_older = 0;
        for (std::uint32_t i = 1, gi = prev(cur); left != 0 && i < gens; ++i, gi = prev(gi))
            n_older += gens_[gi].filter.newest_slices(std::span(older + n_older, 1));
        std::size_t ahead = 0;
        auto prefetch_next = [&] {
            while (ahead < n && out[ahead] != k_unresolved) ++ahead;
            if (ahead == n) return;
            for (std::size_t j = 0; j < n_older; ++j)
                __builtin_prefetch(
                    block_bloom::block_at(older[j].words, older[j].n_blocks, series[ahead]));
            ++ahead;
        };
        for (std::size_t k = 0; n_older != 0 && k < std::min(left, k_ahead); ++k) prefetch_next();
        for (std::size_t i = 0; i < n && left != 0; ++i) {
            if (out[i] != k_unresolved) continue;
            --left;
            if (n_older != 0) prefetch_next();
            out[i] = observe_locked(bloom_key::from_hash(series[i]),
                                    limits.empty() ? limit : limits[i], mutated, true);
        }
    }
    touch(ns(now), mutated);
}

bool bloom_tracker::test(std::uint64_t series) const {
    const bloom_key k = bloom_key::from_hash(series);
    const std::int64_t now_ns = ns(clock_.monotonic_now());
    read_guard g(*this);
    const std::uint32_t n = config_.generations;
    const std::uint32_t live = n - lagging(now_ns);
    const std::uint32_t cur = current_.load(std::memory_order_relaxed);
    for (std::uint32_t i = 0; i < live; ++i)
        if (gens_[(cur + n - i) % n].filter.test(k)) return true;
    return false;
}

std::uint64_t bloom_tracker::count() const {
    const std::int64_t now_ns = ns(clock_.monotonic_now());
    read_guard g(*this);
    const std::uint32_t n = config_.generations;
    const std::uint32_t live = n - lagging(now_ns);
    const std::uint32_t cur = current_.load(std::memory_order_relaxed);
    std::int64_t total = total_.load(std::memory_order_relaxed);
    for (std::uint32_t i = live; i < n; ++i)
        total -= gens_[(cur + n - i) % n].latest.load(std::memory_order_relaxed);
    return total > 0 ? static_cast<std::uint64_t>(total) : 0;
}

void bloom_tracker::advance() {
    advance(clock_.monotonic_now());
}
void bloom_tracker::advance(time_point now) {
    maybe_rotate(now);
}

std::size_t bloom_tracker::memory_bytes() const {
    std::size_t bytes = sizeof(*this) + sizeof(generation) * config_.generations;
    for (std::uint32_t i = 0; i < config_.generations; ++i) bytes += gens_[i].filter.memory_bytes();
    return bytes;
}

std::size_t bloom_tracker::slice_count() const {
    read_guard g(*this);
    std::size_t n = 0;
    for (std::uint32_t i = 0; i < config_.generations; ++i) n += gens_[i].filter.slice_count();
    return n;
}

std::vector<std::int64_t> bloom_tracker::generation_counts() const {
    read_guard g(*this);
    const std::uint32_t n = config_.generations;
    const std::uint32_t cur = current_.load(std::memory_order_relaxed);
    std::vector<std::int64_t> out(n);
    for (std::uint32_t i = 0; i < n; ++i)
        out[i] = gens_[(cur + n - i) % n].latest.load(std::memory_order_relaxed);
    return out;
}

bloom_tracker::time_point bloom_tracker::last_seen() const {
    return time_point{std::chrono::nanoseconds{last_seen_ns_.load(std::memory_order_relaxed)}};
}
bloom_tracker::time_point bloom_tracker::last_updated() const {
    return time_point{std::chrono::nanoseconds{last_updated_ns_.load(std::memory_order_relaxed)}};
}

}  // namespace mg::cardinality
