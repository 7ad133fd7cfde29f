// bloom_persistence: saves the live trackers to the state directory, restores them at startup and
// keeps the state within its TTL, disk and memory limits (the operator spec, docs/persistence.md).
//
// Threads: start() runs a saver thread (every save_interval) and a cleanup thread (every
// cleanup_interval, or early when the saver sees memory at 80% of max_memory or disk over
// max_size). Both sleep on a condition variable, so stop() is immediate, and both catch, log and
// count every exception: they never die silently. The ingest path never waits on them: a save
// copies each dirty tracker's words (bloom_tracker::snapshot(), a short lock that only excludes
// rotation) and compresses and writes with no lock the ingest path takes.
//
// Degraded mode: when the directory cannot be used (creation or listing fails, or meta.json has
// a version this build does not read) the object logs an error once, sets bloom_persistence_degraded
// and does nothing else: the daemon runs with in-memory state.
//
// Ownership: holds references to the host, clock and file system, which must outlive it.
// Thread-safety: restore() once before start(); save_now() and cleanup_now() may be called from any
// thread (a mutex serializes each kind); stop() once, from the control thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
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
}

namespace mg::persistence {

struct persistence_options {
    std::string path = "./bloom-state";
    std::chrono::nanoseconds save_interval = std::chrono::seconds(30);
    std::chrono::nanoseconds state_ttl = std::chrono::hours(1);
    std::chrono::nanoseconds cleanup_interval = std::chrono::minutes(5);
    std::uint64_t max_size = 524288000;
    std::uint64_t max_memory = 268435456;
    bool compression = true;
    int compression_level = 1;
    std::chrono::nanoseconds shutdown_timeout = std::chrono::seconds(30);
    std::uint64_t max_file_bytes = 50ull << 20;
};

struct restore_report {
    std::size_t loaded = 0;
    std::size_t skipped_stale = 0;
    std::size_t errors = 0;
    std::chrono::milliseconds duration{0};
};

struct save_report {
    std::size_t saved = 0;
    std::size_t errors = 0;
    std::size_t unsaved = 0;  // dirty trackers left for the next pass (deadline reached)
    std::chrono::milliseconds duration{0};
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
    bloom_persistence(persistence_options options, tracker_host& host, mg::clock& clock, file_system& fs,
                      std::shared_ptr<prometheus::Registry> registry);
    ~bloom_persistence();
    bloom_persistence(const bloom_persistence&) = delete;
    bloom_persistence& operator=(const bloom_persistence&) = delete;

    bool degraded() const { return store_ == nullptr; }

    // Loads every indexed tracker that is fresh, intact and within the limits into the host.
    restore_report restore();
    void start();
    // One save pass over the dirty trackers; stops between chunks at `deadline`.
    save_report save_now(std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max());
    cleanup_report cleanup_now();
    // Stops the threads, saves what is dirty within shutdown_timeout, logs the spec's lines.
    void stop();

    std::uint64_t disk_usage() const;
    std::uint64_t memory_usage() const;

private:
    struct live_tracker {
        std::string key;
        std::shared_ptr<cardinality::bloom_tracker> tracker;
    };
    std::vector<live_tracker> live() const;
    std::chrono::system_clock::time_point wall_of(std::chrono::steady_clock::time_point t) const;
    // Evicts from memory and disk; returns every key that went (a metric takes its label trackers).
    std::vector<std::string> evict(const std::string& key, std::string_view reason, std::chrono::nanoseconds age,
                                   cleanup_report& r);
    void update_gauges();
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

    std::mutex save_mu_;     // one save pass at a time
    std::mutex cleanup_mu_;  // one cleanup pass at a time
    std::set<std::string> rejected_keys_;  // logged once each (save_mu_)

    std::mutex wake_mu_;
    std::condition_variable wake_;
    bool stopping_ = false;
    bool cleanup_requested_ = false;
    bool stopped_ = false;
    std::thread saver_;
    std::thread cleaner_;
};

}  // namespace mg::persistence
