// tracker_host: what the persistence module needs from the owner of the live trackers (the
// governor, through governor_host), so the saver, restore and eviction can be tested against a
// plain map and the governor never depends on persistence.
//
// Keys name trackers on disk and in logs. The governor's are:
//   stats:metric:<metric name>                the tracker a metric's max_cardinality is checked on
//   limits:label:<label name>:<metric name>   the distinct values of one label_limits label
// (label names cannot contain ':', so the split is unambiguous). A non-default tenant's are
//   stats:tenant:<escaped tenant>:metric:<metric name>
//   limits:tenant:<escaped tenant>:label:<label name>:<metric name>
// with the tenant escaped by limits/tenant_escape.h (no ':', '/', '.', control byte or NUL, one
// spelling per tenant), so no tenant string makes two keys (or two file names) meet.
//
// Thread-safety: implementations must allow for_each/evict from the persistence threads while
// the ingest path runs; adopt is called at startup, before ingest starts.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cardinality/bloom_tracker.h"
#include "common/result.h"

namespace mg::persistence {

class tracker_host {
  public:
    using visitor = std::function<void(const std::string& key,
                                       const std::shared_ptr<cardinality::bloom_tracker>&)>;

    virtual ~tracker_host() = default;
    // Every live tracker with its key.
    virtual void for_each(const visitor& fn) const = 0;
    // Installs a restored tracker under its key; an error for a key this host does not use.
    virtual status adopt(const std::string& key,
                         std::shared_ptr<cardinality::bloom_tracker> tracker) = 0;
    // Forgets a tracker; returns the keys that went with it (itself, and for a metric its label
    // trackers), empty when it was not there.
    virtual std::vector<std::string> evict(const std::string& key) = 0;
    // What the process holds for tracking (every tracker and what goes with it): the one memory
    // figure, for bloom_persistence_memory_usage_bytes and the max_memory thresholds alike.
    virtual std::uint64_t memory_bytes() const = 0;
};

}  // namespace mg::persistence
