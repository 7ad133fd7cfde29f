#include "telemetry/listener_collector.h"

#include <utility>

namespace mg::telemetry {
namespace {

prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type) {
    prometheus::MetricFamily f;
    f.name = std::move(name);
    f.help = std::move(help);
    f.type = type;
    return f;
}

// One sample of `f` (a counter or a gauge, as the family says).
void add(prometheus::MetricFamily& f, std::vector<prometheus::ClientMetric::Label> labels,
         std::uint64_t value) {
    prometheus::ClientMetric m;
    m.label = std::move(labels);
    if (f.type == prometheus::MetricType::Counter) {
        m.counter.value = static_cast<double>(value);
    } else {
        m.gauge.value = static_cast<double>(value);
    }
    f.metric.push_back(std::move(m));
}

}  // namespace

std::vector<prometheus::MetricFamily> listener_collector::Collect() const {
    using prometheus::MetricType;
    auto closed = family("metrics_governor_http_connections_closed_total",
                         "Connections an HTTP listener closed on its own, by reason (timeouts, "
                         "limits, malformed requests).",
                         MetricType::Counter);
    auto open = family("metrics_governor_http_open_connections",
                       "Connections an HTTP listener holds open.", MetricType::Gauge);
    auto unauthorized =
        family("metrics_governor_http_unauthorized_total",
               "Requests an HTTP listener refused with 401: missing or wrong credentials.",
               MetricType::Counter);
    auto tls_failed = family("metrics_governor_tls_handshake_failures_total",
                             "TLS handshakes an HTTPS listener did not complete: timed out, not "
                             "TLS, or no valid client certificate.",
                             MetricType::Counter);
    auto inflight = family(
        "metrics_governor_http_inflight_bytes",
        "Bytes of request bodies a listener holds now (-receiver-max-inflight-bytes bounds them).",
        MetricType::Gauge);
    auto inflight_limit = family(
        "metrics_governor_http_inflight_limit_bytes",
        "The in-flight byte budget of a listener (-receiver-max-inflight-bytes, or its default).",
        MetricType::Gauge);
    for (const auto& l : listeners_) {
        if (l.inflight) {
            add(inflight, {{"listener", l.listener}}, l.inflight->held());
            add(inflight_limit, {{"listener", l.listener}}, l.inflight->limit());
        }
        for (std::size_t i = 0; i < http::k_close_reasons; ++i) {
            const auto reason = static_cast<http::close_reason>(i);
            add(closed,
                {{"listener", l.listener},
                 {"reason", std::string(http::close_reason_name(reason))}},
                l.connections->closed(reason));
        }
        add(open, {{"listener", l.listener}}, l.connections->open());
        add(unauthorized, {{"listener", l.listener}}, l.access->unauthorized_total());
        add(tls_failed, {{"listener", l.listener}}, l.access->tls_handshake_failures_total());
    }
    std::vector<prometheus::MetricFamily> out;
    out.push_back(std::move(closed));
    out.push_back(std::move(open));
    out.push_back(std::move(unauthorized));
    out.push_back(std::move(tls_failed));
    if (!inflight.metric.empty()) {
        out.push_back(std::move(inflight));
        out.push_back(std::move(inflight_limit));
    }
    return out;
}

}  // namespace mg::telemetry
