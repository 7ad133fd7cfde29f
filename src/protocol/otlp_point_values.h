// Internal to mg_protocol: the values of one OTLP data point (time, flags, value, count, sum,
// buckets, bounds, quantiles, scale, and its metric's temporality and monotonicity), read from the
// request again for the conversion to remote write (otlp_to_prw.cpp): the decoders keep only
// views and counts. A value of the wrong type or shape does not stop the reading; it sets `bad`
// (the first problem wins), and the converter drops the point under invalid_point.
//
// An otlp_point_values is scratch reused point after point (reset() keeps the vectors' capacity);
// one per converter, not synchronized.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <utility>
#include <vector>

#include "protocol/series_batch.h"
#include "protocol/wire.h"

namespace mg::protocol {

struct otlp_point_values {
    metric_kind kind = metric_kind::unknown;
    std::uint64_t temporality = 0;  // 0 unspecified, 1 delta, 2 cumulative
    bool monotonic = false;

    std::uint64_t time_ns = 0;
    std::uint64_t flags = 0;
    double value = 0;  // gauge, sum
    std::uint64_t count = 0;
    bool has_sum = false;
    double sum = 0;
    std::vector<double> bounds;
    std::vector<std::uint64_t> bucket_counts;
    std::vector<std::pair<double, double>> quantiles;  // (quantile, value)
    std::int64_t scale = 0;
    std::uint64_t zero_count = 0;
    double zero_threshold = 0;
    std::int64_t pos_offset = 0, neg_offset = 0;
    std::vector<std::uint64_t> pos_counts, neg_counts;
    const char* bad = nullptr;  // why the values cannot be read

    void reset(metric_kind k, std::uint64_t temp, bool mono) {
        kind = k;
        temporality = temp;
        monotonic = mono;
        time_ns = 0;
        flags = 0;
        value = 0;
        count = 0;
        has_sum = false;
        sum = 0;
        bounds.clear();
        bucket_counts.clear();
        quantiles.clear();
        scale = 0;
        zero_count = 0;
        zero_threshold = 0;
        pos_offset = neg_offset = 0;
        pos_counts.clear();
        neg_counts.clear();
        bad = nullptr;
    }
};

namespace otlp_detail {

// Reads the value fields of one protobuf data point (its payload, after the key and length) into
// v, which reset() prepared with the point's kind. The decoder already walked its fields, so the
// framing is valid; types are checked here.
void read_pb_point(bytes_view payload, otlp_point_values& v);

// The same for one point of the parsed OTLP/JSON document (the protobuf JSON mapping,
// lowerCamelCase or the original names).
void read_json_point(const nlohmann::json& p, otlp_point_values& v);

// A JSON metric data object's AggregationTemporality (a number or its enum name; 0 when absent
// or unknown) and is_monotonic.
std::uint64_t json_temporality(const nlohmann::json& data);
bool json_monotonic(const nlohmann::json& data);

}  // namespace otlp_detail

}  // namespace mg::protocol
