// bloom_tracker: the distinct active series of one metric name over a sliding window (the
// spec's BloomTracker), and the per-series admission decision against a limit.
//
// Time is cut into `generations` periods of window/generations each. Inserts go to the current
// generation; a series found only in an older one is refreshed into the current one. When a
// period ends the oldest generation is dropped (lazily, by the next call that sees the clock
// past the boundary; k missed periods are k rotations, >= generations clears everything). A
// series therefore stays known for between (N-1)/N and N/N of the window after it was last seen.
// Each generation is a scalable_bloom at rate fp_rate/generations, so the chance that a new
// series is mistaken for a known one stays <= fp_rate (union bound) at any size.
//
// Counting: latest_[g] is the number of series whose most recent generation is g. A new series
// adds one to the current generation, a refresh moves one from g to the current generation, and
// a rotation subtracts the expired generation's count. count() is exact except for false
// positives (a new series mistaken for a known one is not counted: probability <= fp_rate per
// new series). Two threads racing on the same series serialize on a striped spinlock keyed by
// the series hash (only on the mutating paths), so a series is never counted twice.
//
// Admission: observe() reserves a slot in the total with a compare-and-swap before inserting,
// so admitted new series never exceed the limit, whatever the number of threads.
//
// Thread-safety: every public method may be called concurrently. Lookups and inserts are
// lock-free (atomic loads and fetch_or on the filter words, CAS on counters). Rotation and
// snapshot/restore exclude each other with a mutex; rotation additionally waits until no thread
// is inside a lookup of this tracker. Readers announce themselves in a per-thread slot (a plain
// store to a cache line owned by that thread; the matching full barrier is paid by the rotating
// thread through membarrier), so readers on different threads never contend and a lookup has no
// locked instruction; see docs/cardinality.md. The clock is not owned and must outlive the
// tracker.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "cardinality/scalable_bloom.h"
#include "common/clock.h"
#include "common/result.h"

namespace mg::cardinality {

struct tracker_config {
    std::uint64_t expected_items = 100000;  // -cardinality-expected-items
    double fp_rate = 0.01;                  // -cardinality-fp-rate, over all generations
    std::uint32_t generations = 3;          // -cardinality-generations
    std::chrono::nanoseconds window = std::chrono::hours(1);  // -cardinality-window

    static constexpr std::uint32_t k_max_generations = 64;
    // Every problem, one per line; success when the config is usable.
    status validate() const;
    std::chrono::nanoseconds period() const { return window / generations; }
};

enum class observe_result : std::uint8_t {
    known,       // seen in the current generation: pass
    refreshed,   // seen in an older generation only, now refreshed into the current one: pass
    admitted,    // new, under the limit: inserted and counted
    over_limit,  // new, count >= limit: NOT inserted
};

struct slice_snapshot {
    slice_geometry geometry;
    std::uint64_t items = 0;
    std::vector<std::uint64_t> words;  // geometry.n_blocks * 8 words
};

struct generation_snapshot {
    // How long before the snapshot this generation started (monotonic time does not survive a
    // restart, so start times travel as ages).
    std::chrono::nanoseconds age{0};
    std::int64_t latest_count = 0;
    std::vector<slice_snapshot> slices;  // oldest first
};

// Plain data for the persistence module to serialize. Generation 0 is the current one, 1 the
// previous, and so on.
struct tracker_snapshot {
    // Bump when hashing or block layout changes. 2: series identities hash the protobuf Label
    // encoding (series_hash.h); format 1 files hold identities this build never computes.
    static constexpr std::uint32_t k_format = 2;
    std::uint32_t format = k_format;
    tracker_config config;
    std::chrono::system_clock::time_point taken_at;  // wall clock, for downtime on restore
    std::vector<generation_snapshot> generations;
    // Rotations the tracker had made when the copy was taken (in memory only, not persisted): a
    // delta applies to this snapshot only while the tracker is still at this epoch.
    std::uint64_t epoch = 0;
};

// The changes of a tracker's current generation since the previous take_snapshot()/take_delta()
// (incremental persistence, docs/persistence.md). Only the current generation is ever written
// to, so the older ones need no delta; their counts do change (refreshes move series to the
// current generation), so every generation's count travels.
struct slice_delta {
    slice_geometry geometry;
    std::uint64_t items = 0;
    std::vector<std::uint64_t> chunks;  // indexes of the changed chunks, ascending
    // Their words, chunk after chunk; the last chunk of a slice may be shorter than chunk_blocks.
    std::vector<std::uint64_t> words;
};

struct tracker_delta {
    std::uint64_t epoch = 0;
    std::uint32_t chunk_blocks = 1;  // blocks (64 bytes each) per chunk
    std::chrono::system_clock::time_point taken_at;
    std::chrono::nanoseconds current_age{0};  // how long the current generation had been current
    std::vector<std::int64_t> latest_counts;  // every generation, current first
    std::vector<slice_delta> slices;          // every slice of the current generation, oldest first

