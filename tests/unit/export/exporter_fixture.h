// exporter_fixture: what the exporter tests share: remote-write requests of named series, the
// names a backend received, the body of an OTLP upstream request, an exporter configured for a
// fake backend, polling for counters, reading a metric and checking the accounting invariant.
// Header-only test code.
#pragma once

#include <prometheus/registry.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "export/exporter.h"
#include "fake_backend.h"
#include "grpc_export/grpc_transport.h"
#include "protocol/compression.h"
#include "protocol/remote_write.h"
#include "protocol/remote_write_builder.h"
#include "shared/otlp_builder.h"

namespace exporter_fixture {

namespace ex = mg::exporter;
namespace pr = mg::protocol;
namespace ob = mg::test::otlp;
using ex::test::fake_backend;
using ex::test::raw_backend;
using namespace std::chrono_literals;

// A decoded remote-write request: the batch's views point into body, so both live together.
struct rw_request {
    std::string body;
    pr::series_batch batch;
    std::vector<std::uint8_t> keep_all() const {
        return std::vector<std::uint8_t>(batch.size(), 1);
    }
    // The body as a sender posts it (snappy), for submit_raw.
    std::string snappy() const {
        std::string out;
        pr::snappy_encode(body, out);
        return out;
    }
};

inline std::unique_ptr<rw_request> make_rw(const std::vector<std::string>& names) {
    std::vector<pr::owned_timeseries> ts;
    for (const auto& n : names) {
        pr::owned_timeseries t;
        t.labels = {{"__name__", n}, {"job", "test"}};
        t.samples = {{1.0, 1000}, {2.0, 2000}};
        ts.push_back(std::move(t));
    }
    auto r = std::make_unique<rw_request>();
    pr::encode_remote_write_v1(ts, {}, r->body);
    REQUIRE(
        pr::decode_remote_write_v1(pr::bytes_view(r->body.data(), r->body.size()), r->batch).ok());
    return r;
}

inline std::vector<std::string> names(std::size_t n, const std::string& prefix = "m") {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
    return out;
}

// One upstream remote-write request decoded (snappy body): the batch's views point into plain.
struct upstream {
    std::string plain;
    pr::series_batch batch;
    explicit upstream(const mg::http::request& req) {
        const auto& body = req.body();
        REQUIRE(pr::snappy_decode(pr::bytes_view(body.data(), body.size()), 1 << 30, plain).ok());
        const auto st =
            pr::decode_remote_write_v1(pr::bytes_view(plain.data(), plain.size()), batch);
        INFO(st.error_message());
        REQUIRE(st.ok());
    }
};

// The body of one upstream OTLP request, gzip decoded, once its path, Content-Type and
// Content-Encoding are checked.
inline std::string otlp_body(const mg::http::request& req, const std::string& content_type) {
    CHECK(req.target() == "/v1/metrics");
    CHECK(req[mg::http::bhttp::field::content_type] == content_type);
    REQUIRE(req[mg::http::bhttp::field::content_encoding] == "gzip");
    std::string plain;
    const auto& body = req.body();
    REQUIRE(pr::gzip_decode(pr::bytes_view(body.data(), body.size()), 1 << 30, plain).ok());
    return plain;
}

// The metric names carried by one remote-write request (snappy body).
inline std::vector<std::string> decode_names(const mg::http::request& req) {
    upstream u(req);
    std::vector<std::string> out;
    for (std::size_t i = 0; i < u.batch.size(); ++i) out.emplace_back(u.batch[i].metric_name);
    return out;
}

inline std::multiset<std::string> all_names(const ex::test::request_log& log) {
    std::multiset<std::string> out;
    for (const auto& req : log.all()) {
        for (auto& n : decode_names(req)) out.insert(n);
    }
    return out;
}

inline std::multiset<std::string> as_set(const std::vector<std::string>& v) {
    return {v.begin(), v.end()};
}

inline ex::exporter_options config_for(const std::string& url) {
    ex::exporter_options c;
    c.endpoint = url;
    c.flush_interval = 20ms;
    c.retry_backoff_base = 1ms;
    c.retry_backoff_max = 5ms;
    c.timeout = 5s;
    return c;
}

inline ex::queue_options queue_of(std::uint64_t bytes = 64 * 1024 * 1024) {
    ex::queue_options q;
    q.max_bytes = bytes;
    return q;
}

// The options with `q` as their queue.
inline ex::exporter_options with_queue(ex::exporter_options c, const ex::queue_options& q) {
    c.queue = q;
    return c;
}

inline std::unique_ptr<ex::exporter> make_exporter(const ex::exporter_options& c,
                                                   prometheus::Registry& reg,
                                                   const ex::queue_options& q = queue_of(),
                                                   ex::exporter_deps deps = {}) {
    // The daemon's OTLP/gRPC transport comes from its plugin; the tests link it.
    if (!deps.grpc_transport) deps.grpc_transport = ex::make_grpc_transport;
    auto e = ex::exporter::create(with_queue(c, q), reg, std::move(deps));
    if (!e.ok()) FAIL(e.error_message());
    return std::move(*e);
}

// Awaits a condition the exporter exposes no notification for (its counters), by polling.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

inline double metric(prometheus::Registry& reg, const std::string& name,
                     const std::map<std::string, std::string>& labels = {}) {
    for (const auto& fam : reg.Collect()) {
        if (fam.name != name) continue;
        for (const auto& m : fam.metric) {
            std::map<std::string, std::string> got;
            for (const auto& l : m.label) got[l.name] = l.value;
            if (got != labels) continue;
            return fam.type == prometheus::MetricType::Gauge ? m.gauge.value : m.counter.value;
        }
    }
    return 0;
}

inline void check_accounting(const ex::export_stats& s) {
    CHECK(s.submitted_series == s.sent_series + s.dropped_series + s.outstanding_series);
    CHECK(s.submitted_points == s.sent_points + s.dropped_points + s.outstanding_points);
}

// A loopback port nothing listens on: a Backend's port, closed again (a backend that is down).
template <class Backend = fake_backend>
std::uint16_t free_port() {
    Backend probe;
    return probe.port();
}

inline ex::drain_report drain_for(ex::exporter& e, std::chrono::milliseconds d = 10s) {
    return e.drain(std::chrono::steady_clock::now() + d);
}

}  // namespace exporter_fixture
