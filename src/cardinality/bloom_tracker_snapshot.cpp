// bloom_tracker's snapshot and restore: the plain data the persistence module serializes, and a
// tracker rebuilt from it with the downtime applied to its generations (see bloom_tracker.h).
#include <algorithm>
#include <limits>
#include <mutex>
#include <string>

#include "cardinality/bloom_tracker.h"
#include "common/saturating.h"

namespace mg::cardinality {
namespace {

// Restore: a generation's count beyond this is a damaged file (no filter holds 2^50 series), and
// 64 generations of it cannot overflow the total. snapshot() clamps to the same bound: a tracker
// restored from a file near it can step past it, and its own save must still load.
constexpr std::int64_t k_max_restored_count = std::int64_t{1} << 50;

}  // namespace

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
        gs.latest_count = std::clamp(g.latest.load(std::memory_order_relaxed),
                                     -k_max_restored_count, k_max_restored_count);
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
        // A count may be negative: a false positive on an older generation refreshes a series
        // that was never counted there (observe_locked), and the snapshot records that as is.
        // The bound only keeps the sum below from overflowing.
        if (gs.latest_count > k_max_restored_count || gs.latest_count < -k_max_restored_count)
            return make_error("tracker snapshot generation " + std::to_string(i) +
                              ": impossible count " + std::to_string(gs.latest_count));
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
    // As rotate_to() does: a negative total can only come from false positives.
    t->total_.store(std::max<std::int64_t>(total, 0), std::memory_order_relaxed);

    // The times come from a file: saturate rather than overflow. Anything past the whole window
    // plus a period rotates every generation out, so elapsed time is capped there.
    const std::int64_t taken_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(snap.taken_at.time_since_epoch())
            .count();
    const std::int64_t wall_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock.wall_now().time_since_epoch())
            .count();
    const std::int64_t downtime = std::max<std::int64_t>(0, saturating_sub(wall_ns, taken_ns));
    const std::int64_t cap = std::min(saturating_add(snap.config.window.count(), t->period_ns_),
                                      std::numeric_limits<std::int64_t>::max() / 4);
    const std::int64_t elapsed =
        std::min(saturating_add(snap.generations[0].age.count(), downtime), cap);
    const std::int64_t now = ns(clock.monotonic_now());
    const std::int64_t start = now - elapsed;
    t->current_start_ns_.store(start, std::memory_order_relaxed);
    t->next_rotation_ns_.store(start + t->period_ns_, std::memory_order_relaxed);
    t->advance();
    t->dirty_.store(false, std::memory_order_relaxed);
    return t;
}

}  // namespace mg::cardinality
