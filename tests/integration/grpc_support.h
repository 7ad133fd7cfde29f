// Helpers shared by the OTLP/gRPC integration tests (grpc_receiver_test.cpp,
// grpc_hostile_test.cpp): requests built with the protocol module's owned-data builders, and
// scraping the daemon's /metrics. Header-only test code.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "protocol/otlp_builder.h"
#include "support/daemon.h"
#include "support/http_client.h"
#include "support/metrics_page.h"

namespace mg::test::grpc_test {

// An ExportMetricsServiceRequest: one gauge `metric` with `count` points, attribute id =
// first..first+count-1, each also carrying a `pad` attribute of `pad_bytes` (to make big requests).
inline std::string export_request(const std::string& metric, int first, int count,
                                  std::size_t pad_bytes = 0) {
    protocol::otlp_resource res;
    res.attributes = {{"service.name", protocol::otlp_any_value::str("grpc-test")}};
    protocol::otlp_scope scope;
    protocol::otlp_metric m;
    m.name = metric;
    for (int i = first; i < first + count; ++i) {
        protocol::otlp_point p;
        p.attributes = {{"id", protocol::otlp_any_value::str(std::to_string(i))}};
        if (pad_bytes != 0)
            p.attributes.push_back(
                {"pad", protocol::otlp_any_value::str(std::string(pad_bytes, 'p'))});
        p.value = i;
        p.time_unix_nano = 1700000000000000000ULL;
        m.points.push_back(std::move(p));
    }
    scope.metrics.push_back(std::move(m));
    res.scopes.push_back(std::move(scope));
    std::string pb;
    protocol::encode_otlp_protobuf(std::vector{std::move(res)}, pb);
    return pb;
}

inline std::string grpc_requests(const std::string& code) {
    return R"(metrics_governor_requests_total{code=")" + code + R"(",protocol="otlp_grpc"})";
}

inline double scrape(running_daemon& d, const std::string& series) {
    return sample_value(http_get(d.stats_port(), "/metrics").body, series).value_or(0);
}

// Scrapes until `series` reaches `want`, or the deadline; the last value seen.
inline double await_metric(running_daemon& d, const std::string& series, double want,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto v = scrape(d, series);
    while (v != want && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the polling interval
        v = scrape(d, series);
    }
    return v;
}

}  // namespace mg::test::grpc_test
