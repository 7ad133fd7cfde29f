// bloom_tracker's snapshot and restore: the plain data the persistence module serializes, and a
// tracker rebuilt from it with the downtime applied to its generations (see bloom_tracker.h).
#include <algorithm>
#include <bit>
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
    return copy_state(false);
}

tracker_snapshot bloom_tracker::take_snapshot() {
    return copy_state(true);
}

tracker_snapshot bloom_tracker::copy_state(bool take_marks) const {
    // rotate_mu_ keeps slices from being freed while they are copied; inserts go on.
    std::lock_guard lk(rotate_mu_);
    tracker_snapshot snap;
    snap.epoch = epoch_.load(std::memory_order_relaxed);
    snap.config = config_;
    snap.taken_at = clock_.wall_now();
    const std::int64_t now_ns = ns(clock_.monotonic_now());
    const std::uint32_t n = config_.generations;
    const std::uint32_t cur = current_.load(std::memory_order_relaxed);
    const std::int64_t start = current_start_ns_.load(std::memory_order_relaxed);
    snap.generations.resize(n);
    for (std::uint32_t i = 0; i < n; ++i) {
        // Not const: the current generation's marks are taken (the array's elements are not
        // part of this object's constness).
        generation& g = gens_[(cur + n - i) % n];
        generation_snapshot& gs = snap.generations[i];
        gs.age =
            std::chrono::nanoseconds{std::max<std::int64_t>(0, now_ns - start) + i * period_ns_};
        gs.latest_count = std::clamp(g.latest.load(std::memory_order_relaxed),
                                     -k_max_restored_count, k_max_restored_count);
        auto copy = [&](const scalable_bloom::slice_view& v) {
            slice_snapshot ss;
            ss.geometry = v.geometry;
            ss.items = v.items;
            ss.words.resize(v.filter.word_count());
            v.filter.copy_words(ss.words);
            gs.slices.push_back(std::move(ss));
        };
        // Only the current generation is written to: older ones have no marks left to take.
        if (take_marks && i == 0)
            g.filter.take_changes([&](const scalable_bloom::slice_view& v,
                                      std::span<const std::uint64_t>) { copy(v); });
        else
            g.filter.for_each_slice(copy);
    }
    return snap;
}

std::optional<tracker_delta> bloom_tracker::take_delta(std::uint64_t epoch,
                                                       std::uint32_t chunk_blocks) {
    std::lock_guard lk(rotate_mu_);
    if (epoch_.load(std::memory_order_relaxed) != epoch) return std::nullopt;
    chunk_blocks = std::max<std::uint32_t>(1, chunk_blocks);
    tracker_delta d;
    d.epoch = epoch;
    d.chunk_blocks = chunk_blocks;
    d.taken_at = clock_.wall_now();
    const std::int64_t now_ns = ns(clock_.monotonic_now());
    d.current_age = std::chrono::nanoseconds{
        std::max<std::int64_t>(0, now_ns - current_start_ns_.load(std::memory_order_relaxed))};
    const std::uint32_t n = config_.generations;
    const std::uint32_t cur = current_.load(std::memory_order_relaxed);
    d.latest_counts.resize(n);
    for (std::uint32_t i = 0; i < n; ++i)
        d.latest_counts[i] =
            std::clamp(gens_[(cur + n - i) % n].latest.load(std::memory_order_relaxed),
                       -k_max_restored_count, k_max_restored_count);
    gens_[cur].filter.take_changes(
        [&](const scalable_bloom::slice_view& v, std::span<const std::uint64_t> marks) {
            slice_delta sd;
            sd.geometry = v.geometry;
            sd.items = v.items;
            const std::uint64_t blocks = v.filter.n_blocks();
            const std::uint64_t n_chunks = (blocks + chunk_blocks - 1) / chunk_blocks;
            const auto words = v.filter.words();
            for (std::uint64_t c = 0; c < n_chunks; ++c) {
                const std::uint64_t first = c * chunk_blocks;
                const std::uint64_t last = std::min(blocks, first + chunk_blocks);
                bool changed = false;
                for (std::uint64_t b = first; b < last && !changed;) {
                    const std::uint64_t w = marks[b / 64] >> (b % 64);
                    if (w == 0) {
                        b = (b / 64 + 1) * 64;  // the rest of this mark word is clean
                        continue;
                    }
                    changed = (w & 1) != 0;
                    if (!changed) b += static_cast<std::uint64_t>(std::countr_zero(w));
                }
                if (!changed) continue;
                sd.chunks.push_back(c);
                for (std::uint64_t i = first * block_bloom::k_words_per_block;
                     i < last * block_bloom::k_words_per_block; ++i)
                    sd.words.push_back(words[i].load(std::memory_order_relaxed));
            }
            d.slices.push_back(std::move(sd));
        });
    return d;
}

