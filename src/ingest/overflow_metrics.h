// overflow_collector: the overflow metrics (issue 21, docs/metrics.md "Overflow"), computed at
// scrape time from the store's (the emitter counts into it) and the sink's counters, so folding
// costs no metric library call. Collect() from the scrape thread; both must outlive the collector.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <vector>

#include "ingest/overflow_sink.h"
#include "overflow/overflow_store.h"

namespace mg::ingest {

class overflow_collector final : public prometheus::Collectable {
  public:
    overflow_collector(const overflow::overflow_store& store, const overflow_sink& sink)
        : store_(store), sink_(sink) {}
    std::vector<prometheus::MetricFamily> Collect() const override;

  private:
    const overflow::overflow_store& store_;
    const overflow_sink& sink_;
};

}  // namespace mg::ingest
