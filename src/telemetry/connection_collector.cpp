#include "telemetry/connection_collector.h"

namespace mg::telemetry {

std::vector<prometheus::MetricFamily> connection_collector::Collect() const {
    prometheus::MetricFamily closed;
    closed.name = "metrics_governor_http_connections_closed_total";
    closed.help = "Connections an HTTP listener closed on its own, by reason (timeouts, limits, malformed requests).";
    closed.type = prometheus::MetricType::Counter;
    prometheus::MetricFamily open;
    open.name = "metrics_governor_http_open_connections";
    open.help = "Connections an HTTP listener holds open.";
    open.type = prometheus::MetricType::Gauge;
    for (const auto& [listener, counters] : listeners_) {
        for (std::size_t i = 0; i < http::k_close_reasons; ++i) {
            const auto reason = static_cast<http::close_reason>(i);
            prometheus::ClientMetric m;
            m.label = {{"listener", listener}, {"reason", std::string(http::close_reason_name(reason))}};
            m.counter.value = static_cast<double>(counters->closed(reason));
            closed.metric.push_back(std::move(m));
        }
        prometheus::ClientMetric m;
        m.label = {{"listener", listener}};
        m.gauge.value = static_cast<double>(counters->open());
        open.metric.push_back(std::move(m));
    }
    return {std::move(closed), std::move(open)};
}

}  // namespace mg::telemetry
