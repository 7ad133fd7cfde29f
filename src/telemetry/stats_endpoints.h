// stats_endpoints: the routes of the stats listener: GET /metrics (Prometheus text format from a
// prometheus-cpp registry plus extra collectables such as process metrics), GET /live, GET /ready.
// Other modules add their own routes (the cardinality API) to the same router.
// The registry and collectables are shared and must outlive the router; they are thread-safe.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/registry.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "http/router.h"
#include "telemetry/health.h"

namespace mg::telemetry {

struct stats_sources {
    std::shared_ptr<prometheus::Registry> registry;
    std::vector<std::shared_ptr<prometheus::Collectable>> collectables;
    std::shared_ptr<const health> state;
    std::string version;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

// The /metrics body: every family of the registry and the collectables, in text format 0.0.4.
std::string render_metrics(const stats_sources& sources);

void add_stats_routes(http::router& routes, stats_sources sources);

}  // namespace mg::telemetry
