// bloom_persistence: saves the live trackers to the state directory, restores them at startup and
// keeps the state within its TTL, disk and memory limits (the operator spec, docs/persistence.md).
//
// Threads: start() runs a saver thread (every save_interval) and a cleanup thread (every
// cleanup_interval, or early when the saver sees memory at 80% of max_memory or disk over
// max_size). Both wait on a condition variable through the injected clock (clock.h), so stopping
// is immediate and tests move their intervals with a fake clock; both catch, log and count every
// exception: they never die silently. Every deadline below is the clock's monotonic time, and
// every reading of the time (ages, durations in logs and metrics) is the clock's. The ingest
// path never waits on them: a save copies each dirty tracker's words (bloom_tracker::snapshot(),
// a short lock that only excludes rotation) and compresses and writes with no lock the ingest
// path takes.
//
// What a save writes (docs/persistence.md, "incremental saves" and "generation files"): a tracker
// whose filter changed is written whole (its base, `{hash}.bloom.gz`) when this process has not
// written or restored it, or a save of it failed. Otherwise only the chunks of its current
// generation that changed since the previous save are written, as an increment file the index
// lists; when it rotated since (the current generation froze), or the next increment would take
// its increments past snapshot_ratio of what they follow, a new head is written instead (the
// current generation's words, every generation's age and count) with a file for each generation
// that froze since, once: frozen generations are never written again. A tracker
// that was only used (known series) has its index entry's last_updated and count moved (one
// meta.json write for all of them), so a tracker in use never looks stale at restore. Restore loads
// the head and frozen generations when they follow the base found (else, or when one does not
// verify, the base), then the longest run of increments that verify (CRC) and apply; the rest are
// counted and logged.
//
// Stopping: begin_stop() tells the threads to stop and starts the final save on a thread of its
// own; finish_stop() waits for it until the caller's deadline (the daemon's -shutdown-timeout,
// shared with the export drain). A final save that cannot finish in time is reported, not waited
// for: the caller decides (the daemon exits non-zero without waiting; writes are atomic, so what
// was cut leaves only a temporary file that the next start removes).
//
// Degraded: bloom_persistence_degraded is 1 while the directory cannot be used (not creatable,
// unknown index version: in memory only), is not writable, or the last save pass failed.
//
// Limits: max_size and max_memory of 0 mean no limit. Memory is the host's memory_bytes() (what
// the process holds for tracking), the same figure as metrics_governor_tracker_memory_bytes.
//
// Ownership: holds references to the host, clock and file system, which must outlive it.
// Thread-safety: restore() once before start(); save_now() and cleanup_now() may be called from any
// thread (a mutex serializes each kind); begin_stop()/finish_stop()/stop() from the control thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/file_system.h"
#include "persistence/persistence_metrics.h"
#include "persistence/tracker_host.h"
#include "persistence/tracker_store.h"

namespace prometheus {
class Registry;
class Collectable;
}  // namespace prometheus

namespace mg::persistence {

struct persistence_options {
    std::string path = "./bloom-state";
    std::chrono::nanoseconds save_interval = std::chrono::seconds(30);
    std::chrono::nanoseconds state_ttl = std::chrono::hours(1);
    std::chrono::nanoseconds cleanup_interval = std::chrono::minutes(5);
    std::uint64_t max_size = 524288000;    // 0: no limit
    std::uint64_t max_memory = 268435456;  // 0: no limit
    bool compression = true;
    int compression_level = 1;
    // The final save's budget when stop() is called without a deadline (the destructor, tests).
    std::chrono::nanoseconds shutdown_timeout = std::chrono::seconds(30);
    std::uint64_t max_file_bytes = 50ull << 20;
    // Incremental saves: between bases, write the changed chunks of the current generation.
    bool incremental = true;
    std::uint64_t chunk_size = 64;  // bytes of filter per chunk: a multiple of 64 (one block)
    // The increments of a base stay within this share of its size: an increment that would pass
    // it is written as a new base instead.
    double snapshot_ratio = 0.5;
    // ... or this many increments, whatever their size (restore reads each one).
    std::size_t max_increments = 64;
};

struct restore_report {
    std::size_t loaded = 0;
    std::size_t increments_applied = 0;
    std::size_t increments_skipped = 0;
    std::size_t skipped_stale = 0;
    std::size_t errors = 0;
    std::chrono::milliseconds duration{0};
};

struct save_report {
    std::size_t saved = 0;
    std::size_t increments = 0;    // of `saved`, written as increments
    std::size_t layered = 0;       // of `saved`, written as a head (and new frozen generations)
    std::size_t frozen_files = 0;  // frozen generation files written
    std::uint64_t snapshot_bytes = 0;
    std::uint64_t increment_bytes = 0;
    std::size_t errors = 0;
    std::size_t unsaved = 0;  // dirty trackers left for the next pass (deadline reached)
    std::size_t stamped = 0;  // used but unchanged: only last_updated and count moved
    std::string first_error;
    std::chrono::milliseconds duration{0};
};

struct stop_report {
    std::size_t dirty = 0;  // trackers with changes when the stop began
    std::size_t saved = 0;
    std::size_t failed = 0;
    std::size_t unsaved = 0;  // not attempted before the deadline
    bool timed_out = false;   // the final save was still running at the deadline
    // Everything that changed is on disk.
    bool complete() const { return !timed_out && failed == 0 && unsaved == 0; }
};

struct cleanup_report {
    std::size_t evicted_ttl = 0;
    std::size_t evicted_size = 0;
    std::size_t evicted_memory = 0;
    std::size_t remaining = 0;
};

class bloom_persistence {
  public:
    // Opens the state directory (logging "bloom persistence initialized") or enters degraded mode.
    bloom_persistence(persistence_options options, tracker_host& host, mg::clock& clock,
                      file_system& fs, std::shared_ptr<prometheus::Registry> registry);
    ~bloom_persistence();
    bloom_persistence(const bloom_persistence&) = delete;
    bloom_persistence& operator=(const bloom_persistence&) = delete;

