// The governor as operators see it: a prometheus Collectable computing the cardinality gauges at
// scrape time (so metrics_governor_metric_cardinality carries the top -stats-top-n metric names
// only, and its label set stays bounded), and the GET /api/v1/cardinality endpoint of the stats
// listener, in the shape Prometheus and VictoriaMetrics use for /api/v1/status/tsdb.
// Both only read the governor; they are safe from any thread.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <memory>

#include "http/router.h"
#include "limits/governor.h"

namespace mg::limits {

class cardinality_collector final : public prometheus::Collectable {
  public:
    cardinality_collector(std::shared_ptr<governor> g, std::size_t top_n)
        : governor_(std::move(g)), top_n_(top_n) {}
    std::vector<prometheus::MetricFamily> Collect() const override;

  private:
    std::shared_ptr<governor> governor_;
    std::size_t top_n_;
};

// GET /api/v1/cardinality?limit=N[&metric=NAME]
void add_cardinality_routes(http::router& routes, std::shared_ptr<governor> g,
                            std::size_t default_limit);

}  // namespace mg::limits
