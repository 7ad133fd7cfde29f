// state_gauges: the bloom_persistence_* gauges that describe the current state (trackers, dirty
// trackers, disk and memory usage and limits, degraded), computed when /metrics is scraped. A
// gauge set by the saver would lag a whole save interval and never show the trackers waiting for
// a save (the saver takes their dirty marks before it sets it).
//
// Ownership: the stats endpoint holds the collectable; the source is the persistence object,
// which detaches on destruction (Collect() then returns no family), so neither outlives the other's
// needs. Thread-safety: Collect() from any thread; detach() waits for a Collect() in progress.
#pragma once

#include <prometheus/collectable.h>

#include <functional>
#include <mutex>
#include <vector>

namespace mg::persistence {

class state_gauges final : public prometheus::Collectable {
  public:
    struct values {
        double trackers = 0;
        double dirty = 0;
        double disk_usage = 0;
        double disk_limit = 0;  // 0: no limit
        double memory_usage = 0;
        double memory_limit = 0;  // 0: no limit
        bool degraded = false;
    };
    using source = std::function<values()>;

    explicit state_gauges(source s) : source_(std::move(s)) {}
    void detach();
    std::vector<prometheus::MetricFamily> Collect() const override;

  private:
    mutable std::mutex mu_;
    source source_;
};

}  // namespace mg::persistence
