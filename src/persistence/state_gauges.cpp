// The scrape-time persistence gauges (see state_gauges.h).
#include "persistence/state_gauges.h"

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

namespace mg::persistence {

void state_gauges::detach() {
    std::lock_guard lock(mu_);
    source_ = nullptr;
}

std::vector<prometheus::MetricFamily> state_gauges::Collect() const {
    std::lock_guard lock(mu_);
    if (!source_) return {};
    const values v = source_();
    std::vector<prometheus::MetricFamily> out;
    auto gauge = [&out](const char* name, const char* help, double value) {
        prometheus::MetricFamily f;
        f.name = name;
        f.help = help;
        f.type = prometheus::MetricType::Gauge;
        prometheus::ClientMetric m;
        m.gauge.value = value;
        f.metric.push_back(std::move(m));
        out.push_back(std::move(f));
    };
    gauge("bloom_persistence_trackers_total", "Current tracker count (trackers in memory).",
          v.trackers);
    gauge("bloom_persistence_dirty_trackers",
          "Trackers pending save (changed since their last save).", v.dirty);
    gauge("bloom_persistence_disk_usage_bytes", "Current disk usage: tracker files plus meta.json.",
          v.disk_usage);
    gauge("bloom_persistence_disk_limit_bytes", "Configured max disk size (0: no limit).",
          v.disk_limit);
    gauge("bloom_persistence_memory_usage_bytes",
          "Current in-memory usage: trackers and label sketches (= "
          "metrics_governor_tracker_memory_bytes).",
          v.memory_usage);
    gauge("bloom_persistence_memory_limit_bytes", "Configured max memory (0: no limit).",
          v.memory_limit);
    gauge("bloom_persistence_degraded",
          "1 while persistence does not work: directory unusable or not writable, or the last save "
          "pass failed.",
          v.degraded ? 1 : 0);
    return out;
}

}  // namespace mg::persistence
