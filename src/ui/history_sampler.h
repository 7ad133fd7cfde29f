// history_sampler: takes one sample of the governor for the cardinality history (the daemon's
// timer calls it every history interval): the top metrics of every tenant with their drops by
// reason, the total of active series, and the daemon's cumulative counters of series kept and
// dropped by reason, read from the prometheus registry (metrics_governor_series_received_total and
// metrics_governor_series_dropped_total), so the rates on the page are the ones /metrics shows.
// Safe from any thread: it only reads the governor and the registry.
#pragma once

#include <prometheus/registry.h>

#include <cstddef>

#include "common/clock.h"
#include "limits/governor.h"
#include "ui/cardinality_history.h"

namespace mg::ui {

// `registry` may be null (no counters: kept and dropped stay 0).
history_input sample_governor(limits::governor& g, const prometheus::Registry* registry,
                              std::size_t top_n, const mg::clock& clock);

}  // namespace mg::ui
