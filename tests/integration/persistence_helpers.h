// persistence_helpers: what the persistence integration tests share: remote-write bodies of
// numbered series, posting them to a daemon, reading a /metrics value and a JSON log line.
// Header-only test code.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "protocol/remote_write_builder.h"
#include "support/daemon.h"
#include "support/http_client.h"
#include "support/metrics_page.h"
#include "support/remote_write_client.h"

namespace persistence_helpers {

namespace proto = mg::protocol;

// Series metric{id=...} for ids [from, to), one sample each, spread over `metrics` names
// (metric_0, metric_1, ...) when metrics > 1.
inline std::string body(const std::string& metric, int from, int to, int metrics = 1) {
    std::vector<proto::owned_timeseries> ts;
    for (int i = from; i < to; ++i) {
        proto::owned_timeseries s;
        const std::string name = metrics > 1 ? metric + "_" + std::to_string(i % metrics) : metric;
        s.labels = {{"__name__", name}, {"id", std::to_string(i)}, {"job", "test"}};
        s.samples = {{1.0, 1700000000000}};
        ts.push_back(std::move(s));
    }
    return mg::test::prw_body(ts);
}

inline int post(const mg::test::running_daemon& d, const std::string& b) {
    mg::test::http_client c("127.0.0.1", d.ingest_port());
    return c.request(boost::beast::http::verb::post, "/api/v1/write", b, mg::test::k_prw_headers)
        .status;
}

inline std::optional<double> metric_value(const std::string& text, const std::string& series) {
    return mg::test::sample_value(text, series);
}

// A JSON log line's object, from the daemon's output (the first line containing `msg`).
inline std::optional<nlohmann::json> log_line(const std::string& output, const std::string& msg) {
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);) {
        if (line.find("\"msg\":\"" + msg + "\"") == std::string::npos) continue;
        const auto j = nlohmann::json::parse(line.substr(line.find('{')), nullptr, false);
        if (!j.is_discarded()) return j;
    }
    return std::nullopt;
}

}  // namespace persistence_helpers
