// process_collector: the standard process_* metrics (CPU seconds, resident and virtual memory,
// open and max file descriptors, start time) plus metrics_governor_build_info, read from /proc on
// each scrape. prometheus-cpp's core library has no process metrics of its own.
// Stateless apart from the build labels; Collect() is safe from any thread.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <string>
#include <vector>

namespace mg::telemetry {

struct build_info {
    std::string version;
    std::string compiler;
    std::string build_type;
};

class process_collector final : public prometheus::Collectable {
  public:
    explicit process_collector(build_info info) : info_(std::move(info)) {}
    std::vector<prometheus::MetricFamily> Collect() const override;

  private:
    build_info info_;
};

}  // namespace mg::telemetry
