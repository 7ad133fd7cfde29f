// access_collector: the HTTP listeners' access-control refusals (http/access.h access_counters)
// as metrics_governor_http_unauthorized_total{listener} (requests answered 401) and
// metrics_governor_tls_handshake_failures_total{listener}, read on each scrape. Both are
// exported from the start, at 0, so rate() and alerts work before the first refusal.
// Immutable after construction; Collect() is safe from any thread.
#pragma once

#include <memory>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <string>
#include <utility>
#include <vector>

#include "http/access.h"

namespace mg::telemetry {

class access_collector final : public prometheus::Collectable {
public:
    // (listener label, its counters); the counters are shared with the servers that write them.
    using source = std::pair<std::string, std::shared_ptr<const http::access_counters>>;

    explicit access_collector(std::vector<source> listeners) : listeners_(std::move(listeners)) {}
    std::vector<prometheus::MetricFamily> Collect() const override;

private:
    std::vector<source> listeners_;
};

}  // namespace mg::telemetry
