// listener_collector: what the HTTP listeners count on their own, read on each scrape:
//   - connections (http/connection_counters.h): metrics_governor_http_connections_closed_total
//     {listener,reason} and metrics_governor_http_open_connections{listener};
//   - access control (http/access.h): metrics_governor_http_unauthorized_total{listener}
//     (requests answered 401) and metrics_governor_tls_handshake_failures_total{listener};
//   - the in-flight byte budget (http/byte_budget.h), when the listener has one:
//     metrics_governor_http_inflight_bytes{listener} and
//     metrics_governor_http_inflight_limit_bytes.
// Every series is exported from the start, at 0 (each close reason too), so rate() and alerts
// work before the first event.
// Immutable after construction; Collect() is safe from any thread.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <memory>
#include <string>
#include <vector>

#include "http/access.h"
#include "http/byte_budget.h"
#include "http/connection_counters.h"

namespace mg::telemetry {

class listener_collector final : public prometheus::Collectable {
  public:
    // One listener: its label and its counters, shared with the servers that write them.
    struct source {
        std::string listener;
        std::shared_ptr<const http::connection_counters> connections;
        std::shared_ptr<const http::access_counters> access;
        std::shared_ptr<const http::byte_budget> inflight = nullptr;  // none: no series
    };

    explicit listener_collector(std::vector<source> listeners) : listeners_(std::move(listeners)) {}
    std::vector<prometheus::MetricFamily> Collect() const override;

  private:
    std::vector<source> listeners_;
};

}  // namespace mg::telemetry