    std::size_t changed_chunks() const {
        std::size_t n = 0;
        for (const auto& s : slices) n += s.chunks.size();
        return n;
    }
};

// Applies a delta to the snapshot it follows (same tracker, same epoch): the current generation's
// changed chunks, new slices, counts and times. An error names the first inconsistency (a slice
// whose geometry differs, a chunk out of range, a count out of bounds); `snap` is then unchanged.
status apply_delta(tracker_snapshot& snap, const tracker_delta& delta);

class bloom_tracker {
  public:
    using time_point = std::chrono::steady_clock::time_point;

    // Throws std::invalid_argument when config.validate() fails. Allocates no filter memory
    // until the first insert.
    bloom_tracker(const tracker_config& config, mg::clock& clock);
    bloom_tracker(const bloom_tracker&) = delete;
    bloom_tracker& operator=(const bloom_tracker&) = delete;
    ~bloom_tracker();

    // The limiter's decision for one series. `now` variants let a caller read the clock once per
    // batch (it must be the injected clock's monotonic time).
    observe_result observe(std::uint64_t series, std::uint64_t limit);
    observe_result observe(std::uint64_t series, std::uint64_t limit, time_point now);
    // Same decisions for a batch of series of this metric, in order, with one clock read and
    // software prefetching. out.size() must be >= series.size().
    void observe_batch(std::span<const std::uint64_t> series, std::uint64_t limit,
                       std::span<observe_result> out);
    // The same with a limit per series (limits.size() == series.size()) and the caller's clock
    // reading.
    void observe_batch(std::span<const std::uint64_t> series, std::span<const std::uint64_t> limits,
                       std::span<observe_result> out, time_point now);
    // Always inserts (dry run): known or admitted.
    observe_result insert(std::uint64_t series) { return observe(series, UINT64_MAX); }
    observe_result insert(std::uint64_t series, time_point now) {
        return observe(series, UINT64_MAX, now);
    }
    // Whether the series is active, without refreshing or inserting it.
    bool test(std::uint64_t series) const;

    // Distinct active series (generations that expired but are not yet rotated out are excluded).
    std::uint64_t count() const;
    // Rotates out expired generations now (the cleanup thread calls this on idle trackers so
    // their memory is released without traffic).
    void advance();
    void advance(time_point now);

    // sizeof(*this) plus every slice and word.
    std::size_t memory_bytes() const;
    // Monotonic time of the last observe/insert (1 s resolution) and of the last mutation.
    time_point last_seen() const;
    time_point last_updated() const;
    // Sets both times (restore: TTL and LRU count from the last use before a restart, not from it).
    void set_last_seen(time_point t) {
        last_seen_ns_.store(ns(t), std::memory_order_relaxed);
        last_updated_ns_.store(ns(t), std::memory_order_relaxed);
    }
    // Returns whether anything changed since the previous call, and clears the flag. The saver
    // calls it before snapshot(): a change made during the snapshot marks the tracker again.
    bool take_dirty() { return dirty_.exchange(false, std::memory_order_acq_rel); }
    bool dirty() const { return dirty_.load(std::memory_order_acquire); }
    // Marks the tracker changed again, e.g. after a save that took the flag failed.
    void mark_dirty() { dirty_.store(true, std::memory_order_release); }

