// bloom_persistence's cleanup pass: TTL, disk and memory limits, eviction (see
// bloom_persistence.h).
#include <algorithm>
#include <map>

#include "logging/log.h"
#include "persistence/bloom_persistence.h"
#include "persistence/meta_index.h"
#include "persistence/persistence_internal.h"
#include "persistence/tracker_codec.h"

namespace mg::persistence {

using namespace detail;

std::vector<std::string> bloom_persistence::evict(const std::string& key, std::string_view reason,
                                                  std::chrono::nanoseconds age, cleanup_report& r) {
    auto keys = host_.evict(key);
    if (std::find(keys.begin(), keys.end(), key) == keys.end())
        keys.push_back(key);  // on disk only
    if (auto st = store_->remove(keys); !st)
        logging::warn("could not remove evicted bloom state",
                      {{"key", key}, {"error", st.error_message()}, {"component", k_component}});
    for (const auto& k : keys) {
        metrics_.eviction(reason);
        if (reason == "ttl")
            ++r.evicted_ttl;
        else if (reason == "size")
            ++r.evicted_size;
        else
            ++r.evicted_memory;
        logging::info("evicted tracker", {{"key", k}, {"reason", reason}, {"age", age_text(age)}});
    }
    return keys;
}

cleanup_report bloom_persistence::cleanup_now() {
    cleanup_report r;
    if (!store_) return r;
    std::lock_guard lock(cleanup_mu_);
    const auto now = clock_.wall_now();

    // Last use of every tracker: the live one's when it is in memory, else the index's.
    std::map<std::string, wall::time_point> last_used;
    for (const auto& [key, m] : store_->index().trackers) last_used[key] = m.last_updated;
    for (const auto& lt : live()) last_used[lt.key] = wall_of(lt.tracker->last_seen());

    // 1. TTL, on memory and disk alike.
    std::vector<std::pair<std::string, wall::time_point>> stale;
    for (const auto& [key, t] : last_used)
        if (now - t > options_.state_ttl) stale.emplace_back(key, t);
    for (const auto& [key, t] : stale) {
        if (!last_used.count(key)) continue;  // went with its metric
        for (const auto& k : evict(key, "ttl", now - t, r)) last_used.erase(k);
    }

    // 2. Disk over max_size: oldest by last_updated first (the stale ones are already gone).
    if (store_->disk_usage() > disk_limit()) {
        auto entries = store_->index().trackers;
        std::vector<const tracker_meta*> order;
        for (const auto& [key, m] : entries) order.push_back(&m);
        std::sort(order.begin(), order.end(), [](const tracker_meta* a, const tracker_meta* b) {
            return a->last_updated < b->last_updated;
        });
        for (const tracker_meta* m : order) {
            if (store_->disk_usage() <= disk_limit()) break;
            if (!store_->entry(m->key)) continue;
            evict(m->key, "size", now - m->last_updated, r);
        }
    }

    // 3. Memory: warn at 80% of max_memory; at 95% evict the least recently used down to 80%.
    //    Memory is the host's own figure, read again after each eviction (a metric's label
    //    trackers and sketches go with it).
    std::uint64_t memory = host_.memory_bytes();
    const auto warn_at = percent_of(memory_limit(), 80);
    const auto evict_at = percent_of(memory_limit(), 95);
    if (options_.max_memory != 0 && memory >= evict_at) {
        logging::error(
            "bloom tracker memory over 95% of max_memory, evicting least recently used trackers",
            {{"memory_usage_bytes", memory},
             {"memory_limit_bytes", options_.max_memory},
             {"component", k_component}});
        std::vector<std::pair<std::string, std::shared_ptr<cardinality::bloom_tracker>>> lru;
        for (auto& lt : live()) lru.emplace_back(lt.key, std::move(lt.tracker));
        std::sort(lru.begin(), lru.end(), [](const auto& a, const auto& b) {
            return a.second->last_seen() < b.second->last_seen();
        });
        std::set<std::string> gone;
        for (const auto& [key, t] : lru) {
            if (memory < warn_at) break;
            if (gone.count(key) != 0) continue;  // went with its metric already
            for (const auto& k : evict(key, "memory", clock_.monotonic_now() - t->last_seen(), r))
                gone.insert(k);
            memory = host_.memory_bytes();
        }
    }
    // Said when it crosses 80%, not again while it stays there.
    if (options_.max_memory != 0 && memory >= warn_at && !memory_warned_) {
        memory_warned_ = true;
        logging::warn("bloom tracker memory over 80% of max_memory",
                      {{"memory_usage_bytes", memory},
                       {"memory_limit_bytes", options_.max_memory},
                       {"component", k_component}});
    } else if (memory_warned_ && memory < warn_at) {
        memory_warned_ = false;
        logging::info(
            "bloom tracker memory back under 80% of max_memory",
            {{"memory_usage_bytes", memory}, {"memory_limit_bytes", options_.max_memory}});
    }

    metrics_.cleanup();
    r.remaining = live().size();
    const bool acted = r.evicted_ttl + r.evicted_size + r.evicted_memory > 0;
    logging::write(acted ? spdlog::level::info : spdlog::level::debug,
                   "bloom state cleanup complete",
                   {{"evicted_ttl", r.evicted_ttl},
                    {"evicted_size", r.evicted_size},
                    {"evicted_memory", r.evicted_memory},
                    {"remaining", r.remaining},
                    {"disk_usage_bytes", store_->disk_usage()}});
    return r;
}

std::uint64_t bloom_persistence::disk_usage() const {
    return store_ ? store_->disk_usage() : 0;
}

}  // namespace mg::persistence
