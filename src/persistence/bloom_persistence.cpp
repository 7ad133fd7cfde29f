// Save and the threads of bloom_persistence: construction, the save pass, the saver and cleanup
// threads and shutdown (see bloom_persistence.h and docs/persistence.md). Restore and cleanup
// are in bloom_persistence_restore.cpp and bloom_persistence_cleanup.cpp.
#include "persistence/bloom_persistence.h"

#include <algorithm>
#include <exception>
#include <map>

#include "common/units.h"
#include "logging/log.h"
#include "persistence/increment_codec.h"
#include "persistence/meta_index.h"
#include "persistence/persistence_internal.h"
#include "persistence/state_gauges.h"
#include "persistence/tracker_codec.h"

namespace mg::persistence {

using namespace detail;

class bloom_persistence::gauge_collector {
  public:
    explicit gauge_collector(state_gauges::source s)
        : gauges(std::make_shared<state_gauges>(std::move(s))) {}
    std::shared_ptr<state_gauges> gauges;
};

bloom_persistence::bloom_persistence(persistence_options options, tracker_host& host,
                                     mg::clock& clock, file_system& fs,
                                     std::shared_ptr<prometheus::Registry> registry)
    : options_(std::move(options)), host_(host), clock_(clock), fs_(fs), metrics_(registry) {
    collector_ = std::make_shared<gauge_collector>([this] {
        const auto g = current_gauges();
        return state_gauges::values{g.trackers, g.dirty,
                                    g.disk,     static_cast<double>(options_.max_size),
                                    g.memory,   static_cast<double>(options_.max_memory),
                                    failing()};
    });
    store_options so;
    so.path = options_.path;
    so.max_file_bytes = options_.max_file_bytes;
    so.max_inflated_bytes = std::min(memory_limit(), options_.max_file_bytes * 64);
    auto store = tracker_store::open(fs_, clock_, so, open_report_);
    if (!store) {
        logging::error("bloom persistence unavailable, keeping state in memory only",
                       {{"path", options_.path},
                        {"error", store.error_message()},
                        {"component", k_component}});
        return;
    }
    store_ = std::move(*store);
    logging::info("bloom persistence initialized",
                  {{"path", options_.path},
                   {"save_interval", format_duration(options_.save_interval)},
                   {"state_ttl", format_duration(options_.state_ttl)},
                   {"max_size", format_byte_size(options_.max_size)},
                   {"compression", options_.compression}});
    if (!open_report_.meta_moved_to.empty())
        logging::error("bloom state index is corrupt, rebuilding it from the tracker files",
                       {{"error", open_report_.message},
                        {"moved_to", open_report_.meta_moved_to},
                        {"recovered", open_report_.recovered.size()},
                        {"set_aside", open_report_.set_aside.size()},
                        {"component", k_component}});
    else if (!open_report_.recovered.empty())
        logging::warn("bloom state index entries rebuilt from their tracker files",
                      {{"recovered", open_report_.recovered.size()}, {"component", k_component}});
    for (const auto& [file, why] : open_report_.set_aside)
        logging::error("bloom state file does not decode, moved aside (not deleted)",
                       {{"file", file},
                        {"moved_to", options_.path + "/unreadable/"},
                        {"error", why},
                        {"component", k_component}});
    metrics_.index_recovered(static_cast<double>(open_report_.recovered.size()));
    metrics_.files_set_aside(static_cast<double>(open_report_.set_aside.size()));
    for (const auto& name : open_report_.orphans_removed)
        logging::info("removed orphan bloom state file", {{"file", name}});
    not_writable_ = open_report_.not_writable;
    if (!not_writable_.empty())
        logging::error(
            "bloom persistence directory is not writable: state is restored but cannot be saved",
            {{"path", options_.path}, {"error", not_writable_}, {"component", k_component}});
}

bloom_persistence::~bloom_persistence() {
    (void)stop();
    // A final save that outlived its deadline still uses this object: wait for it here (the
    // daemon exits before this point in that case).
    if (final_.joinable()) final_.join();
    collector_->gauges->detach();
}

std::shared_ptr<prometheus::Collectable> bloom_persistence::collector() {
    return collector_->gauges;
}

std::vector<bloom_persistence::live_tracker> bloom_persistence::live() const {
    std::vector<live_tracker> out;
    host_.for_each(
        [&](const std::string& key, const std::shared_ptr<cardinality::bloom_tracker>& t) {
            if (t) out.push_back({key, t});
        });
    return out;
}

wall::time_point bloom_persistence::wall_of(steady::time_point t) const {
    return clock_.wall_now() -
           std::chrono::duration_cast<wall::duration>(clock_.monotonic_now() - t);
}

save_report bloom_persistence::save_now(steady::time_point deadline) {
    save_report r;
    if (!store_) return r;
    std::lock_guard lock(save_mu_);
    const auto started = clock_.monotonic_now();

    // The directory may have been removed under us: recreate it and write everything again.
    auto layout = store_->ensure_layout();
    if (!layout) {
        last_pass_failed_ = true;
        metrics_.save(false);
        ++r.errors;
        r.first_error = layout.error_message();
        logging::error("bloom state save failed", {{"failed", r.errors},
                                                   {"saved", 0},
                                                   {"error", r.first_error},
                                                   {"component", k_component}});
        return r;
    }
    if (*layout) {
        metrics_.directory_recreated();
        logging::error(
            "bloom state directory was missing and has been recreated; saving every tracker again",
            {{"path", options_.path}, {"component", k_component}});
    }

    const auto index = store_->index();
    std::vector<live_tracker> dirty;
    std::vector<stamp> stamps;
    auto trackers = live();
    {
        // Chains of trackers that are gone (evicted, removed) are forgotten.
        std::set<std::string> keys;
        for (const auto& lt : trackers) keys.insert(lt.key);
        std::erase_if(chains_, [&](const auto& c) { return keys.count(c.first) == 0; });
    }
    for (auto& lt : trackers) {
        const auto it = index.trackers.find(lt.key);
        // A tracker the index does not hold is saved whole, changed or not (first save, or the
        // directory was recreated); a rejected key is never retried.
        if (lt.tracker->take_dirty() ||
            (it == index.trackers.end() && rejected_keys_.count(lt.key) == 0)) {
            dirty.push_back(std::move(lt));
        } else if (it != index.trackers.end()) {
            const auto used = wall_of(lt.tracker->last_seen());
            if (used - it->second.last_updated >= k_stamp_resolution)
                stamps.push_back({lt.key, lt.tracker->count(), used});
        }
    }
    if (!stamps.empty()) {
        if (auto st = store_->touch(stamps, clock_.wall_now()); st) {
            r.stamped = stamps.size();
        } else {
            ++r.errors;
            metrics_.save(false);
            r.first_error = "meta.json: " + st.error_message();
        }
    }

    std::vector<pending_file> chunk;
    // What each file of the chunk is for, by key: its tracker, the chain once it is written,
    // and its kind and size for the counters.
    struct in_chunk {
        std::shared_ptr<cardinality::bloom_tracker> tracker;
        chain next;
        bool increment = false;
        bool layered = false;
        std::size_t frozen_files = 0;
        std::uint64_t bytes = 0;
    };
    std::map<std::string, in_chunk> owners;
    std::uint64_t chunk_bytes = 0;
    auto flush = [&] {
        if (chunk.empty()) return;
        const auto outcomes = store_->save(std::move(chunk), clock_.wall_now(), deadline);
        for (const auto& o : outcomes) {
            in_chunk& w = owners.at(o.key);
            if (o.result.ok()) {
                if (!w.increment) w.next.base_checksum = o.checksum;
                chains_[o.key] = w.next;
                metrics_.written(w.increment, static_cast<double>(w.bytes));
                (w.increment ? r.increment_bytes : r.snapshot_bytes) += w.bytes;
                r.increments += w.increment ? 1 : 0;
                r.layered += w.layered ? 1 : 0;
                r.frozen_files += w.frozen_files;
            } else {
                // The changes were taken from the tracker: only a new base holds them now.
                chains_.erase(o.key);
                // Saved next time: the failure left the previous file and entry in place.
                w.tracker->mark_dirty();
            }
            if (o.timed_out) {
                ++r.unsaved;
                continue;
            }
            metrics_.save(o.result.ok());
            if (o.result.ok()) {
                ++r.saved;
                ++final_saved_;
                continue;
            }
            ++r.errors;
            ++final_failed_;
            if (r.first_error.empty()) r.first_error = o.key + ": " + o.result.error_message();
        }
        chunk.clear();
        owners.clear();
        chunk_bytes = 0;
    };

    for (std::size_t i = 0; i < dirty.size(); ++i) {
        const auto& [key, tracker] = dirty[i];
        if (clock_.monotonic_now() >= deadline) {
            // Shutdown ran out of time: leave the rest dirty (and counted) rather than hang.
            for (std::size_t j = i; j < dirty.size(); ++j) dirty[j].tracker->mark_dirty();
            r.unsaved += dirty.size() - i;
            break;
        }
        if (auto st = validate_key(key); !st) {
            // Counted and logged once: the key never changes, so neither would the outcome.
            if (rejected_keys_.insert(key).second) {
                metrics_.save(false);
                logging::error(
                    "tracker key rejected, not persisted",
                    {{"key", key}, {"error", st.error_message()}, {"component", k_component}});
            }
            continue;
        }
        const auto entry_it = index.trackers.find(key);
        auto p =
            prepare(key, *tracker, entry_it == index.trackers.end() ? nullptr : &entry_it->second);
        if (!p) {
            ++r.errors;
            ++final_failed_;
            metrics_.save(false);
            chains_.erase(key);
            tracker->mark_dirty();
            if (r.first_error.empty()) r.first_error = key + ": " + p.error_message();
            continue;
        }
        pending_file& f = p->file;
        std::uint64_t bytes = f.bytes.size();
        for (const auto& ff : f.frozen_files) bytes += ff.second.size();
        chunk_bytes += bytes;
        owners[key] = {
            tracker, p->next, f.increment.has_value(), f.layers.has_value(), f.frozen_files.size(),
            bytes};
        chunk.push_back(std::move(f));
        if (chunk_bytes >= k_chunk_bytes) flush();
    }
    flush();

    r.duration = std::chrono::milliseconds(ms_since(clock_, started));
    if (r.saved + r.errors > 0)
        metrics_.observe_save_seconds(
            std::chrono::duration<double>(clock_.monotonic_now() - started).count());
    if (r.saved + r.errors + r.stamped > 0) last_pass_failed_ = r.errors > 0;
    const auto usage = store_->disk_usage();
    if (r.saved > 0)
        // Every pass that wrote something, increments included (the spec's line; at the 5 s
        // default that is at most 12 lines a minute, and only while series arrive).
        logging::info("bloom state saved",
                      {{"saved", r.saved},
                       {"duration_ms", r.duration.count()},
                       {"disk_usage_bytes", usage},
                       {"disk_limit_bytes", options_.max_size},
                       {"increments", r.increments},
                       {"generation_files", r.layered + r.frozen_files},
                       {"bytes_written", r.snapshot_bytes + r.increment_bytes}});
    else if (r.stamped > 0)
        logging::debug("bloom state index updated for trackers in use", {{"trackers", r.stamped}});
    if (r.errors > 0)
        logging::error("bloom state save failed", {{"failed", r.errors},
                                                   {"saved", r.saved},
                                                   {"error", r.first_error},
                                                   {"component", k_component}});
    if (usage > disk_limit()) {
        std::lock_guard wl(wake_mu_);
        cleanup_requested_ = true;
        wake_.notify_all();
    }
    return r;
}

std::uint64_t bloom_persistence::memory_usage() const {
    return host_.memory_bytes();
}

bloom_persistence::gauge_values bloom_persistence::current_gauges() const {
    gauge_values g;
    for (const auto& lt : live()) {
        g.trackers += 1;
        g.dirty += lt.tracker->dirty() ? 1 : 0;
    }
    g.memory = static_cast<double>(host_.memory_bytes());
    g.disk = static_cast<double>(disk_usage());
    return g;
}

template <typename F>
void bloom_persistence::guarded(std::string_view what, F&& f) {
    // A background thread must never die silently: log, count, carry on.
    try {
        f();
    } catch (const std::exception& e) {
        metrics_.save(false);
        logging::error("bloom persistence background task failed",
                       {{"task", what}, {"error", e.what()}, {"component", k_component}});
    } catch (...) {
        metrics_.save(false);
        logging::error(
            "bloom persistence background task failed",
            {{"task", what}, {"error", "unknown exception"}, {"component", k_component}});
    }
}

void bloom_persistence::saver_loop() {
    lower_thread_priority();
    std::unique_lock lock(wake_mu_);
    while (!stopping_) {
        clock_.wait_for(lock, wake_, options_.save_interval, [this] { return stopping_; });
        if (stopping_) break;
        lock.unlock();
        guarded("save", [this] {
            save_now();
            // Memory pressure is checked every save interval, not only every cleanup interval.
            if (options_.max_memory != 0 && memory_usage() >= percent_of(options_.max_memory, 80)) {
                std::lock_guard wl(wake_mu_);
                cleanup_requested_ = true;
                wake_.notify_all();
            }
        });
        lock.lock();
    }
}

void bloom_persistence::cleanup_loop() {
    lower_thread_priority();
    std::unique_lock lock(wake_mu_);
    while (!stopping_) {
        clock_.wait_for(lock, wake_, options_.cleanup_interval,
                        [this] { return stopping_ || cleanup_requested_; });
        if (stopping_) break;
        cleanup_requested_ = false;
        lock.unlock();
        guarded("cleanup", [this] { cleanup_now(); });
        lock.lock();
    }
}

void bloom_persistence::start() {
    if (!store_ || saver_.joinable()) return;
    saver_ = std::thread([this] { saver_loop(); });
    cleaner_ = std::thread([this] { cleanup_loop(); });
}

void bloom_persistence::begin_stop(steady::time_point deadline) {
    {
        std::lock_guard lock(wake_mu_);
        if (stopped_) return;
        stopped_ = true;
        stopping_ = true;
        wake_.notify_all();
    }
    stop_started_ = clock_.monotonic_now();
    if (!store_) {
        std::lock_guard lock(final_mu_);
        final_done_ = true;
        return;
    }
    std::size_t dirty = 0;
    for (const auto& lt : live()) dirty += lt.tracker->dirty() ? 1 : 0;
    logging::info("bloom persistence shutting down", {{"dirty_trackers", dirty}});
    {
        std::lock_guard lock(final_mu_);
        final_report_.dirty = dirty;
    }
    final_saved_ = 0;
    final_failed_ = 0;
    final_ = std::thread([this, deadline] { final_save(deadline); });
}

void bloom_persistence::final_save(steady::time_point deadline) {
    // A periodic pass in progress finishes first (its writes are part of what is saved).
    if (saver_.joinable()) saver_.join();
    if (cleaner_.joinable()) cleaner_.join();
    save_report r;
    guarded("final save", [&] { r = save_now(deadline); });
    std::lock_guard lock(final_mu_);
    final_report_.saved = r.saved;
    final_report_.failed = r.errors;
    final_report_.unsaved = r.unsaved;
    final_error_ = r.first_error;
    final_done_ = true;
    final_done_cv_.notify_all();
}

stop_report bloom_persistence::finish_stop(steady::time_point deadline) {
    stop_report out;
    {
        std::unique_lock lock(final_mu_);
        if (!final_.joinable() && !final_done_) return out;  // never begun
        if (!clock_.wait_until(lock, final_done_cv_, deadline, [this] { return final_done_; })) {
            out = final_report_;
            out.timed_out = true;
            out.saved = final_saved_;
            out.failed = final_failed_;
            out.unsaved = out.dirty - std::min(out.dirty, out.saved + out.failed);
        } else {
            out = final_report_;
        }
    }
    if (!out.timed_out && final_.joinable()) final_.join();
    if (!store_) return out;
    const std::size_t total = live().size();
    const auto elapsed = ms_since(clock_, stop_started_);
    if (out.timed_out) {
        logging::error("final bloom state save ran out of time",
                       {{"saved", out.saved},
                        {"failed", out.failed},
                        {"unsaved", out.unsaved},
                        {"total", total},
                        {"timeout", format_duration(options_.shutdown_timeout)},
                        {"duration_ms", elapsed},
                        {"component", k_component}});
        return out;
    }
    if (out.unsaved > 0)
        logging::error("final bloom state save ran out of time", {{"saved", out.saved},
                                                                  {"failed", out.failed},
                                                                  {"unsaved", out.unsaved},
                                                                  {"total", total},
                                                                  {"duration_ms", elapsed},
                                                                  {"component", k_component}});
    else if (out.failed > 0)
        logging::error("final bloom state save failed", {{"saved", out.saved},
                                                         {"failed", out.failed},
                                                         {"total", total},
                                                         {"error", final_error_},
                                                         {"duration_ms", elapsed},
                                                         {"component", k_component}});
    else
        logging::info("final bloom state saved",
                      {{"saved", out.saved}, {"total", total}, {"duration_ms", elapsed}});
    logging::info("bloom persistence stopped");
    return out;
}

stop_report bloom_persistence::stop() {
    {
        std::lock_guard lock(wake_mu_);
        if (stopped_) return {};
    }
    const auto deadline = clock_.deadline_after(options_.shutdown_timeout);
    begin_stop(deadline);
    return finish_stop(deadline);
}

}  // namespace mg::persistence
