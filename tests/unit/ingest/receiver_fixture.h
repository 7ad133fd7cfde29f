// The receiver's unit-test fixture (receiver_test.cpp, receiver_tenant_test.cpp): a fake
// governor and a fake exporter (the receiver's ports) that answer as told and record what they
// were handed, and builders of request bodies.
#pragma once

#include <prometheus/registry.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ingest/ports.h"
#include "ingest/receiver.h"
#include "protocol/compression.h"
#include "protocol/remote_write.h"
#include "protocol/remote_write_builder.h"
#include "shared/otlp_builder.h"

namespace mg::test::receiver_fixture {

namespace ex = mg::exporter;
namespace lim = mg::limits;
namespace pr = mg::protocol;
namespace bhttp = mg::http::bhttp;

// Keeps every series but those of the metrics in `drop`; records what it was asked.
class fake_governor final : public mg::ingest::governor_port {
  public:
    void note_rejected(lim::drop_reason reason, std::uint64_t series,
                       std::uint64_t datapoints) override {
        ++note_calls;
        if (series == 0) return;
        rejected[reason] += series;
        rejected_points += datapoints;
    }
    void decide(std::span<const lim::series_ref> series, std::span<lim::decision> out) override {
        ++decide_calls;
        for (std::size_t i = 0; i < series.size(); ++i) {
            decided.emplace_back(series[i].metric_name);
            decided_tenants.emplace_back(series[i].tenant);
            out[i] = {};
            if (drop.count(std::string(series[i].metric_name)) != 0) {
                out[i].keep = false;
                out[i].reason = lim::drop_reason::cardinality_limit;
            }
        }
    }

    std::set<std::string> drop;
    int decide_calls = 0;
    int note_calls = 0;
    std::vector<std::string> decided;
    std::vector<std::string> decided_tenants;  // series_ref::tenant of each decided series
    std::map<lim::drop_reason, std::uint64_t> rejected;
    std::uint64_t rejected_points = 0;
};

// Answers as told; records what the receiver handed over.
class fake_exporter final : public mg::ingest::exporter_port {
  public:
    mg::status check_source(pr::source_protocol) const override { return source; }
    ex::submit_status reserve(std::uint64_t bytes, ex::reservation&) override {
        ++reserve_calls;
        reserved_bytes = bytes;
        return reserve_answer;
    }
    std::chrono::seconds retry_after_hint() const override { return std::chrono::seconds(7); }
    // Records what the receiver reports and, like the exporter, says no when a series was
    // dropped or a label stripped (the protocol and shard checks are the exporter's own tests').
    bool can_forward_raw(const pr::series_batch&, std::span<const std::uint8_t> keep,
                         std::span<const std::uint64_t> strip) const override {
        asked_keep.assign(keep.begin(), keep.end());
        asked_strip.assign(strip.begin(), strip.end());
        const auto zero = [](auto v) { return v == 0; };
        return forward_raw && std::none_of(keep.begin(), keep.end(), zero) &&
               std::all_of(strip.begin(), strip.end(), zero);
    }
    ex::submit_status submit_raw(std::string body, const pr::series_batch&, ex::body_encoding enc,
                                 std::uint32_t series, std::uint64_t points, ex::reservation*,
                                 std::string_view tenant) override {
        raw_bodies.push_back(std::move(body));
        raw_tenants.emplace_back(tenant);
        raw_encoding = enc;
        raw_series = series;
        raw_points = points;
        return raw_answer;
    }
    ex::submit_status submit(const pr::series_batch& batch, std::span<const std::uint8_t> keep,
                             std::span<const std::uint64_t>, ex::submit_details&, ex::reservation*,
                             const ex::tenant_split& tenants) override {
        ++submit_calls;
        submitted.clear();
        submitted_tenants.clear();
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (keep[i] == 0) continue;
            submitted.emplace_back(batch[i].metric_name);
            const auto t = tenants.names.empty() ? std::string_view{}
                           : tenants.of.empty()  ? tenants.names.front()
                                                 : tenants.names[tenants.of[i]];
            submitted_tenants.emplace_back(t);
        }
        tenant_names = tenants.names.size();
        return submit_answer;
    }

    mg::status source;
    ex::submit_status reserve_answer = ex::submit_status::accepted;
    ex::submit_status raw_answer = ex::submit_status::accepted;
    ex::submit_status submit_answer = ex::submit_status::accepted;
    bool forward_raw = false;
    mutable std::vector<std::uint8_t> asked_keep;
    mutable std::vector<std::uint64_t> asked_strip;
    int reserve_calls = 0;
    std::uint64_t reserved_bytes = 0;
    std::vector<std::string> raw_bodies;
    ex::body_encoding raw_encoding = ex::body_encoding::identity;
    std::uint32_t raw_series = 0;
    std::uint64_t raw_points = 0;
    int submit_calls = 0;
    std::vector<std::string> submitted;
    std::vector<std::string> submitted_tenants;  // of each submitted series
    std::size_t tenant_names = 0;                // distinct tenants of the last submit
    std::vector<std::string> raw_tenants;
};

