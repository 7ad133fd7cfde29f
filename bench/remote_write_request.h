// The remote-write 1.0 request the protocol benchmarks decode: `series` series of one metric
// name, __name__ plus 8 labels each (the shape of a scraped HTTP server metric), one sample.
// Shared by protocol_bench (Google Benchmark) and remote_write_loop (whole-process timing) so
// both measure the same bytes.
#pragma once

#include <string>
#include <vector>

#include "protocol/remote_write_builder.h"

namespace mg::bench {

// Series i of a scraped HTTP server metric: __name__ = `metric`, 8 labels in sorted order, one
// sample. The caller picks the instance (how many series share one).
inline protocol::owned_timeseries http_server_series(std::string metric, std::size_t i,
                                                     std::string instance) {
    protocol::owned_timeseries t;
    t.labels = {{"__name__", std::move(metric)},
                {"cluster", "eu-west-1"},
                {"code", std::to_string(200 + i % 5)},
                {"handler", "/api/v1/items/" + std::to_string(i % 50)},
                {"instance", std::move(instance)},
                {"job", "api-server"},
                {"method", i % 2 ? "GET" : "POST"},
                {"namespace", "production"},
                {"pod", "api-server-" + std::to_string(i)}};
    t.samples.push_back({static_cast<double>(i), 1700000000000});
    return t;
}

inline std::string make_remote_write_request(std::size_t series) {
    std::vector<protocol::owned_timeseries> v;
    v.reserve(series);
    for (std::size_t i = 0; i < series; ++i) {
        v.push_back(http_server_series("http_requests_total", i,
                                       "10.0.0." + std::to_string(i % 250) + ":9100"));
    }
    std::string body;
    protocol::encode_remote_write_v1(v, {}, body);
    return body;
}

}  // namespace mg::bench
