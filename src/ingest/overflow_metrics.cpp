// The overflow metrics at scrape time (see overflow_metrics.h).
#include "ingest/overflow_metrics.h"

#include <algorithm>
#include <string>
#include <utility>

namespace mg::ingest {

namespace {

struct family {
    const char* name;
    const char* help;
    prometheus::MetricType type;
    std::uint64_t value;
};

prometheus::MetricFamily to_family(const family& in) {
    prometheus::MetricFamily f;
    f.name = in.name;
    f.help = in.help;
    f.type = in.type;
    prometheus::ClientMetric m;
    if (in.type == prometheus::MetricType::Counter) {
        m.counter.value = static_cast<double>(in.value);
    } else {
        m.gauge.value = static_cast<double>(in.value);
    }
    f.metric.push_back(std::move(m));
    return f;
}

}  // namespace

std::vector<prometheus::MetricFamily> overflow_collector::Collect() const {
    constexpr auto counter = prometheus::MetricType::Counter;
    constexpr auto gauge = prometheus::MetricType::Gauge;
    const auto s = store_.stats();
    const family families[] = {
        {"metrics_governor_overflow_series_folded_total",
         "Series past a limit folded into an overflow series instead of being dropped (one per "
         "series per request).",
         counter, s.series_folded},
        {"metrics_governor_overflow_samples_folded_total",
         "Samples of those series that went into an overflow series.", counter, s.samples_folded},
        {"metrics_governor_overflow_points_lost_total",
         "Points of folded series that could not be folded and are lost: native histograms, OTLP "
         "histograms and summaries, OTLP/JSON, a full store.",
         counter, sink_.unfolded_points() + s.samples_refused},
        {"metrics_governor_overflow_series_emitted_total",
         "Emissions of overflow series the exporter took (one per overflow series per "
         "interval).",
         counter, s.emitted},
        {"metrics_governor_overflow_emit_refused_total",
         "Emissions of overflow series the exporter did not take (queue full, shutting down); the "
         "next emission of a counter carries the increase.",
         counter, s.emit_refused},
        {"metrics_governor_overflow_series",
         "Overflow series held (each emitted every overflow_interval).", gauge, s.overflow_series},
        {"metrics_governor_overflow_tracked_series",
         "Folded series the overflow series remember (bounded per overflow series by "
         "overflow_max_tracked).",
         gauge, s.tracked},
        {"metrics_governor_overflow_evictions_total",
         "Folded series pushed out by overflow_max_tracked; their next sample starts a fresh "
         "increase (the total undercounts, never jumps).",
         counter, s.evictions},
        {"metrics_governor_overflow_series_restored_total",
         "Overflow series taken back at the start from the state the previous run saved at its "
         "clean stop; their counters go on from their totals.",
         counter, s.restored},
        {"metrics_governor_overflow_state_refused_total",
         "Saved overflow states that could not be read (kept as overflow.state.gz.corrupt); their "
         "counters start again at 0.",
         counter, s.state_refused},
    };
    std::vector<prometheus::MetricFamily> out;
    for (const auto& f : families) out.push_back(to_family(f));
    return out;
}

}  // namespace mg::ingest
