// otlp_builder: builds OTLP metrics requests with every value field a data point can carry
// (buckets, bounds, quantiles, exponential buckets, flags, temporality), as protobuf and as JSON
// from the same description, for the tests of the OTLP -> remote write conversion. (The owned
// model in protocol/otlp_builder.h only carries what the governor needs: labels and counts.)
// Attribute values are strings. Header-only; test code.
#pragma once

#include <bit>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "protocol/series_batch.h"
#include "protocol/wire.h"

namespace mg::test::otlp {

using mg::protocol::metric_kind;

struct attr {
    std::string key;
    std::string value;
};

struct point {
    std::vector<attr> attrs;
    std::uint64_t time_ns = 0;
    std::uint32_t flags = 0;
    // gauge, sum
    std::optional<double> as_double;
    std::optional<std::int64_t> as_int;
    // histogram, exponential histogram, summary
    std::uint64_t count = 0;
    std::optional<double> sum;
    std::vector<double> bounds;
    std::vector<std::uint64_t> bucket_counts;
    std::vector<std::pair<double, double>> quantiles;  // (quantile, value)
    std::int32_t scale = 0;
    std::uint64_t zero_count = 0;
    double zero_threshold = 0;
    std::int32_t pos_offset = 0;
    std::vector<std::uint64_t> pos_counts;
    std::int32_t neg_offset = 0;
    std::vector<std::uint64_t> neg_counts;
};

struct metric {
    std::string name;
    metric_kind kind = metric_kind::gauge;
    int temporality =
        2;  // sum, histogram, exponential histogram: 0 unspecified, 1 delta, 2 cumulative
    bool monotonic = true;         // sum
    bool json_enum_names = false;  // JSON: temporality as "AGGREGATION_TEMPORALITY_..."
    std::vector<point> points;
    std::string unit{};  // protobuf: written after the data, as a sender may order it
};

struct scope {
    std::string name;
    std::string version;
    std::vector<attr> attrs;
    std::vector<metric> metrics;
};

struct resource {
    std::vector<attr> attrs;
    std::vector<scope> scopes;
};

namespace detail {

using mg::protocol::wire_writer;

inline void kv(wire_writer& w, std::uint32_t field, const attr& a) {
    const auto t = w.begin_message(field);
    w.bytes_field(1, a.key);
    const auto v = w.begin_message(2);
    w.bytes_field(1, a.value);  // AnyValue.string_value
    w.end_message(v);
    w.end_message(t);
}

inline void packed_fixed64(wire_writer& w, std::uint32_t field,
                           const std::vector<std::uint64_t>& xs) {
    if (xs.empty()) return;
    w.key(field, mg::protocol::wire_type::len);
    wire_writer::put_varint(w.out(), xs.size() * 8);
    for (std::uint64_t x : xs) {
        for (int i = 0; i < 8; ++i) w.out().push_back(static_cast<char>(x >> (8 * i)));
    }
}

inline void packed_doubles(wire_writer& w, std::uint32_t field, const std::vector<double>& xs) {
    std::vector<std::uint64_t> bits;
    for (double d : xs) bits.push_back(std::bit_cast<std::uint64_t>(d));
    packed_fixed64(w, field, bits);
}

inline void buckets(wire_writer& w, std::uint32_t field, std::int32_t offset,
                    const std::vector<std::uint64_t>& counts) {
    if (offset == 0 && counts.empty()) return;
    const auto t = w.begin_message(field);
    w.varint_field(1, mg::protocol::zigzag_encode32(offset));
    if (!counts.empty()) {
        const auto p = w.begin_message(2);
        for (std::uint64_t c : counts) wire_writer::put_varint(w.out(), c);
        w.end_message(p);
    }
    w.end_message(t);
}

inline void pb_point(wire_writer& w, metric_kind k, const point& p) {
    const auto t = w.begin_message(1);
    const std::uint32_t attrs_field = k == metric_kind::histogram               ? 9
                                      : k == metric_kind::exponential_histogram ? 1
                                                                                : 7;
    for (const attr& a : p.attrs) kv(w, attrs_field, a);
    if (p.time_ns != 0) w.fixed64_field(3, p.time_ns);
    switch (k) {
        case metric_kind::gauge:
        case metric_kind::sum:
            if (p.as_double) w.double_field(4, *p.as_double);
            if (p.as_int) w.fixed64_field(6, static_cast<std::uint64_t>(*p.as_int));
            if (p.flags != 0) w.varint_field(8, p.flags);
            break;
        case metric_kind::histogram:
            w.fixed64_field(4, p.count);
            if (p.sum) w.double_field(5, *p.sum);
            packed_fixed64(w, 6, p.bucket_counts);
            packed_doubles(w, 7, p.bounds);
            if (p.flags != 0) w.varint_field(10, p.flags);
            break;
        case metric_kind::exponential_histogram:
            w.fixed64_field(4, p.count);
            if (p.sum) w.double_field(5, *p.sum);
            if (p.scale != 0) w.varint_field(6, mg::protocol::zigzag_encode32(p.scale));
            if (p.zero_count != 0) w.fixed64_field(7, p.zero_count);
            buckets(w, 8, p.pos_offset, p.pos_counts);
            buckets(w, 9, p.neg_offset, p.neg_counts);
            if (p.flags != 0) w.varint_field(10, p.flags);
            if (p.zero_threshold != 0) w.double_field(14, p.zero_threshold);
            break;
        case metric_kind::summary:
            w.fixed64_field(4, p.count);
            if (p.sum) w.double_field(5, *p.sum);
            for (const auto& [q, v] : p.quantiles) {
                const auto qt = w.begin_message(6);
                w.double_field(1, q);
                w.double_field(2, v);
                w.end_message(qt);
            }
            if (p.flags != 0) w.varint_field(8, p.flags);
            break;
        case metric_kind::unknown:
            break;
    }
    w.end_message(t);
}

inline std::uint32_t data_field(metric_kind k) {
    switch (k) {
        case metric_kind::gauge:
            return 5;
        case metric_kind::sum:
            return 7;
        case metric_kind::histogram:
            return 9;
        case metric_kind::exponential_histogram:
            return 10;
        case metric_kind::summary:
            return 11;
        case metric_kind::unknown:
            break;
    }
    return 5;
}

inline const char* json_kind(metric_kind k) {
    switch (k) {
        case metric_kind::sum:
            return "sum";
        case metric_kind::histogram:
            return "histogram";
        case metric_kind::exponential_histogram:
            return "exponentialHistogram";
        case metric_kind::summary:
            return "summary";
        default:
            return "gauge";
    }
}

inline nlohmann::json json_attrs(const std::vector<attr>& attrs) {
    nlohmann::json a = nlohmann::json::array();
    for (const attr& x : attrs)
        a.push_back({{"key", x.key}, {"value", {{"stringValue", x.value}}}});
    return a;
}

inline nlohmann::json json_u64s(const std::vector<std::uint64_t>& xs) {
    nlohmann::json a = nlohmann::json::array();
    for (std::uint64_t x : xs) a.push_back(std::to_string(x));
    return a;
}

inline nlohmann::json json_point(metric_kind k, const point& p) {
    nlohmann::json j = {{"attributes", json_attrs(p.attrs)}};
    if (p.time_ns != 0) j["timeUnixNano"] = std::to_string(p.time_ns);
    if (p.flags != 0) j["flags"] = p.flags;
    switch (k) {
        case metric_kind::gauge:
        case metric_kind::sum:
            if (p.as_double) j["asDouble"] = *p.as_double;
            if (p.as_int) j["asInt"] = std::to_string(*p.as_int);
            break;
        case metric_kind::histogram:
            j["count"] = std::to_string(p.count);
            if (p.sum) j["sum"] = *p.sum;
            if (!p.bucket_counts.empty()) j["bucketCounts"] = json_u64s(p.bucket_counts);
            if (!p.bounds.empty()) j["explicitBounds"] = p.bounds;
            break;
        case metric_kind::exponential_histogram:
            j["count"] = std::to_string(p.count);
            if (p.sum) j["sum"] = *p.sum;
            if (p.scale != 0) j["scale"] = p.scale;
            if (p.zero_count != 0) j["zeroCount"] = std::to_string(p.zero_count);
            if (p.zero_threshold != 0) j["zeroThreshold"] = p.zero_threshold;
            if (p.pos_offset != 0 || !p.pos_counts.empty()) {
                j["positive"] = {{"offset", p.pos_offset},
                                 {"bucketCounts", json_u64s(p.pos_counts)}};
            }
            if (p.neg_offset != 0 || !p.neg_counts.empty()) {
                j["negative"] = {{"offset", p.neg_offset},
                                 {"bucketCounts", json_u64s(p.neg_counts)}};
            }
            break;
        case metric_kind::summary: {
            j["count"] = std::to_string(p.count);
            if (p.sum) j["sum"] = *p.sum;
            nlohmann::json qs = nlohmann::json::array();
            for (const auto& [q, v] : p.quantiles) qs.push_back({{"quantile", q}, {"value", v}});
            if (!qs.empty()) j["quantileValues"] = qs;
            break;
        }
        case metric_kind::unknown:
            break;
    }
    return j;
}

inline const char* temporality_name(int t) {
    return t == 1   ? "AGGREGATION_TEMPORALITY_DELTA"
           : t == 2 ? "AGGREGATION_TEMPORALITY_CUMULATIVE"
                    : "AGGREGATION_TEMPORALITY_UNSPECIFIED";
}

}  // namespace detail

// ExportMetricsServiceRequest, protobuf. Metric-level fields (temporality, monotonicity) are
// written after the points, as some encoders do.
inline std::string to_protobuf(const std::vector<resource>& resources) {
    std::string out;
    detail::wire_writer w(out);
    for (const resource& r : resources) {
        const auto rt = w.begin_message(1);
        const auto res = w.begin_message(1);
        for (const attr& a : r.attrs) detail::kv(w, 1, a);
        w.end_message(res);
        for (const scope& s : r.scopes) {
            const auto st = w.begin_message(2);
            const auto sc = w.begin_message(1);
            if (!s.name.empty()) w.bytes_field(1, s.name);
            if (!s.version.empty()) w.bytes_field(2, s.version);
            for (const attr& a : s.attrs) detail::kv(w, 3, a);
            w.end_message(sc);
            for (const metric& m : s.metrics) {
                const auto mt = w.begin_message(2);
                w.bytes_field(1, m.name);
                const auto dt = w.begin_message(detail::data_field(m.kind));
                for (const point& p : m.points) detail::pb_point(w, m.kind, p);
                if (m.kind == metric_kind::sum || m.kind == metric_kind::histogram ||
                    m.kind == metric_kind::exponential_histogram) {
                    if (m.temporality != 0) {
                        w.varint_field(2, static_cast<std::uint64_t>(m.temporality));
                    }
                }
                if (m.kind == metric_kind::sum && m.monotonic) w.varint_field(3, 1);
                w.end_message(dt);
                if (!m.unit.empty()) w.bytes_field(3, m.unit);
                w.end_message(mt);
            }
            w.end_message(st);
        }
        w.end_message(rt);
    }
    return out;
}

// The same request in the OTLP/JSON encoding.
inline std::string to_json(const std::vector<resource>& resources) {
    nlohmann::json rms = nlohmann::json::array();
    for (const resource& r : resources) {
        nlohmann::json sms = nlohmann::json::array();
        for (const scope& s : r.scopes) {
            nlohmann::json metrics = nlohmann::json::array();
            for (const metric& m : s.metrics) {
                nlohmann::json points = nlohmann::json::array();
                for (const point& p : m.points) points.push_back(detail::json_point(m.kind, p));
                nlohmann::json data = {{"dataPoints", points}};
                if (m.kind == metric_kind::sum || m.kind == metric_kind::histogram ||
                    m.kind == metric_kind::exponential_histogram) {
                    if (m.json_enum_names) {
                        data["aggregationTemporality"] = detail::temporality_name(m.temporality);
                    } else if (m.temporality != 0) {
                        data["aggregationTemporality"] = m.temporality;
                    }
                }
                if (m.kind == metric_kind::sum) data["isMonotonic"] = m.monotonic;
                metrics.push_back({{"name", m.name}, {detail::json_kind(m.kind), data}});
                if (!m.unit.empty()) metrics.back()["unit"] = m.unit;
            }
            nlohmann::json sc = nlohmann::json::object();
            if (!s.name.empty()) sc["name"] = s.name;
            if (!s.version.empty()) sc["version"] = s.version;
            if (!s.attrs.empty()) sc["attributes"] = detail::json_attrs(s.attrs);
            sms.push_back({{"scope", sc}, {"metrics", metrics}});
        }
        rms.push_back(
            {{"resource", {{"attributes", detail::json_attrs(r.attrs)}}}, {"scopeMetrics", sms}});
    }
    return nlohmann::json{{"resourceMetrics", rms}}.dump();
}

}  // namespace mg::test::otlp
