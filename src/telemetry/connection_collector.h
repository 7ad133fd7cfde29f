// connection_collector: the HTTP listeners' connection counters (http/connection_counters.h) as
// metrics_governor_http_connections_closed_total{listener,reason} and
// metrics_governor_http_open_connections{listener}, read on each scrape. Every reason is exported
// from the start, at 0, so rate() and alerts work before the first close.
// Immutable after construction; Collect() is safe from any thread.
#pragma once

#include <memory>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <string>
#include <utility>
#include <vector>

#include "http/connection_counters.h"

namespace mg::telemetry {

class connection_collector final : public prometheus::Collectable {
public:
    // (listener label, its counters); the counters are shared with the servers that write them.
    using source = std::pair<std::string, std::shared_ptr<const http::connection_counters>>;

    explicit connection_collector(std::vector<source> listeners) : listeners_(std::move(listeners)) {}
    std::vector<prometheus::MetricFamily> Collect() const override;

private:
    std::vector<source> listeners_;
};

}  // namespace mg::telemetry
