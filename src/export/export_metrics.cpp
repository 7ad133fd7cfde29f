#include "export/export_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "protocol/otlp_to_prw.h"

namespace mg::exporter {

namespace {

prometheus::Counter& counter(prometheus::Registry& registry, const std::string& name,
                             const std::string& help) {
    return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Family<prometheus::Counter>& counter_family(prometheus::Registry& registry,
                                                        const std::string& name,
                                                        const std::string& help) {
    return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

prometheus::Gauge& gauge(prometheus::Registry& registry, const std::string& name,
                         const std::string& help) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

std::string reason_name(std::size_t i) {
    return std::string(protocol::to_string(static_cast<protocol::prw_conversion_drop>(i)));
}

}  // namespace

export_metrics::export_metrics(prometheus::Registry& registry)
    : sent_points_(counter(registry, "metrics_governor_datapoints_sent_total",
                           "Data points delivered to the backend (2xx).")),
      sent_series_(counter(registry, "metrics_governor_export_series_sent_total",
                           "Series (OTLP: data points) delivered to the backend (2xx).")),
      requests_(counter_family(
          registry, "metrics_governor_export_requests_total",
          "Upstream requests by the status of the answer: the HTTP status code, or the gRPC status "
          "name (OK, UNAVAILABLE, ...) with -exporter-protocol=otlp-grpc.")),
      errors_(counter_family(registry, "metrics_governor_export_errors_total",
                             "Failed upstream requests by reason (connect, timeout, tls, "
                             "network, resolve, http_429, http_5xx, http_4xx, http_413, encode, "
                             "disk).")),
      retries_(counter(registry, "metrics_governor_export_retries_total",
                       "Upstream requests scheduled again after a retryable failure.")),
      dropped_series_(counter_family(registry, "metrics_governor_export_dropped_series_total",
                                     "Accepted series the exporter gave up on, by reason "
                                     "(rejected, too_large, retries_exhausted, shutdown).")),
      dropped_points_(counter_family(registry, "metrics_governor_export_dropped_datapoints_total",
                                     "Accepted data points the exporter gave up on, by reason.")),
      queue_full_(counter(registry, "metrics_governor_export_queue_full_total",
                          "Submissions refused because the export queue was full (429).")),
      discarded_points_(counter(registry, "metrics_governor_export_discarded_datapoints_total",
                                "Data points discarded in observe-only mode (no "
                                "-exporter-endpoint).")),
      queue_bytes_(gauge(registry, "metrics_governor_queue_bytes",
                         "Bytes of accepted export data not yet delivered (queued and "
                         "in flight).")),
      queue_points_(gauge(registry, "metrics_governor_queue_datapoints",
                          "Data points accepted for export and not yet delivered or "
                          "given up on (queued, in flight, or on disk).")),
      queue_max_bytes_(gauge(registry, "metrics_governor_queue_max_bytes",
                             "The export queue's byte budget (-queue-max-bytes).")),
      disk_bytes_(gauge(registry, "metrics_governor_queue_disk_bytes",
                        "Bytes of the disk queue's segment files (-queue-path).")),
      disk_max_bytes_(gauge(registry, "metrics_governor_queue_disk_max_bytes",
                            "The disk queue's byte budget (-queue-max-disk-bytes); 0 "
                            "without a disk queue.")),
      disk_corrupt_(counter(registry, "metrics_governor_queue_disk_corrupt_total",
                            "Torn or corrupt disk queue records (or files) cut off at "
                            "startup.")),
      converted_points_(counter(registry, "metrics_governor_export_converted_datapoints_total",
                                "OTLP data points converted to remote write for the backend "
                                "(-exporter-protocol=prw).")),
      conversion_dropped_(
          counter_family(registry, "metrics_governor_export_conversion_dropped_datapoints_total",
                         "Kept OTLP data points that cannot be converted to remote "
                         "write, by reason (delta_temporality, "
                         "unspecified_temporality, invalid_metric_name, "
                         "invalid_label_name, invalid_point, unsupported_scale, "
                         "exponential_histogram).")),
      disk_replayed_(counter(registry, "metrics_governor_queue_disk_replayed_payloads_total",
                             "Payloads read back from the disk queue at startup and queued "
                             "for sending.")),
      observe_only_gauge_(gauge(registry, "metrics_governor_export_observe_only",
                                "1 when no -exporter-endpoint is set and kept data is "
                                "discarded.")),
      shards_gauge_(gauge(registry, "metrics_governor_export_shards",
                          "Ordered lanes the exporter sends on now (one request in flight "
                          "each), between -exporter-min-shards and -exporter-max-shards.")),
      reshards_(counter_family(registry, "metrics_governor_export_reshards_total",
                               "Changes of the shard count, by direction (up, down).")),
      lane_map_series_(gauge(registry, "metrics_governor_export_lane_map_series",
                             "Series in the current epoch's lane map (each keeps the lane of "
                             "the request that first brought it); 0 on one shard.")),
      lane_map_renewals_(counter(registry, "metrics_governor_export_lane_map_renewals_total",
                                 "New epochs started because the lane map reached its bound "
                                 "(series not in a full map travel hash % shards).")),
      backend_rejected_points_(
          counter(registry, "metrics_governor_export_backend_rejected_datapoints_total",
                  "Data points the backend refused inside requests it answered with success "
                  "(OTLP partial_success.rejected_data_points); the accounting counts them as "
                  "sent.")) {}

void export_metrics::accepted(std::uint32_t series, std::uint64_t points) {
    std::lock_guard lock(mu_);
    s_.submitted_series += series;
    s_.submitted_points += points;
    s_.outstanding_series += series;
    s_.outstanding_points += points;
    publish_outstanding();
}

void export_metrics::reverted(std::uint32_t series, std::uint64_t points) {
    std::lock_guard lock(mu_);
    s_.submitted_series -= series;
    s_.submitted_points -= points;
    s_.outstanding_series -= series;
    s_.outstanding_points -= points;
    publish_outstanding();
}

void export_metrics::sent(std::uint32_t series, std::uint64_t points) {
    sent_points_.Increment(static_cast<double>(points));
    sent_series_.Increment(series);
    std::lock_guard lock(mu_);
    s_.sent_series += series;
    s_.sent_points += points;
    s_.outstanding_series -= series;
    s_.outstanding_points -= points;
    publish_outstanding();
}

void export_metrics::dropped(std::uint32_t series, std::uint64_t points,
                             const std::string& reason) {
    dropped_series_.Add({{"reason", reason}}).Increment(series);
    dropped_points_.Add({{"reason", reason}}).Increment(static_cast<double>(points));
    std::lock_guard lock(mu_);
    s_.dropped_series += series;
    s_.dropped_points += points;
    s_.dropped_points_by_reason[reason] += points;
    if (reason == "shutdown") {
        shutdown_series_ += series;
        shutdown_points_ += points;
    }
    s_.outstanding_series -= series;
    s_.outstanding_points -= points;
    publish_outstanding();
}

void export_metrics::queue_full() {
    queue_full_.Increment();
    std::lock_guard lock(mu_);
    ++s_.queue_full;
}

void export_metrics::discarded(std::uint64_t points) {
    discarded_points_.Increment(static_cast<double>(points));
    std::lock_guard lock(mu_);
    s_.discarded_points += points;
}

void export_metrics::responded(std::string_view code) {
    {
        std::lock_guard lock(mu_);
        ++s_.requests;
    }
    requests_.Add({{"code", std::string(code)}}).Increment();
}

void export_metrics::error(const std::string& reason) {
    errors_.Add({{"reason", reason}}).Increment();
}

void export_metrics::retried() {
    retries_.Increment();
    std::lock_guard lock(mu_);
    ++s_.retries;
}

void export_metrics::backend_rejected(std::uint64_t points) {
    backend_rejected_points_.Increment(static_cast<double>(points));
}

void export_metrics::replayed(std::uint64_t payloads) {
    disk_replayed_.Increment(static_cast<double>(payloads));
    std::lock_guard lock(mu_);
    s_.replayed_payloads += payloads;
}

void export_metrics::disk_corrupt(std::uint64_t n) {
    disk_corrupt_.Increment(static_cast<double>(n));
}

void export_metrics::resharded(std::uint32_t from, std::uint32_t to) {
    shards_gauge_.Set(static_cast<double>(to));
    reshards_.Add({{"direction", to > from ? "up" : "down"}}).Increment();
    std::lock_guard lock(mu_);
    ++s_.reshards;
}

void export_metrics::set_lane_map_series(std::size_t series) {
    lane_map_series_.Set(static_cast<double>(series));
}

void export_metrics::lane_map_renewed() {
    lane_map_renewals_.Increment();
}

void export_metrics::converted(const protocol::prw_conversion_result& r) {
    converted_points_.Increment(static_cast<double>(r.points_converted));
    for (std::size_t i = 0; i < r.dropped.size(); ++i) {
        if (r.dropped[i] != 0)
            conversion_dropped_.Add({{"reason", reason_name(i)}})
                .Increment(static_cast<double>(r.dropped[i]));
    }
    std::lock_guard lock(mu_);
    s_.converted_points += r.points_converted;
    s_.conversion_dropped_points += r.points_dropped();
    for (std::size_t i = 0; i < r.dropped.size(); ++i) {
        if (r.dropped[i] != 0)
            s_.conversion_dropped_points_by_reason[reason_name(i)] += r.dropped[i];
    }
}

void export_metrics::set_queue_bytes(std::uint64_t bytes) {
    queue_bytes_.Set(static_cast<double>(bytes));
}
void export_metrics::set_queue_max_bytes(std::uint64_t bytes) {
    queue_max_bytes_.Set(static_cast<double>(bytes));
}
void export_metrics::set_disk_bytes(std::uint64_t bytes) {
    disk_bytes_.Set(static_cast<double>(bytes));
}
void export_metrics::set_disk_max_bytes(std::uint64_t bytes) {
    disk_max_bytes_.Set(static_cast<double>(bytes));
}
void export_metrics::set_observe_only(bool on) {
    observe_only_gauge_.Set(on ? 1 : 0);
}
void export_metrics::set_shards(std::uint32_t shards) {
    shards_gauge_.Set(static_cast<double>(shards));
}

export_stats export_metrics::snapshot() const {
    std::lock_guard lock(mu_);
    return s_;
}

std::pair<std::uint64_t, std::uint64_t> export_metrics::shutdown_drops() const {
    std::lock_guard lock(mu_);
    return {shutdown_series_, shutdown_points_};
}

void export_metrics::publish_outstanding() {
    queue_points_.Set(static_cast<double>(s_.outstanding_points));
}

}  // namespace mg::exporter