status apply_delta(tracker_snapshot& snap, const tracker_delta& d) {
    const std::uint32_t n = snap.config.generations;
    if (snap.generations.size() != n || n == 0)
        return make_error("base snapshot has " + std::to_string(snap.generations.size()) +
                          " generations, config says " + std::to_string(n));
    if (d.latest_counts.size() != n)
        return make_error("delta has " + std::to_string(d.latest_counts.size()) +
                          " generation counts, the tracker has " + std::to_string(n));
    for (const auto c : d.latest_counts)
        if (c > k_max_restored_count || c < -k_max_restored_count)
            return make_error("delta: impossible count " + std::to_string(c));
    if (d.chunk_blocks == 0) return make_error("delta: chunk size of 0 blocks");
    if (d.current_age.count() < 0) return make_error("delta: negative age");
    const auto& cur = snap.generations[0].slices;
    if (d.slices.size() < cur.size())
        return make_error("delta has " + std::to_string(d.slices.size()) +
                          " slices, its base already " + std::to_string(cur.size()) +
                          " (slices are never removed within a generation)");
    if (d.slices.size() > scalable_bloom::k_max_slices) return make_error("delta: too many slices");
    const double rate = snap.config.fp_rate / n;
    for (std::size_t i = 0; i < d.slices.size(); ++i) {
        const auto& sd = d.slices[i];
        // A slice the base does not have must be the one the filter would have grown: its
        // geometry is the schedule's, so a damaged delta cannot make restore allocate at will.
        const slice_geometry want =
            i < cur.size() ? cur[i].geometry
                           : scalable_bloom::geometry(snap.config.expected_items, rate, i);
        if (sd.geometry.capacity != want.capacity || sd.geometry.n_blocks != want.n_blocks ||
            sd.geometry.fp_rate != want.fp_rate)
            return make_error("delta slice " + std::to_string(i) +
                              ": geometry differs from its "
                              "base's");
        const std::uint64_t blocks = want.n_blocks;
        std::uint64_t words = 0;
        std::uint64_t prev = 0;
        for (std::size_t j = 0; j < sd.chunks.size(); ++j) {
            const std::uint64_t c = sd.chunks[j];
            if ((j > 0 && c <= prev) || c >= (blocks + d.chunk_blocks - 1) / d.chunk_blocks)
                return make_error("delta slice " + std::to_string(i) + ": chunk " +
                                  std::to_string(c) + " out of order or range");
            prev = c;
            const std::uint64_t first = c * d.chunk_blocks;
            words +=
                (std::min(blocks, first + d.chunk_blocks) - first) * block_bloom::k_words_per_block;
        }
        if (words != sd.words.size())
            return make_error("delta slice " + std::to_string(i) + ": " +
                              std::to_string(sd.words.size()) + " words for its chunks, expected " +
                              std::to_string(words));
    }
    // Validated: apply.
    auto& gen0 = snap.generations[0];
    for (std::size_t i = 0; i < d.slices.size(); ++i) {
        const auto& sd = d.slices[i];
        if (i >= gen0.slices.size()) {
            slice_snapshot ss;
            ss.geometry = sd.geometry;
            ss.words.assign(sd.geometry.n_blocks * block_bloom::k_words_per_block, 0);
            gen0.slices.push_back(std::move(ss));
        }
        auto& ss = gen0.slices[i];
        ss.items = sd.items;
        std::size_t at = 0;
        for (const auto c : sd.chunks) {
            const std::uint64_t first = c * d.chunk_blocks * block_bloom::k_words_per_block;
            const std::uint64_t len =
                (std::min(sd.geometry.n_blocks, (c + 1) * d.chunk_blocks) - c * d.chunk_blocks) *
                block_bloom::k_words_per_block;
            // OR, not overwrite: a bit once set in a generation stays set, whatever the order.
            for (std::uint64_t w = 0; w < len; ++w) ss.words[first + w] |= sd.words[at + w];
            at += len;
        }
    }
    // The age comes from a file: saturate rather than overflow (restore caps elapsed time at
    // the window anyway, so a huge age only rotates every generation out).
    const std::int64_t period_ns = std::chrono::nanoseconds(snap.config.period()).count();
    for (std::uint32_t i = 0; i < n; ++i) {
        snap.generations[i].latest_count = d.latest_counts[i];
        snap.generations[i].age = std::chrono::nanoseconds{
            saturating_add(d.current_age.count(), static_cast<std::int64_t>(i) * period_ns)};
    }
    snap.taken_at = d.taken_at;
    return status::success();
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
