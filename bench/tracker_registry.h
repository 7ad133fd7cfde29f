// tracker_registry: the bloom_tracker of every metric name, created on first use. A fixture of
// cardinality_bench (registry lookups under contention); the daemon keeps its trackers in the
// governor's own map (limits/governor.h), so this is not part of any module. Its unit test is
// tests/unit/bench/tracker_registry_test.cpp.
//
// A sharded_map (common/sharded_map.h): 64 shards chosen by a hash of the name, each a
// std::shared_mutex over a map with heterogeneous lookup, so finding an existing tracker takes a
// shared lock on one shard only and allocates nothing. Creation re-checks under the exclusive
// lock, so concurrent get_or_create of one name yields one tracker.
//
// Thread-safety: all methods may be called concurrently. Trackers are handed out as shared_ptr:
// erase() removes a tracker from the registry while callers still holding it finish safely.
// for_each() visits a shard under its shared lock; the callback must not call back into the
// registry's mutating methods. The clock is not owned and must outlive the registry.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cardinality/bloom_tracker.h"
#include "common/clock.h"
#include "common/sharded_map.h"

namespace mg::bench {

class tracker_registry {
  public:
    static constexpr std::size_t k_shards = sharded_map<cardinality::bloom_tracker>::k_shards;
    using tracker_ptr = std::shared_ptr<cardinality::bloom_tracker>;

    // Throws std::invalid_argument when defaults.validate() fails.
    tracker_registry(const cardinality::tracker_config& defaults, mg::clock& clock);

    // The tracker of `metric_name`, created with the default config when absent.
    tracker_ptr get_or_create(std::string_view metric_name);
    // Same, with a config used only if the tracker has to be created.
    tracker_ptr get_or_create(std::string_view metric_name,
                              const cardinality::tracker_config& config);
    // nullptr when absent.
    tracker_ptr find(std::string_view metric_name) const { return map_.find(metric_name); }
    // Adds or replaces (restore at startup). Returns false when tracker is null.
    bool put(std::string_view metric_name, tracker_ptr tracker) {
        return map_.put(metric_name, std::move(tracker));
    }
    // Returns whether a tracker was removed.
    bool erase(std::string_view metric_name) { return map_.erase(metric_name); }
    void for_each(const std::function<void(std::string_view, const tracker_ptr&)>& fn) const {
        map_.for_each(fn);
    }

    std::size_t size() const { return map_.size(); }
    // Sum of the trackers' memory_bytes() (walks every shard).
    std::size_t memory_bytes() const;
    const cardinality::tracker_config& defaults() const { return defaults_; }

  private:
    cardinality::tracker_config defaults_;
    mg::clock& clock_;
    sharded_map<cardinality::bloom_tracker> map_;
};

}  // namespace mg::bench
