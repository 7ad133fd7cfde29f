// tracker_registry: the bloom_tracker of every metric name, created on first use.
//
// 64 shards chosen by a hash of the name; each shard is a std::shared_mutex over an
// unordered_map<std::string, shared_ptr<bloom_tracker>> with heterogeneous lookup, so finding an
// existing tracker takes a shared lock on one shard only and allocates nothing; threads working
// on metrics in different shards never touch the same lock. Creation takes the shard's exclusive
// lock and re-checks, so concurrent get_or_create of one name yields one tracker.
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

namespace mg::cardinality {

class tracker_registry {
  public:
    static constexpr std::size_t k_shards = 64;
    using tracker_ptr = std::shared_ptr<bloom_tracker>;

    // Throws std::invalid_argument when defaults.validate() fails.
    tracker_registry(const tracker_config& defaults, mg::clock& clock);

    // The tracker of `metric_name`, created with the default config when absent.
    tracker_ptr get_or_create(std::string_view metric_name);
    // Same, with a config used only if the tracker has to be created.
    tracker_ptr get_or_create(std::string_view metric_name, const tracker_config& config);
    // nullptr when absent.
    tracker_ptr find(std::string_view metric_name) const;
    // Adds or replaces (restore at startup). Returns false when tracker is null.
    bool put(std::string_view metric_name, tracker_ptr tracker);
    // Returns whether a tracker was removed.
    bool erase(std::string_view metric_name);
    void for_each(const std::function<void(std::string_view, const tracker_ptr&)>& fn) const;

    std::size_t size() const { return size_.load(std::memory_order_relaxed); }
    // Sum of the trackers' memory_bytes() (walks every shard).
    std::size_t memory_bytes() const;
    const tracker_config& defaults() const { return defaults_; }

  private:
    struct name_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept;
    };
    struct name_eq {
        using is_transparent = void;
        bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
    };
    struct alignas(64) shard {
        mutable std::shared_mutex mu;
        std::unordered_map<std::string, tracker_ptr, name_hash, name_eq> map;
    };

    shard& shard_for(std::string_view name, std::size_t& hash) const;

    tracker_config defaults_;
    mg::clock& clock_;
    std::atomic<std::size_t> size_{0};
    mutable std::array<shard, k_shards> shards_;
};

}  // namespace mg::cardinality