    // In memory only: the directory could not be opened.
    bool degraded() const { return store_ == nullptr; }

    // Loads every indexed tracker that is fresh, intact and within the limits into the host.
    restore_report restore();
    void start();
    // One save pass over the dirty trackers; stops between chunks at `deadline`.
    save_report save_now(std::chrono::steady_clock::time_point deadline =
                             std::chrono::steady_clock::time_point::max());
    cleanup_report cleanup_now();
    // Stops the threads and starts the final save (on its own thread), bounded by `deadline`;
    // logs the spec's "bloom persistence shutting down".
    void begin_stop(std::chrono::steady_clock::time_point deadline);
    // Waits for the final save until `deadline` and logs its outcome (the spec's "final bloom
    // state saved" when everything was written; errors otherwise). A save still running at the
    // deadline is left running (timed_out): see the header.
    stop_report finish_stop(std::chrono::steady_clock::time_point deadline);
    // Both, with `shutdown_timeout` from now.
    stop_report stop();

    std::uint64_t disk_usage() const;
    std::uint64_t memory_usage() const;
    // The gauges that describe the current state (trackers, dirty trackers, memory and disk usage,
    // limits, degraded), computed when scraped. Safe to keep after this object is gone (it then
    // reports nothing).
    std::shared_ptr<prometheus::Collectable> collector();

  private:
    struct live_tracker {
        std::string key;
        std::shared_ptr<cardinality::bloom_tracker> tracker;
    };
    std::vector<live_tracker> live() const;
    std::chrono::system_clock::time_point wall_of(std::chrono::steady_clock::time_point t) const;
    // Evicts from memory and disk; returns every key that went (a metric takes its label trackers).
    std::vector<std::string> evict(const std::string& key, std::string_view reason,
                                   std::chrono::nanoseconds age, cleanup_report& r);
    struct gauge_values {
        double trackers = 0, dirty = 0, disk = 0, memory = 0;
    };
    gauge_values current_gauges() const;
    std::uint64_t memory_limit() const {
        return options_.max_memory == 0 ? UINT64_MAX : options_.max_memory;
    }
    std::uint64_t disk_limit() const {
        return options_.max_size == 0 ? UINT64_MAX : options_.max_size;
    }
    bool failing() const {
        return store_ == nullptr || !not_writable_.empty() || last_pass_failed_.load();
    }
    void final_save(std::chrono::steady_clock::time_point deadline);
    // The base a tracker's increments follow, as this process wrote or restored it (save_mu_). A
    // tracker with none, a replaced tracker (another instance) or one that rotated gets a new
    // base.
    struct chain {
        std::uint64_t instance = 0;
        std::uint64_t epoch = 0;
        std::uint32_t base_checksum = 0;
        std::uint64_t next_seq = 1;
    };
    std::map<std::string, chain> chains_;
    // The pending file of one dirty tracker: an increment when its chain allows, else a base.
    struct prepared {
        pending_file file;
        chain next;  // the chain after this file is written
    };
    // Applies the increments of `m` that follow the base with this checksum to `snap`, in seq
    // order, stopping at the first that is missing, torn or inconsistent (counted and logged with
    // every one after it). Returns how many were applied, of how many listed for that base.
    struct applied_increments {
        std::size_t applied = 0;
        std::size_t listed = 0;  // of this base
    };
    applied_increments apply_increments(const tracker_meta& m, std::uint32_t base_checksum,
                                        cardinality::tracker_snapshot& snap, restore_report& r);
    result<prepared> prepare(const std::string& key, cardinality::bloom_tracker& tracker,
                             const tracker_meta* entry);  // entry: null when not indexed
    // A new head of `snap` and the frozen generations that have no file yet.
    result<pending_file> prepare_layers(const std::string& key, cardinality::tracker_snapshot snap,
                                        const chain& ch, const tracker_meta& entry);

    void saver_loop();
    void cleanup_loop();
    template <typename F>
    void guarded(std::string_view what, F&& f);

    persistence_options options_;
    tracker_host& host_;
    mg::clock& clock_;
    file_system& fs_;
    persistence_metrics metrics_;
    std::unique_ptr<tracker_store> store_;
    open_report open_report_;

    std::mutex save_mu_;                   // one save pass at a time
    std::mutex cleanup_mu_;                // one cleanup pass at a time
    std::set<std::string> rejected_keys_;  // logged and counted once each (save_mu_)
    std::string not_writable_;             // set at open: why the directory refused a test write
    std::atomic<bool> last_pass_failed_{false};
    bool memory_warned_ = false;  // over 80% already said (cleanup_mu_)

    // The final save, on its own thread so the caller's deadline holds whatever the disk does.
    std::thread final_;
    std::mutex final_mu_;
    std::condition_variable final_done_cv_;
    bool final_done_ = false;
    stop_report final_report_;  // final_mu_
    std::string final_error_;   // final_mu_
    std::chrono::steady_clock::time_point stop_started_;
    std::atomic<std::size_t> final_saved_{0}, final_failed_{0};
    class gauge_collector;
    std::shared_ptr<gauge_collector> collector_;

    std::mutex wake_mu_;
    std::condition_variable wake_;
    bool stopping_ = false;
    bool cleanup_requested_ = false;
    bool stopped_ = false;
    std::thread saver_;
    std::thread cleaner_;
};

}  // namespace mg::persistence