    const tracker_config& config() const { return config_; }
    std::size_t slice_count() const;
    // Series whose most recent sighting is in each generation, current first (for stats).
    std::vector<std::int64_t> generation_counts() const;

    // A copy of the whole state. Inserts continue meanwhile (the copy may include some of them);
    // rotation waits until the copy is done.
    tracker_snapshot snapshot() const;
    // The same, for a base that deltas will follow: the current generation's change marks are
    // swapped out before its words are read, so the next take_delta() holds exactly what changed
    // after (or during) this copy.
    tracker_snapshot take_snapshot();
    // The changes since the previous take_snapshot()/take_delta(), marks swapped out first; none
    // when the tracker has rotated past `epoch` (a rotation froze the generation the base was
    // taken of: the caller takes a new base). `chunk_blocks` >= 1.
    std::optional<tracker_delta> take_delta(std::uint64_t epoch, std::uint32_t chunk_blocks);
    // Rotations made so far (a new tracker, or one just restored, starts at 0).
    std::uint64_t epoch() const { return epoch_.load(std::memory_order_acquire); }
    // Unique per tracker object in this process: tells a replaced tracker from the one a base was
    // taken of.
    std::uint64_t instance_id() const { return instance_id_; }
    // Rebuilds a tracker from a snapshot, validating config and geometry; an error names the
    // first problem. Time spent between snapshot and restore (wall clock) counts as elapsed.
    static result<std::unique_ptr<bloom_tracker>> restore(const tracker_snapshot& snap,
                                                          mg::clock& clock);

  private:
    struct generation {
        scalable_bloom filter;
        std::atomic<std::int64_t> latest{0};
    };
    class read_guard;

    static std::int64_t ns(time_point t) { return t.time_since_epoch().count(); }
    void maybe_rotate(time_point now) {
        if (ns(now) >= next_rotation_ns_.load(std::memory_order_acquire)) rotate_to(now);
    }
    void rotate_to(time_point now);
    // Number of generations past their end at `now` but not rotated yet (0..N).
    std::uint32_t lagging(std::int64_t now_ns) const;
    void observe_batch(std::span<const std::uint64_t> series, std::span<const std::uint64_t> limits,
                       std::uint64_t limit, std::span<observe_result> out, time_point now);
    // `batched`: the caller (observe_batch) already probed the current generation for k, so
    // neither the prefetch nor the unlocked test of the current generation is repeated.
    observe_result observe_locked(const bloom_key& k, std::uint64_t limit, bool& mutated,
                                  bool batched);
    void touch(std::int64_t now_ns, bool mutated);
    void prefetch_locked(const bloom_key& k, std::uint32_t cur) const;
    std::uint32_t prev(std::uint32_t g) const { return g == 0 ? config_.generations - 1 : g - 1; }
    void wait_for_readers() const;
    tracker_snapshot copy_state(bool take_marks) const;

    tracker_config config_;
    mg::clock& clock_;
    std::int64_t period_ns_;
    std::unique_ptr<generation[]> gens_;
    std::atomic<std::uint32_t> current_{0};
    std::atomic<std::int64_t> current_start_ns_;
    std::atomic<std::int64_t> next_rotation_ns_;
    std::atomic<std::int64_t> total_{0};
    std::atomic<std::int64_t> last_seen_ns_;
    std::atomic<std::int64_t> last_updated_ns_;
    std::atomic<bool> dirty_{false};
    std::atomic<bool> rotating_{false};
    std::atomic<std::uint64_t> epoch_{0};  // written under rotate_mu_
    std::uint64_t instance_id_;
    mutable std::atomic<std::uint32_t> overflow_readers_{0};
    mutable std::mutex rotate_mu_;
};

}  // namespace mg::cardinality
