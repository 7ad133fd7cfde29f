#include "cardinality/bloom_tracker.h"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
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

bloom_tracker::bloom_tracker(const tracker_config& config, mg::clock& clock)
    : config_(config), clock_(clock) {
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

observe_result bloom_tracker::observe_locked(const bloom_key& k, std::uint64_t limit,
                                             bool& mutated, bool prefetched) {
    const std::uint32_t n = config_.generations;
    const std::uint32_t cur = current_.load(std::memory_order_relaxed);
    generation& current = gens_[cur];
    // Start the cache misses of every slice of every generation together; the tests below then
    // find small slices in cache and overlap the large ones' misses.
    if (!prefetched) prefetch_locked(k, cur);

    if (current.filter.test(k)) return observe_result::known;  // the common case: no write
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

void bloom_tracker::observe_batch(std::span<const std::uint64_t> series, std::span<const std::uint64_t> limits,
                                  std::span<observe_result> out, time_point now) {
    observe_batch(series, limits, UINT64_MAX, out, now);
}

void bloom_tracker::observe_batch(std::span<const std::uint64_t> series, std::span<const std::uint64_t> limits,
                                  std::uint64_t limit, std::span<observe_result> out, time_point now) {
    maybe_rotate(now);
    // Far enough ahead to cover a DRAM miss, few enough that the prefetches fit the core's
    // line-fill buffers.
    constexpr std::size_t k_ahead = 16;
    const std::size_t n = std::min(series.size(), out.size());
    bloom_key ring[k_ahead];
    bool mutated = false;
    {
        read_guard g(*this);
        const std::uint32_t cur = current_.load(std::memory_order_relaxed);
        // Only the current generation's two largest slices: that is where a known series is
        // found, and more prefetches than the core has line-fill buffers just queue up.
        auto prefetch_all = [&](const bloom_key& k) { gens_[cur].filter.prefetch(k, 2); };
        for (std::size_t i = 0; i < std::min(n, k_ahead); ++i) {
            ring[i] = bloom_key::from_hash(series[i]);
            prefetch_all(ring[i]);
        }
        for (std::size_t i = 0; i < n; ++i) {
            const bloom_key k = ring[i % k_ahead];
            if (i + k_ahead < n) {
                ring[i % k_ahead] = bloom_key::from_hash(series[i + k_ahead]);
                prefetch_all(ring[i % k_ahead]);
            }
            out[i] = observe_locked(k, limits.empty() ? limit : limits[i], mutated, true);
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

tracker_snapshot bloom_tracker::snapshot() const {
    // rotate_mu_ keeps slices from being freed while they are copied; inserts go on.
    std::lock_guard lk(rotate_mu_);
    tracker_snapshot snap;
    snap.config = config_;
    snap.taken_at = clock_.wall_now();
    const std::int64_t now_ns = ns(clock_.monotonic_now());
    const std::uint32_t n = config_.generations;
    const std::uint32_t cur = current_.load(std::memory_order_relaxed);
    const std::int64_t start = current_start_ns_.load(std::memory_order_relaxed);
    snap.generations.resize(n);
    for (std::uint32_t i = 0; i < n; ++i) {
        const generation& g = gens_[(cur + n - i) % n];
        generation_snapshot& gs = snap.generations[i];
        gs.age =
            std::chrono::nanoseconds{std::max<std::int64_t>(0, now_ns - start) + i * period_ns_};
        gs.latest_count = g.latest.load(std::memory_order_relaxed);
        g.filter.for_each_slice([&](const scalable_bloom::slice_view& v) {
            slice_snapshot ss;
            ss.geometry = v.geometry;
            ss.items = v.items;
            ss.words.resize(v.filter.word_count());
            v.filter.copy_words(ss.words);
            gs.slices.push_back(std::move(ss));
        });
    }
    return snap;
}

result<std::unique_ptr<bloom_tracker>> bloom_tracker::restore(const tracker_snapshot& snap,
                                                              mg::clock& clock) {
    if (snap.format != tracker_snapshot::k_format)
        return make_error("tracker snapshot format " + std::to_string(snap.format) + ", expected " +
                          std::to_string(tracker_snapshot::k_format));
    if (auto st = snap.config.validate(); !st)
        return make_error("tracker snapshot config: " + st.error_message());
    const std::uint32_t n = snap.config.generations;
    if (snap.generations.size() != n)
        return make_error("tracker snapshot has " + std::to_string(snap.generations.size()) +
                          " generations, config says " + std::to_string(n));
    for (std::uint32_t i = 0; i < n; ++i) {
        const auto& gs = snap.generations[i];
        if (gs.age.count() < 0 || (i > 0 && gs.age < snap.generations[i - 1].age))
            return make_error("tracker snapshot generation " + std::to_string(i) + ": bad age");
        if (gs.latest_count < 0)
            return make_error("tracker snapshot generation " + std::to_string(i) +
                              ": negative count");
    }

    auto t = std::make_unique<bloom_tracker>(snap.config, clock);
    std::int64_t total = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
        const auto& gs = snap.generations[i];
        generation& g = t->gens_[(n - i) % n];  // current_ is 0
        for (const auto& ss : gs.slices) {
            if (auto st = g.filter.restore_slice(ss.geometry, ss.items, ss.words); !st)
                return make_error("tracker snapshot generation " + std::to_string(i) + ": " +
                                  st.error_message());
        }
        g.latest.store(gs.latest_count, std::memory_order_relaxed);
        total += gs.latest_count;
    }
    t->total_.store(total, std::memory_order_relaxed);

    const auto wall_gap = clock.wall_now() - snap.taken_at;
    const std::int64_t downtime = std::max<std::int64_t>(
        0, std::chrono::duration_cast<std::chrono::nanoseconds>(wall_gap).count());
    const std::int64_t now = ns(clock.monotonic_now());
    const std::int64_t start = now - snap.generations[0].age.count() - downtime;
    t->current_start_ns_.store(start, std::memory_order_relaxed);
    t->next_rotation_ns_.store(start + t->period_ns_, std::memory_order_relaxed);
    t->advance();
    t->dirty_.store(false, std::memory_order_relaxed);
    return t;
}

}  // namespace mg::cardinality
