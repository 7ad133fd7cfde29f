#include "protocol/otlp_point_values.h"

#include <bit>
#include <limits>
#include <nlohmann/json.hpp>

#include "protocol/otlp_json_internal.h"
#include "protocol/otlp_schema.h"

namespace mg::protocol::otlp_detail {

using json = nlohmann::json;
using otlp_json_detail::member;
using namespace otlp_schema;  // field numbers, the JSON number readers

namespace {

// ---- Protobuf ----

// A repeated fixed64 or double field: one value (wire type i64) or packed (a multiple of 8
// bytes, little-endian), as T (std::uint64_t or double, the same 8 bytes).
template <typename T>
bool read_fixed64s(const wire_field& f, std::vector<T>& out) {
    if (f.type == wire_type::i64) {
        out.push_back(std::bit_cast<T>(f.value));
        return true;
    }
    if (f.type != wire_type::len || f.bytes.size() % 8 != 0) return false;
    for (std::size_t i = 0; i < f.bytes.size(); i += 8) {
        std::uint64_t v = 0;
        for (int b = 7; b >= 0; --b) {
            v = (v << 8) | static_cast<unsigned char>(f.bytes[i + static_cast<std::size_t>(b)]);
        }
        out.push_back(std::bit_cast<T>(v));
    }
    return true;
}

bool read_varints(const wire_field& f, std::vector<std::uint64_t>& out) {
    if (f.type == wire_type::varint) {
        out.push_back(f.value);
        return true;
    }
    if (f.type != wire_type::len) return false;
    packed_varint_reader r(f.bytes);
    std::uint64_t v = 0;
    while (r.next(v)) out.push_back(v);
    return !r.failed();
}

// ExponentialHistogramDataPoint.Buckets { sint32 offset = 1; repeated uint64 bucket_counts = 2; }
const char* read_pb_buckets(bytes_view payload, std::int64_t& offset,
                            std::vector<std::uint64_t>& counts) {
    wire_reader r(payload);
    wire_field f;
    while (r.next(f)) {
        if (f.number == buckets_offset) {
            if (f.type != wire_type::varint) return "buckets offset is not a varint";
            offset = zigzag_decode32(static_cast<std::uint32_t>(f.value));
        } else if (f.number == buckets_counts) {
            if (!read_varints(f, counts)) return "bucket_counts are not uint64 varints";
        }
    }
    if (r.error() != nullptr) return "truncated buckets";
    return nullptr;
}

// ---- JSON ----

template <typename T, typename Parse>
void json_field(const json& p, const char* camel, const char* snake, T& out, Parse parse,
                const char* error, otlp_point_values& v, bool* present = nullptr) {
    const json* f = member(p, camel, snake);
    if (f == nullptr || f->is_null()) return;
    if (!parse(*f, out)) {
        if (v.bad == nullptr) v.bad = error;
        return;
    }
    if (present != nullptr) *present = true;
}

template <typename T, typename Parse>
void json_array(const json& p, const char* camel, const char* snake, std::vector<T>& out,
                Parse parse, const char* error, otlp_point_values& v) {
    const json* a = member(p, camel, snake);
    if (a == nullptr || a->is_null()) return;
    if (!a->is_array()) {
        if (v.bad == nullptr) v.bad = error;
        return;
    }
    for (const json& e : *a) {
        T x{};
        if (!parse(e, x)) {
            if (v.bad == nullptr) v.bad = error;
            return;
        }
        out.push_back(x);
    }
}

void json_buckets(const json& p, const char* camel, std::int64_t& offset,
                  std::vector<std::uint64_t>& counts, otlp_point_values& v) {
    const json* b = member(p, camel);
    if (b == nullptr || b->is_null()) return;
    if (!b->is_object()) {
        if (v.bad == nullptr) v.bad = "buckets must be an object";
        return;
    }
    std::int64_t off = 0;
    json_field(*b, "offset", nullptr, off, json_int64, "buckets offset must be an integer", v);
    if (off < std::numeric_limits<std::int32_t>::min() ||
        off > std::numeric_limits<std::int32_t>::max()) {
        if (v.bad == nullptr) v.bad = "buckets offset out of the int32 range";
    }
    offset = off;
    json_array(*b, "bucketCounts", "bucket_counts", counts, json_uint64,
               "bucketCounts must be unsigned integers", v);
}

}  // namespace

void read_pb_point(bytes_view payload, otlp_point_values& v) {
    wire_reader r(payload);
    wire_field f;
    const auto want = [&](wire_type t, const char* what) {
        if (f.type != t && v.bad == nullptr) v.bad = what;
        return f.type == t;
    };
    while (r.next(f)) {
        if (f.number == point_time_unix_nano) {
            if (want(wire_type::i64, "time_unix_nano is not fixed64")) v.time_ns = f.value;
            continue;
        }
        // count and sum have the same number and type in the three distribution points
        // (histogram, exponential histogram, summary).
        if (v.kind != metric_kind::gauge && v.kind != metric_kind::sum &&
            (f.number == point_count || f.number == point_sum)) {
            if (f.number == point_count) {
                if (want(wire_type::i64, "count is not fixed64")) v.count = f.value;
            } else if (want(wire_type::i64, "sum is not a double")) {
                v.sum = f.as_double();
                v.has_sum = true;
            }
            continue;
        }
        switch (v.kind) {
            case metric_kind::gauge:
            case metric_kind::sum:
                if (f.number == number_as_double) {
                    if (want(wire_type::i64, "as_double is not a double")) v.value = f.as_double();
                } else if (f.number == number_as_int) {
                    if (want(wire_type::i64, "as_int is not sfixed64")) {
                        v.value = static_cast<double>(f.as_int64());
                    }
                } else if (f.number == number_flags) {
                    if (want(wire_type::varint, "flags is not a varint")) v.flags = f.value;
                }
                break;
            case metric_kind::histogram:
                if (f.number == histogram_bucket_counts) {
                    if (!read_fixed64s(f, v.bucket_counts) && v.bad == nullptr) {
                        v.bad = "bucket_counts are not fixed64";
                    }
                } else if (f.number == histogram_explicit_bounds) {
                    if (!read_fixed64s(f, v.bounds) && v.bad == nullptr) {
                        v.bad = "explicit_bounds are not doubles";
                    }
                } else if (f.number == histogram_flags) {
                    if (want(wire_type::varint, "flags is not a varint")) v.flags = f.value;
                }
                break;
            case metric_kind::exponential_histogram:
                if (f.number == exp_scale) {
                    if (want(wire_type::varint, "scale is not a varint")) {
                        v.scale = zigzag_decode32(static_cast<std::uint32_t>(f.value));
                    }
                } else if (f.number == exp_zero_count) {
                    if (want(wire_type::i64, "zero_count is not fixed64")) v.zero_count = f.value;
                } else if (f.number == exp_positive || f.number == exp_negative) {
                    if (want(wire_type::len, "buckets are not a message")) {
                        const bool pos = f.number == exp_positive;
                        if (const char* e =
                                read_pb_buckets(f.bytes, pos ? v.pos_offset : v.neg_offset,
                                                pos ? v.pos_counts : v.neg_counts);
                            e != nullptr && v.bad == nullptr) {
                            v.bad = e;
                        }
                    }
                } else if (f.number == exp_flags) {
                    if (want(wire_type::varint, "flags is not a varint")) v.flags = f.value;
                } else if (f.number == exp_zero_threshold) {
                    if (want(wire_type::i64, "zero_threshold is not a double")) {
                        v.zero_threshold = f.as_double();
                    }
                }
                break;
            case metric_kind::summary:
                if (f.number == summary_quantile_values) {
                    if (want(wire_type::len, "quantile_values is not a message")) {
                        double q = 0, val = 0;
                        wire_reader qr(f.bytes);
                        wire_field g;
                        while (qr.next(g)) {
                            if ((g.number == quantile_quantile || g.number == quantile_value) &&
                                g.type != wire_type::i64) {
                                if (v.bad == nullptr) v.bad = "quantile value is not a double";
                            } else if (g.number == quantile_quantile) {
                                q = g.as_double();
                            } else if (g.number == quantile_value) {
                                val = g.as_double();
                            }
                        }
                        if (qr.error() != nullptr && v.bad == nullptr) v.bad = "truncated quantile";
                        v.quantiles.emplace_back(q, val);
                    }
                } else if (f.number == summary_flags) {
                    if (want(wire_type::varint, "flags is not a varint")) v.flags = f.value;
                }
                break;
            case metric_kind::unknown:
                break;
        }
    }
    if (r.error() != nullptr && v.bad == nullptr) v.bad = "truncated data point";
}

// AggregationTemporality as a number or its enum name.
std::uint64_t json_temporality(const json& data) {
    const json* t = member(data, "aggregationTemporality", "aggregation_temporality");
    if (t == nullptr) return 0;
    if (t->is_string()) {
        const std::string& s = t->get_ref<const std::string&>();
        if (s == "AGGREGATION_TEMPORALITY_DELTA") return 1;
        if (s == "AGGREGATION_TEMPORALITY_CUMULATIVE") return 2;
    }
    std::uint64_t n = 0;
    return json_uint64(*t, n) ? n : 0;
}

bool json_monotonic(const json& data) {
    const json* m = member(data, "isMonotonic", "is_monotonic");
    return m != nullptr && m->is_boolean() && m->get<bool>();
}

void read_json_point(const json& p, otlp_point_values& v) {
    json_field(p, "timeUnixNano", "time_unix_nano", v.time_ns, json_uint64,
               "timeUnixNano must be an unsigned integer", v);
    std::uint64_t flags = 0;
    json_field(p, "flags", nullptr, flags, json_uint64, "flags must be an unsigned integer", v);
    v.flags = flags;
    switch (v.kind) {
        case metric_kind::gauge:
        case metric_kind::sum: {
            // A oneof: asDouble or asInt (the protobuf mapping allows only one).
            json_field(p, "asDouble", "as_double", v.value, json_double,
                       "asDouble must be a number", v);
            std::int64_t i = 0;
            bool has_int = false;
            json_field(p, "asInt", "as_int", i, json_int64, "asInt must be an integer", v,
                       &has_int);
            if (has_int) v.value = static_cast<double>(i);
            break;
        }
        case metric_kind::histogram:
            json_field(p, "count", nullptr, v.count, json_uint64,
                       "count must be an unsigned integer", v);
            json_field(p, "sum", nullptr, v.sum, json_double, "sum must be a number", v,
                       &v.has_sum);
            json_array(p, "bucketCounts", "bucket_counts", v.bucket_counts, json_uint64,
                       "bucketCounts must be unsigned integers", v);
            json_array(p, "explicitBounds", "explicit_bounds", v.bounds, json_double,
                       "explicitBounds must be numbers", v);
            break;
        case metric_kind::exponential_histogram: {
            json_field(p, "count", nullptr, v.count, json_uint64,
                       "count must be an unsigned integer", v);
            json_field(p, "sum", nullptr, v.sum, json_double, "sum must be a number", v,
                       &v.has_sum);
            json_field(p, "scale", nullptr, v.scale, json_int64, "scale must be an integer", v);
            if (v.scale < std::numeric_limits<std::int32_t>::min() ||
                v.scale > std::numeric_limits<std::int32_t>::max()) {
                if (v.bad == nullptr) v.bad = "scale out of the int32 range";
            }
            json_field(p, "zeroCount", "zero_count", v.zero_count, json_uint64,
                       "zeroCount must be an unsigned integer", v);
            json_field(p, "zeroThreshold", "zero_threshold", v.zero_threshold, json_double,
                       "zeroThreshold must be a number", v);
            json_buckets(p, "positive", v.pos_offset, v.pos_counts, v);
            json_buckets(p, "negative", v.neg_offset, v.neg_counts, v);
            break;
        }
        case metric_kind::summary: {
            json_field(p, "count", nullptr, v.count, json_uint64,
                       "count must be an unsigned integer", v);
            json_field(p, "sum", nullptr, v.sum, json_double, "sum must be a number", v,
                       &v.has_sum);
            const json* qs = member(p, "quantileValues", "quantile_values");
            if (qs == nullptr || qs->is_null()) break;
            if (!qs->is_array()) {
                if (v.bad == nullptr) v.bad = "quantileValues must be an array";
                break;
            }
            for (const json& q : *qs) {
                double quantile = 0, value = 0;
                json_field(q, "quantile", nullptr, quantile, json_double,
                           "quantile must be a number", v);
                json_field(q, "value", nullptr, value, json_double, "value must be a number", v);
                v.quantiles.emplace_back(quantile, value);
            }
            break;
        }
        case metric_kind::unknown:
            break;
    }
}

}  // namespace mg::protocol::otlp_detail
