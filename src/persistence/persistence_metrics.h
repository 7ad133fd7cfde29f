// persistence_metrics: the spec's bloom_persistence_* families (names, types and labels exactly as
// docs/persistence.md and the operator spec list them), plus bloom_persistence_degraded.
// Registered on construction when a registry is given; with none every update is a no-op.
// Thread-safety: prometheus-cpp metrics are thread-safe.
#pragma once

#include <memory>
#include <string_view>

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace mg::persistence {

class persistence_metrics {
public:
    explicit persistence_metrics(const std::shared_ptr<prometheus::Registry>& registry);

    void save(bool ok);
    void load(bool ok);
    void cleanup();
    void eviction(std::string_view reason);  // ttl | size | memory
    void observe_save_seconds(double s);
    void observe_load_seconds(double s);
    void observe_file(double compression_ratio, double size_bytes);
    void set_gauges(double trackers, double dirty, double disk_usage, double memory_usage);
    void set_limits(double disk_limit, double memory_limit);
    void set_degraded(bool degraded);

private:
    prometheus::Counter* saves_ok_ = nullptr;
    prometheus::Counter* saves_error_ = nullptr;
    prometheus::Counter* loads_ok_ = nullptr;
    prometheus::Counter* loads_error_ = nullptr;
    prometheus::Counter* cleanups_ = nullptr;
    prometheus::Counter* evict_ttl_ = nullptr;
    prometheus::Counter* evict_size_ = nullptr;
    prometheus::Counter* evict_memory_ = nullptr;
    prometheus::Gauge* trackers_ = nullptr;
    prometheus::Gauge* dirty_ = nullptr;
    prometheus::Gauge* disk_usage_ = nullptr;
    prometheus::Gauge* disk_limit_ = nullptr;
    prometheus::Gauge* memory_usage_ = nullptr;
    prometheus::Gauge* memory_limit_ = nullptr;
    prometheus::Gauge* degraded_ = nullptr;
    prometheus::Histogram* save_seconds_ = nullptr;
    prometheus::Histogram* load_seconds_ = nullptr;
    prometheus::Histogram* ratio_ = nullptr;
    prometheus::Histogram* size_ = nullptr;
};

}  // namespace mg::persistence
