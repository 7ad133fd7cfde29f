// Requests of series the daemon owns (see owned_series_encode.h).
#include "protocol/owned_series_encode.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <vector>

#include "protocol/otlp_schema.h"
#include "protocol/remote_write_schema.h"
#include "protocol/wire.h"

namespace mg::protocol {

namespace {

bytes_view view(std::string_view s) {
    return s;
}

void put_fixed64(std::string& out, std::uint64_t v) {
    char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
    out.append(b, 8);
}

// One side of a Histogram: a span per run of consecutive populated buckets, then their counts
// packed: as deltas from the previous bucket's (sint64, the integer form) or absolute (doubles,
// the float form). Empty buckets are left out (an absent bucket reads as empty).
void write_side(wire_writer& w, const std::vector<histogram_bucket>& buckets, bool integers,
                std::uint32_t spans_field, std::uint32_t counts_field) {
    std::int64_t next = 0;  // the index after the previous span
    bool first = true;
    std::size_t k = 0;
    while (k < buckets.size()) {
        if (buckets[k].count == 0) {
            ++k;
            continue;
        }
        std::size_t end = k + 1;
        while (end < buckets.size() && buckets[end].count != 0 &&
               buckets[end].index == buckets[end - 1].index + 1)
            ++end;
        const std::int64_t offset = first ? buckets[k].index : buckets[k].index - next;
        const auto st = w.begin_message(spans_field);
        w.varint_field(rw_schema::v1::span_offset,
                       zigzag_encode32(static_cast<std::int32_t>(offset)));
        w.varint_field(rw_schema::v1::span_length, end - k);
        w.end_message(st);
        next = buckets[end - 1].index + 1;
        first = false;
        k = end;
    }
    bool any = false;
    for (const auto& b : buckets) any = any || b.count != 0;
    if (!any) return;
    const auto ct = w.begin_message(counts_field);
    std::int64_t prev = 0;
    for (const auto& b : buckets) {
        if (b.count == 0) continue;
        if (integers) {
            const auto c = static_cast<std::int64_t>(b.count);
            wire_writer::put_varint(w.out(), zigzag_encode64(c - prev));
            prev = c;
        } else {
            put_fixed64(w.out(), std::bit_cast<std::uint64_t>(b.count));
        }
    }
    w.end_message(ct);
}

// Whether every count of h is a whole number a uint64 and a double hold exactly.
bool integral(const native_histogram& h) {
    const auto whole_number = [](double c) {
        return c >= 0 && c <= 9007199254740992.0 && std::floor(c) == c;  // 2^53
    };
    if (!whole_number(h.count) || !whole_number(h.zero_count)) return false;
    for (const auto* side : {&h.positive, &h.negative}) {
        for (const auto& b : *side) {
            if (!whole_number(b.count)) return false;
        }
    }
    return true;
}

// prompb.Histogram: the integer form (count_int, zero_count_int, deltas) when every count is a
// whole number, the form instrumented clients send and the first one backends supported (float
// histograms came later to some); else the float form (count_float, zero_count_float, absolute
// counts).
void write_histogram(wire_writer& w, const histogram_sample& s) {
    namespace v1 = rw_schema::v1;
    constexpr std::uint32_t count_float = 2, zero_count_float = 7, negative_counts = 10,
                            positive_counts = 13;
    const auto& h = s.histogram;
    const bool integers = integral(h);
    const auto m = w.begin_message(v1::ts_histograms);
    if (integers) {
        w.varint_field(v1::histogram_count_int, static_cast<std::uint64_t>(h.count));
    } else {
        w.double_field(count_float, h.count);
    }
    w.double_field(v1::histogram_sum, h.sum);
    w.varint_field(v1::histogram_schema, zigzag_encode32(h.schema));
    w.double_field(v1::histogram_zero_threshold, h.zero_threshold);
    if (integers) {
        w.varint_field(v1::histogram_zero_count_int, static_cast<std::uint64_t>(h.zero_count));
    } else {
        w.double_field(zero_count_float, h.zero_count);
    }
    write_side(w, h.negative, integers, v1::histogram_negative_spans,
               integers ? v1::histogram_negative_deltas : negative_counts);
    write_side(w, h.positive, integers, v1::histogram_positive_spans,
               integers ? v1::histogram_positive_deltas : positive_counts);
    w.int64_field(v1::histogram_timestamp, s.timestamp_ms);
    w.end_message(m);
}

std::uint64_t whole(double count) {
    return count > 0 ? static_cast<std::uint64_t>(std::llround(count)) : 0;
}

// ExponentialHistogramDataPoint.Buckets: OTLP bucket k covers (base^k, base^(k+1)], Prometheus'
// bucket i = k + 1; dense counts from the first populated bucket to the last.
void write_exp_buckets(wire_writer& w, std::uint32_t field,
                       const std::vector<histogram_bucket>& buckets) {
    namespace os = otlp_schema;
    std::size_t lo = 0, hi = buckets.size();
    while (lo < hi && whole(buckets[lo].count) == 0) ++lo;
    while (hi > lo && whole(buckets[hi - 1].count) == 0) --hi;
    if (lo == hi) return;
    const auto b = w.begin_message(field);
    w.varint_field(os::buckets_offset, zigzag_encode32(buckets[lo].index - 1));
    const auto c = w.begin_message(os::buckets_counts);
    std::int64_t index = buckets[lo].index;
    for (std::size_t k = lo; k < hi; ++k) {
        for (; index < buckets[k].index; ++index) wire_writer::put_varint(w.out(), 0);
        wire_writer::put_varint(w.out(), whole(buckets[k].count));
        ++index;
    }
    w.end_message(c);
    w.end_message(b);
}

// Dense OTLP buckets from sparse ones: a layout spread wider than this is downscaled first.
constexpr std::int64_t k_max_dense_buckets = 8192;

std::int64_t spread(const native_histogram& h) {
    std::int64_t out = 0;
    for (const auto* side : {&h.positive, &h.negative}) {
        if (!side->empty())
            out = std::max<std::int64_t>(
                out, std::int64_t{side->back().index} - side->front().index + 1);
    }
    return out;
}

// Lowers h's schema by one: buckets i and i+1 of a pair merge into ((i - 1) >> 1) + 1.
void halve(native_histogram& h) {
    for (auto* side : {&h.positive, &h.negative}) {
        std::vector<histogram_bucket> out;
        for (const auto& b : *side) {
            const auto idx = static_cast<std::int32_t>(((std::int64_t{b.index} - 1) >> 1) + 1);
            if (!out.empty() && out.back().index == idx) {
                out.back().count += b.count;
            } else {
                out.push_back({idx, b.count});
            }
        }
        side->swap(out);
    }
    --h.schema;
}

}  // namespace

void encode_owned_remote_write_v1(std::span<const owned_series> series, std::string& out) {
    namespace v1 = rw_schema::v1;
    wire_writer w(out);
    for (const auto& s : series) {
        const auto ts = w.begin_message(v1::req_timeseries);
        const auto name = w.begin_message(v1::ts_labels);
        w.bytes_field(v1::label_name, view(rw_schema::k_name_label));
        w.bytes_field(v1::label_value, view(s.metric_name));
        w.end_message(name);
        for (const auto& [k, v] : s.labels) {
            const auto l = w.begin_message(v1::ts_labels);
            w.bytes_field(v1::label_name, view(k));
            w.bytes_field(v1::label_value, view(v));
            w.end_message(l);
        }
        for (const auto& p : s.samples) {
            const auto m = w.begin_message(v1::ts_samples);
            w.double_field(v1::sample_value, p.value);
            w.int64_field(v1::sample_timestamp, p.timestamp_ms);
            w.end_message(m);
        }
        for (const auto& h : s.histograms) write_histogram(w, h);
        w.end_message(ts);
    }
}

namespace {

// The series' labels as the data point's attributes (string values); `kind` says which point
// type's field number they take.
void write_attributes(wire_writer& w, std::span<const std::pair<std::string, std::string>> labels,
                      metric_kind kind) {
    namespace os = otlp_schema;
    for (const auto& [k, v] : labels) {
        const auto kv = w.begin_message(os::attributes_field(kind));
        w.bytes_field(os::kv_key, view(k));
        const auto any = w.begin_message(os::kv_value);
        w.bytes_field(os::any_string, view(v));
        w.end_message(any);
        w.end_message(kv);
    }
}

// A cumulative ExponentialHistogram, one data point per histogram.
void write_exp_histogram(wire_writer& w, const owned_series& s) {
    namespace os = otlp_schema;
    const auto data = w.begin_message(os::metric_exp_histogram);
    for (const auto& sample : s.histograms) {
        const native_histogram* h = &sample.histogram;
        native_histogram coarse;
        if (spread(*h) > k_max_dense_buckets) {
            coarse = *h;
            while (spread(coarse) > k_max_dense_buckets) halve(coarse);
            h = &coarse;
        }
        const auto point = w.begin_message(os::data_points);
        write_attributes(w, s.labels, metric_kind::exponential_histogram);
        w.fixed64_field(os::point_time_unix_nano,
                        static_cast<std::uint64_t>(sample.timestamp_ms) * 1000000U);
        // The count as the buckets' rounded sum, so that count and buckets agree.
        std::uint64_t count = whole(h->zero_count);
        for (const auto* side : {&h->positive, &h->negative}) {
            for (const auto& b : *side) count += whole(b.count);
        }
        w.fixed64_field(os::point_count, count);
        if (std::isfinite(h->sum)) w.double_field(os::point_sum, h->sum);
        w.varint_field(os::exp_scale, zigzag_encode32(h->schema));
        w.fixed64_field(os::exp_zero_count, whole(h->zero_count));
        write_exp_buckets(w, os::exp_positive, h->positive);
        write_exp_buckets(w, os::exp_negative, h->negative);
        w.double_field(os::exp_zero_threshold, h->zero_threshold);
        w.end_message(point);
    }
    w.varint_field(os::data_temporality, 2);  // AGGREGATION_TEMPORALITY_CUMULATIVE
    w.end_message(data);
}

// A cumulative Histogram (explicit bounds), or a Summary without quantiles, one data point per
// sample. The count is the buckets' rounded sum when there are buckets, so that they agree.
void write_explicit_histogram(wire_writer& w, const owned_series& s) {
    namespace os = otlp_schema;
    const auto kind = s.summary ? metric_kind::summary : metric_kind::histogram;
    const auto data = w.begin_message(os::data_field_of(kind));
    for (const auto& sample : s.explicit_histograms) {
        const auto& h = sample.histogram;
        const auto point = w.begin_message(os::data_points);
        write_attributes(w, s.labels, kind);
        w.fixed64_field(os::point_time_unix_nano,
                        static_cast<std::uint64_t>(sample.timestamp_ms) * 1000000U);
        std::uint64_t count = whole(h.count);
        if (!s.summary && !h.bucket_counts.empty()) {
            count = 0;
            for (const double c : h.bucket_counts) count += whole(c);
        }
        w.fixed64_field(os::point_count, count);
        if (std::isfinite(h.sum)) w.double_field(os::point_sum, h.sum);
        if (!s.summary && !h.bucket_counts.empty()) {
            const auto bc = w.begin_message(os::histogram_bucket_counts);
            for (const double c : h.bucket_counts) put_fixed64(w.out(), whole(c));
            w.end_message(bc);
            if (!h.bounds.empty()) {
                const auto eb = w.begin_message(os::histogram_explicit_bounds);
                for (const double b : h.bounds)
                    put_fixed64(w.out(), std::bit_cast<std::uint64_t>(b));
                w.end_message(eb);
            }
        }
        w.end_message(point);
    }
    if (!s.summary) w.varint_field(os::data_temporality, 2);  // AGGREGATION_TEMPORALITY_CUMULATIVE
    w.end_message(data);
}

}  // namespace

void encode_owned_otlp(std::span<const owned_series> series, std::string& out) {
    namespace os = otlp_schema;
    wire_writer w(out);
    const auto rm = w.begin_message(os::req_resource_metrics);
    const auto sm = w.begin_message(os::rm_scope_metrics);
    for (const auto& s : series) {
        const auto metric = w.begin_message(os::sm_metrics);
        w.bytes_field(os::metric_name, view(s.metric_name));
        if (!s.unit.empty()) w.bytes_field(os::metric_unit, view(s.unit));
        if (!s.histograms.empty()) {
            write_exp_histogram(w, s);
            w.end_message(metric);
            continue;
        }
        if (!s.explicit_histograms.empty()) {
            write_explicit_histogram(w, s);
            w.end_message(metric);
            continue;
        }
        const auto data = w.begin_message(s.cumulative ? os::metric_sum : os::metric_gauge);
        const bool delta = s.cumulative && s.delta;
        std::int64_t start_ms = s.start_ms;
        for (const auto& p : s.samples) {
            const auto point = w.begin_message(os::data_points);
            write_attributes(w, s.labels, metric_kind::gauge);
            if (delta) {
                // Each point counts from the previous one's time on.
                w.fixed64_field(os::point_start_time_unix_nano,
                                static_cast<std::uint64_t>(start_ms) * 1000000U);
                start_ms = p.timestamp_ms;
            }
            w.fixed64_field(os::point_time_unix_nano,
                            static_cast<std::uint64_t>(p.timestamp_ms) * 1000000U);
            w.double_field(os::number_as_double, p.value);
            w.end_message(point);
        }
        if (s.cumulative) {
            // AGGREGATION_TEMPORALITY_DELTA (1) or _CUMULATIVE (2).
            w.varint_field(os::data_temporality, delta ? 1 : 2);
            w.varint_field(os::data_is_monotonic, 1);
        }
        w.end_message(data);
        w.end_message(metric);
    }
    w.end_message(sm);
    w.end_message(rm);
}

}  // namespace mg::protocol
