// The overflow metrics at scrape time (see overflow_metrics.h).
#include "ingest/overflow_metrics.h"

#include <algorithm>
#include <string>
#include <utility>

namespace mg::ingest {

namespace {

prometheus::MetricFamily one(std::string name, std::string help, prometheus::MetricType type,
                             std::uint64_t value) {
    prometheus::MetricFamily f;
    f.name = std::move(name);
    f.help = std::move(help);
    f.type = type;
    prometheus::ClientMetric m;
    if (type == prometheus::MetricType::Counter) {
        m.counter.value = static_cast<double>(value);
    } else {
        m.gauge.value = static_cast<double>(value);
    }
    f.metric.push_back(std::move(m));
    return f;
}

}  // namespace

std::vector<prometheus::MetricFamily> overflow_collector::Collect() const {
    using prometheus::MetricType;
    const auto s = store_.stats();
    std::vector<prometheus::MetricFamily> out;
    out.push_back(one("metrics_governor_overflow_series_folded_total",
                      "Series past a limit folded into an overflow series instead of being "
                      "dropped (one per series per request).",
                      MetricType::Counter, s.series_folded));
    out.push_back(one("metrics_governor_overflow_samples_folded_total",
                      "Samples of those series that went into an overflow series.",
                      MetricType::Counter, s.samples_folded));
    out.push_back(one("metrics_governor_overflow_points_lost_total",
                      "Points of folded series that could not be folded and are lost: native "
                      "histograms, OTLP histograms and summaries, OTLP/JSON, a full store.",
                      MetricType::Counter, sink_.unfolded_points() + s.samples_refused));
    out.push_back(one("metrics_governor_overflow_series_emitted_total",
                      "Emissions of overflow series handed to the exporter (one per overflow "
                      "series per interval).",
                      MetricType::Counter, s.emitted - std::min(s.emitted, s.emit_refused)));
    out.push_back(one("metrics_governor_overflow_emit_refused_total",
                      "Emissions of overflow series the exporter did not take (queue full, "
                      "shutting down); the next emission of a counter carries the increase.",
                      MetricType::Counter, s.emit_refused));
    out.push_back(one("metrics_governor_overflow_series",
                      "Overflow series held (each emitted every overflow_interval).",
                      MetricType::Gauge, s.overflow_series));
    out.push_back(one("metrics_governor_overflow_tracked_series",
                      "Folded series the overflow series remember (bounded per overflow series "
                      "by overflow_max_tracked).",
                      MetricType::Gauge, s.tracked));
    out.push_back(one("metrics_governor_overflow_evictions_total",
                      "Folded series pushed out by overflow_max_tracked; their next sample starts "
                      "a fresh increase (the total undercounts, never jumps).",
                      MetricType::Counter, s.evictions));
    out.push_back(one("metrics_governor_overflow_series_restored_total",
                      "Overflow series taken back at the start from the state the previous run "
                      "saved at its clean stop; their counters go on from their totals.",
                      MetricType::Counter, s.restored));
    out.push_back(one("metrics_governor_overflow_state_refused_total",
                      "Saved overflow states that could not be read (kept as "
                      "overflow.state.gz.corrupt); their counters start again at 0.",
                      MetricType::Counter, s.state_refused));
    return out;
}

}  // namespace mg::ingest
