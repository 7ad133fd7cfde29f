// export_metrics: what the exporter counts. Each event is recorded twice, in the Prometheus
// families of docs/metrics.md (registered once, by the constructor) and in the plain counters
// behind exporter::stats(), so the two never disagree and no caller has to remember both. The
// gauges (queue bytes, disk bytes, shards, ...) are set by whoever changed what they show.
//
// The accounting invariant: submitted = sent + dropped + outstanding holds in every snapshot(),
// because the counters behind it change under one mutex. metrics_governor_queue_datapoints
// follows outstanding points and is set under that mutex too, so concurrent updates cannot leave
// it at a stale value.
//
// Thread-safety: every method is safe from any thread (prometheus-cpp metrics are atomics).
// Ownership: the registry must outlive this object.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "export/exporter.h"

namespace prometheus {
class Counter;
class Gauge;
template <typename T>
class Family;
}  // namespace prometheus

namespace mg::protocol {
struct prw_conversion_result;
}

namespace mg::exporter {

class export_metrics {
  public:
    explicit export_metrics(prometheus::Registry& registry);
    export_metrics(const export_metrics&) = delete;
    export_metrics& operator=(const export_metrics&) = delete;

    // ---- the accounting (submitted = sent + dropped + outstanding) ----
    // A submission queued: submitted and outstanding.
    void accepted(std::uint32_t series, std::uint64_t points);
    // An accepted() whose push then failed: never accepted, neither sent nor dropped.
    void reverted(std::uint32_t series, std::uint64_t points);
    // Delivered to the backend (2xx).
    void sent(std::uint32_t series, std::uint64_t points);
    // Given up on for good (rejected, too_large, retries_exhausted, shutdown, encode).
    void dropped(std::uint32_t series, std::uint64_t points, const std::string& reason);

    // ---- events ----
    void queue_full();                     // a submission refused for room (429)
    void discarded(std::uint64_t points);  // observe-only mode
    // An upstream answer of any status: the HTTP status code or the gRPC status name.
    void responded(std::string_view code);
    void error(const std::string& reason);  // a failed upstream request or an internal failure
    void retried();
    // Points a backend refused inside a successful answer (OTLP partial_success).
    void backend_rejected(std::uint64_t points);
    void replayed(std::uint64_t payloads);  // read back from the disk queue at startup
    void disk_corrupt(std::uint64_t n);
    // A shard count change, counted before the new count is visible to anyone.
    void resharded(std::uint32_t from, std::uint32_t to);
    // OTLP converted to remote write (accepted submissions only).
    void converted(const protocol::prw_conversion_result& r);

    // ---- gauges ----
    void set_queue_bytes(std::uint64_t bytes);
    void set_queue_max_bytes(std::uint64_t bytes);
    void set_disk_bytes(std::uint64_t bytes);
    void set_disk_max_bytes(std::uint64_t bytes);
    void set_observe_only(bool on);
    void set_shards(std::uint32_t shards);
    // The lane map (lane_affinity.h): series mapped in the current epoch; a new epoch because
    // the map reached its bound.
    void set_lane_map_series(std::size_t series);
    void lane_map_renewed();

    // The counters behind stats(); the fields the exporter fills from elsewhere (connections,
    // disk bytes and corruption) are left at 0.
    export_stats snapshot() const;
    // Series and points dropped with reason "shutdown" so far (drain()'s report).
    std::pair<std::uint64_t, std::uint64_t> shutdown_drops() const;

  private:
    void publish_outstanding();  // mu_ held

    mutable std::mutex mu_;
    export_stats s_;
    std::uint64_t shutdown_series_ = 0;
    std::uint64_t shutdown_points_ = 0;

    prometheus::Counter& sent_points_;
    prometheus::Counter& sent_series_;
    prometheus::Family<prometheus::Counter>& requests_;
    prometheus::Family<prometheus::Counter>& errors_;
    prometheus::Counter& retries_;
    prometheus::Family<prometheus::Counter>& dropped_series_;
    prometheus::Family<prometheus::Counter>& dropped_points_;
    prometheus::Counter& queue_full_;
    prometheus::Counter& discarded_points_;
    prometheus::Gauge& queue_bytes_;
    prometheus::Gauge& queue_points_;
    prometheus::Gauge& queue_max_bytes_;
    prometheus::Gauge& disk_bytes_;
    prometheus::Gauge& disk_max_bytes_;
    prometheus::Counter& disk_corrupt_;
    prometheus::Counter& converted_points_;
    prometheus::Family<prometheus::Counter>& conversion_dropped_;
    prometheus::Counter& disk_replayed_;
    prometheus::Gauge& observe_only_gauge_;
    prometheus::Gauge& shards_gauge_;
    prometheus::Family<prometheus::Counter>& reshards_;
    prometheus::Gauge& lane_map_series_;
    prometheus::Counter& lane_map_renewals_;
    prometheus::Counter& backend_rejected_points_;
};

}  // namespace mg::exporter
