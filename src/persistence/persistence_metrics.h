// persistence_metrics: the spec's bloom_persistence_* counters and histograms (names, types and
// labels exactly as docs/persistence.md and the operator spec list them), plus our own counters of
// what happened to the directory. The gauges of the current state are state_gauges (scrape time).
// Registered on construction when a registry is given; with none every update is a no-op.
// Thread-safety: prometheus-cpp metrics are thread-safe.
#pragma once

#include <memory>
#include <string_view>

namespace prometheus {
class Registry;
class Counter;
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
    void directory_recreated();
    void files_set_aside(double n);
    void index_recovered(double n);
    // Bytes written to tracker files by a save, by kind: a whole tracker (snapshot) or the
    // changes of its current generation (increment).
    void written(bool increment, double bytes);
    // An increment left out at restore (torn, unreadable, or after one that was): the tracker is
    // restored from its base and the increments before it.
    void increment_skipped();
    // A tracker whose generation files (head, frozen generations) did not all verify at restore:
    // it is restored from its base file instead.
    void layers_skipped();

  private:
    prometheus::Counter* saves_ok_ = nullptr;
    prometheus::Counter* saves_error_ = nullptr;
    prometheus::Counter* loads_ok_ = nullptr;
    prometheus::Counter* loads_error_ = nullptr;
    prometheus::Counter* cleanups_ = nullptr;
    prometheus::Counter* evict_ttl_ = nullptr;
    prometheus::Counter* evict_size_ = nullptr;
    prometheus::Counter* evict_memory_ = nullptr;
    prometheus::Counter* recreated_ = nullptr;
    prometheus::Counter* set_aside_ = nullptr;
    prometheus::Counter* recovered_ = nullptr;
    prometheus::Counter* written_snapshot_ = nullptr;
    prometheus::Counter* written_increment_ = nullptr;
    prometheus::Counter* layers_skipped_ = nullptr;
    prometheus::Counter* increments_skipped_ = nullptr;
    prometheus::Histogram* save_seconds_ = nullptr;
    prometheus::Histogram* load_seconds_ = nullptr;
    prometheus::Histogram* ratio_ = nullptr;
    prometheus::Histogram* size_ = nullptr;
};

}  // namespace mg::persistence
