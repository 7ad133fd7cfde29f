#include "telemetry/access_collector.h"

namespace mg::telemetry {

std::vector<prometheus::MetricFamily> access_collector::Collect() const {
    prometheus::MetricFamily unauthorized;
    unauthorized.name = "metrics_governor_http_unauthorized_total";
    unauthorized.help = "Requests an HTTP listener refused with 401: missing or wrong credentials.";
    unauthorized.type = prometheus::MetricType::Counter;
    prometheus::MetricFamily tls_failed;
    tls_failed.name = "metrics_governor_tls_handshake_failures_total";
    tls_failed.help =
        "TLS handshakes an HTTPS listener did not complete: timed out, not TLS, or no valid client certificate.";
    tls_failed.type = prometheus::MetricType::Counter;
    for (const auto& [listener, counters] : listeners_) {
        prometheus::ClientMetric u;
        u.label = {{"listener", listener}};
        u.counter.value = static_cast<double>(counters->unauthorized_total());
        unauthorized.metric.push_back(std::move(u));
        prometheus::ClientMetric t;
        t.label = {{"listener", listener}};
        t.counter.value = static_cast<double>(counters->tls_handshake_failures_total());
        tls_failed.metric.push_back(std::move(t));
    }
    return {std::move(unauthorized), std::move(tls_failed)};
}

}  // namespace mg::telemetry