struct fixture {
    fixture() : receiver(options, governor, exporter, registry) {}
    // With tenancy (tenant.h).
    explicit fixture(mg::ingest::tenancy_options tenancy)
        : options(with_tenancy(std::move(tenancy))),
          receiver(options, governor, exporter, registry) {}

    static mg::ingest::receiver_options with_tenancy(mg::ingest::tenancy_options tenancy) {
        mg::ingest::receiver_options o{.max_body_size = 1 << 20, .max_labels_per_series = 4};
        o.tenancy = std::move(tenancy);
        return o;
    }

    double metric(const std::string& name, const std::map<std::string, std::string>& labels) {
        for (const auto& fam : registry.Collect()) {
            if (fam.name != name) continue;
            for (const auto& m : fam.metric) {
                std::map<std::string, std::string> got;
                for (const auto& l : m.label) got[l.name] = l.value;
                if (got == labels)
                    return fam.type == prometheus::MetricType::Histogram
                               ? static_cast<double>(m.histogram.sample_count)
                               : m.counter.value;
            }
        }
        return 0;
    }
    double requests(const std::string& protocol, int code) {
        return metric("metrics_governor_requests_total",
                      {{"protocol", protocol}, {"code", std::to_string(code)}});
    }
    // Refused before any room was reserved, so before anything was admitted.
    bool refused_before_reserving() const {
        return exporter.reserve_calls == 0 && nothing_admitted();
    }
    // Nothing reached the governor or was taken by the exporter.
    bool nothing_admitted() const {
        return governor.decide_calls == 0 && governor.note_calls == 0 &&
               exporter.submit_calls == 0 && exporter.raw_bodies.empty();
    }

    mg::ingest::receiver_options options{.max_body_size = 1 << 20, .max_labels_per_series = 4};
    prometheus::Registry registry;
    fake_governor governor;
    fake_exporter exporter;
    mg::ingest::receiver receiver;
};

// Remote write 1.0 (or 2.0): each name a series {__name__, job} with two samples.
inline std::string remote_write(const std::vector<std::string>& names, bool v2 = false,
                                int extra_labels = 0) {
    std::vector<pr::owned_timeseries> ts;
    for (const auto& n : names) {
        pr::owned_timeseries t;
        t.labels = {{"__name__", n}, {"job", "test"}};
        for (int i = 0; i < extra_labels; ++i) t.labels.push_back({"l" + std::to_string(i), "v"});
        t.samples = {{1.0, 1000}, {2.0, 2000}};
        ts.push_back(std::move(t));
    }
    std::string body;
    if (v2) {
        pr::encode_remote_write_v2(ts, body);
    } else {
        pr::encode_remote_write_v1(ts, {}, body);
    }
    return body;
}

inline std::string snappy(const std::string& raw) {
    std::string out;
    pr::snappy_encode(pr::bytes_view(raw.data(), raw.size()), out);
    return out;
}

inline mg::http::request post(const std::string& target, const std::string& content_type,
                              const std::string& encoding, std::string body) {
    mg::http::request req{bhttp::verb::post, target, 11};
    if (!content_type.empty()) req.set(bhttp::field::content_type, content_type);
    if (!encoding.empty()) req.set(bhttp::field::content_encoding, encoding);
    req.body() = std::move(body);
    req.prepare_payload();
    return req;
}

inline mg::http::request rw_post(std::string body,
                                 const std::string& content_type = "application/x-protobuf",
                                 const std::string& encoding = "snappy") {
    return post("/api/v1/write", content_type, encoding, std::move(body));
}

// OTLP with one gauge metric per name, one point each.
inline std::string otlp(const std::vector<std::string>& names, bool json) {
    namespace ob = mg::test::otlp;
    ob::scope sc;
    for (const auto& n : names) {
        ob::metric m;
        m.name = n;
        ob::point p;
        p.attrs = {{"job", "test"}};
        p.time_ns = 1'000'000'000;
        p.as_double = 1.5;
        m.points.push_back(p);
        sc.metrics.push_back(std::move(m));
    }
    ob::resource r;
    r.scopes.push_back(std::move(sc));
    return json ? ob::to_json({r}) : ob::to_protobuf({r});
}

inline std::string gzip(const std::string& raw) {
    std::string out;
    REQUIRE(pr::gzip_encode(pr::bytes_view(raw.data(), raw.size()), 1, out).ok());
    return out;
}

}  // namespace mg::test::receiver_fixture
