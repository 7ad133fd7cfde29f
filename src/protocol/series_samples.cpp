// The samples of one series read again from its bytes (see series_samples.h).
#include "protocol/series_samples.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>

#include "protocol/otlp_point_values.h"
#include "protocol/otlp_schema.h"
#include "protocol/remote_write_schema.h"
#include "protocol/wire.h"

namespace mg::protocol {

namespace {

// The payload of the one length-delimited field `raw` holds (its key and length skipped).
bool payload_of(bytes_view raw, bytes_view& payload) {
    wire_reader r(raw);
    wire_field f;
    if (!r.next(f) || f.type != wire_type::len) return false;
    payload = f.bytes;
    return true;
}

bool read_sample(bytes_view bytes, float_sample& out) {
    namespace v1 = rw_schema::v1;
    wire_reader r(bytes);
    wire_field f;
    out = {};
    while (r.next(f)) {
        if (f.number == v1::sample_value && f.type == wire_type::i64) {
            out.value = f.as_double();
        } else if (f.number == v1::sample_timestamp && f.type == wire_type::varint) {
            out.timestamp_ms = f.as_int64();
        }
    }
    return r.error() == nullptr;
}

// The repeated scalars of a Histogram: packed (proto3's way) or one field per value.
template <typename F>
bool for_each_varint(const wire_field& f, F&& f_value) {
    if (f.type == wire_type::varint) {
        f_value(f.value);
        return true;
    }
    if (f.type != wire_type::len) return false;
    packed_varint_reader r(f.bytes);
    std::uint64_t v = 0;
    while (r.next(v)) f_value(v);
    return !r.failed();
}

template <typename F>
bool for_each_double(const wire_field& f, F&& f_value) {
    if (f.type == wire_type::i64) {
        f_value(f.as_double());
        return true;
    }
    if (f.type != wire_type::len || f.bytes.size() % 8 != 0) return false;
    for (std::size_t k = 0; k < f.bytes.size(); k += 8) {
        std::uint64_t v = 0;
        for (int b = 7; b >= 0; --b)
            v = (v << 8) | static_cast<unsigned char>(f.bytes[k + static_cast<std::size_t>(b)]);
        f_value(std::bit_cast<double>(v));
    }
    return true;
}

struct span {
    std::int32_t offset = 0;
    std::uint32_t length = 0;
};

bool read_span(bytes_view bytes, span& out) {
    namespace v1 = rw_schema::v1;
    wire_reader r(bytes);
    wire_field f;
    out = {};
    while (r.next(f)) {
        if (f.type != wire_type::varint) continue;
        if (f.number == v1::span_offset)
            out.offset = zigzag_decode32(static_cast<std::uint32_t>(f.value));
        if (f.number == v1::span_length) out.length = static_cast<std::uint32_t>(f.value);
    }
    return r.error() == nullptr;
}

// Index range of a bucket: beyond it no bucket of a double (schema 8 ends near 2^18).
constexpr std::int64_t k_max_bucket_index = std::int64_t{1} << 24;

// The buckets of one side from its spans and its deltas (integer form) or counts (float form).
bool side_buckets(const std::vector<span>& spans, const std::vector<std::int64_t>& deltas,
                  const std::vector<double>& counts, std::vector<histogram_bucket>& out) {
    out.clear();
    std::uint64_t n = 0;
    for (const auto& s : spans) n += s.length;
    const bool ints = !deltas.empty();
    if (ints && !counts.empty()) return false;
    if (n != (ints ? deltas.size() : counts.size())) return false;
    std::int64_t index = 0;
    std::int64_t count = 0;
    std::size_t k = 0;
    for (std::size_t j = 0; j < spans.size(); ++j) {
        // The first span's offset is its first index; each next one's the gap after the last.
        if (j > 0 && spans[j].offset < 0) return false;  // buckets out of order
        index += spans[j].offset;
        for (std::uint32_t m = 0; m < spans[j].length; ++m, ++index, ++k) {
            if (index > k_max_bucket_index || index < -k_max_bucket_index) return false;
            double c = 0;
            if (ints) {
                // Each count the previous one plus its delta.
                if (__builtin_add_overflow(count, deltas[k], &count)) return false;
                c = static_cast<double>(count);
            } else {
                c = counts[k];
            }
            out.push_back({static_cast<std::int32_t>(index), c});
        }
    }
    return true;
}

}  // namespace

bool read_native_histogram(bytes_view payload, histogram_sample& out) {
    namespace v1 = rw_schema::v1;
    // Histogram fields beyond remote_write_schema.h's integer ones.
    constexpr std::uint32_t count_float = 2, zero_count_float = 7, negative_counts = 10,
                            positive_counts = 13, reset_hint = 14;
    thread_local std::vector<span> pos_spans, neg_spans;
    thread_local std::vector<std::int64_t> pos_deltas, neg_deltas;
    thread_local std::vector<double> pos_counts, neg_counts;
    pos_spans.clear();
    neg_spans.clear();
    pos_deltas.clear();
    neg_deltas.clear();
    pos_counts.clear();
    neg_counts.clear();
    auto& h = out.histogram;
    h = {};
    out.timestamp_ms = 0;
    out.hint = histogram_reset_hint::unknown;
    wire_reader r(payload);
    wire_field f;
    bool ok = true;
    const auto delta = [](std::vector<std::int64_t>& v) {
        return [&v](std::uint64_t x) { v.push_back(zigzag_decode64(x)); };
    };
    const auto value = [](std::vector<double>& v) { return [&v](double x) { v.push_back(x); }; };
    while (ok && r.next(f)) {
        switch (f.number) {
            case v1::histogram_count_int:
                if (f.type == wire_type::varint) h.count = static_cast<double>(f.value);
                break;
            case count_float:
                if (f.type == wire_type::i64) h.count = f.as_double();
                break;
            case v1::histogram_sum:
                if (f.type == wire_type::i64) h.sum = f.as_double();
                break;
            case v1::histogram_schema:
                if (f.type == wire_type::varint)
                    h.schema = zigzag_decode32(static_cast<std::uint32_t>(f.value));
                break;
            case v1::histogram_zero_threshold:
                if (f.type == wire_type::i64) h.zero_threshold = f.as_double();
                break;
            case v1::histogram_zero_count_int:
                if (f.type == wire_type::varint) h.zero_count = static_cast<double>(f.value);
                break;
            case zero_count_float:
                if (f.type == wire_type::i64) h.zero_count = f.as_double();
                break;
            case v1::histogram_negative_spans:
            case v1::histogram_positive_spans: {
                span s;
                ok = f.type == wire_type::len && read_span(f.bytes, s);
                (f.number == v1::histogram_positive_spans ? pos_spans : neg_spans).push_back(s);
                break;
            }
            case v1::histogram_negative_deltas:
                ok = for_each_varint(f, delta(neg_deltas));
                break;
            case v1::histogram_positive_deltas:
                ok = for_each_varint(f, delta(pos_deltas));
                break;
            case negative_counts:
                ok = for_each_double(f, value(neg_counts));
                break;
            case positive_counts:
                ok = for_each_double(f, value(pos_counts));
                break;
            case reset_hint:
                if (f.type == wire_type::varint && f.value <= 3)
                    out.hint = static_cast<histogram_reset_hint>(f.value);
                break;
            case v1::histogram_timestamp:
                if (f.type == wire_type::varint) out.timestamp_ms = f.as_int64();
                break;
            default:
                break;  // custom_values (schema -53), unknown fields
        }
    }
    return ok && r.error() == nullptr &&
           side_buckets(pos_spans, pos_deltas, pos_counts, h.positive) &&
           side_buckets(neg_spans, neg_deltas, neg_counts, h.negative);
}

namespace {

void read_remote_write(bytes_view payload, bool v2, series_samples& out) {
    namespace v1 = rw_schema::v1;
    namespace w2 = rw_schema::v2;
    const std::uint32_t samples_field = v2 ? w2::ts_samples : v1::ts_samples;
    const std::uint32_t histograms_field = v2 ? w2::ts_histograms : v1::ts_histograms;
    wire_reader r(payload);
    wire_field f;
    while (r.next(f)) {
        if (f.type != wire_type::len) continue;
        if (f.number == samples_field) {
            float_sample s;
            if (read_sample(f.bytes, s)) {
                out.samples.push_back(s);
            } else {
                ++out.unreadable;
            }
        } else if (f.number == histograms_field) {
            out.histograms.emplace_back();
            if (!read_native_histogram(f.bytes, out.histograms.back())) {
                out.histograms.pop_back();
                ++out.unreadable;
            }
        } else if (v2 && f.number == w2::ts_metadata) {
            wire_reader m(f.bytes);
            wire_field mf;
            while (m.next(mf)) {
                if (mf.number != w2::md_type || mf.type != wire_type::varint) continue;
                // io.prometheus.write.v2.Metadata.MetricType: 1 counter, 2 gauge.
                if (mf.value == 1) out.type = series_type::counter;
                if (mf.value == 2) out.type = series_type::gauge;
            }
        }
    }
}

void read_otlp_number(bytes_view payload, series_samples& out) {
    namespace os = otlp_schema;
    wire_reader r(payload);
    wire_field f;
    float_sample s;
    bool has_value = false;
    while (r.next(f)) {
        if (f.number == os::point_time_unix_nano && f.type == wire_type::i64) {
            s.timestamp_ms = static_cast<std::int64_t>(f.value / 1000000U);
        } else if (f.number == os::number_as_double && f.type == wire_type::i64) {
            s.value = f.as_double();
            has_value = true;
        } else if (f.number == os::number_as_int && f.type == wire_type::i64) {
            s.value = static_cast<double>(f.as_int64());
            has_value = true;
        }
    }
    if (has_value && r.error() == nullptr) {
        out.samples.push_back(s);
    } else {
        ++out.unreadable;
    }
}

// OTLP bucket k covers (base^k, base^(k+1)], Prometheus' bucket k + 1 the same; a scale past
// Prometheus' finest (8) is downscaled to it: `down` halvings merge neighbours, k -> k >> down.
// False for an index out of range.
bool exp_side(std::int64_t offset, const std::vector<std::uint64_t>& counts, unsigned down,
              std::vector<histogram_bucket>& out) {
    out.clear();
    for (std::size_t j = 0; j < counts.size(); ++j) {
        const std::int64_t k = ((offset + static_cast<std::int64_t>(j)) >> down) + 1;
        if (k > k_max_bucket_index || k < -k_max_bucket_index) return false;
        const auto index = static_cast<std::int32_t>(k);
        const auto c = static_cast<double>(counts[j]);
        if (!out.empty() && out.back().index == index) {
            out.back().count += c;
        } else {
            out.push_back({index, c});
        }
    }
    return true;
}

// One ExponentialHistogramDataPoint as a native histogram; false for one that cannot be read.
// A point flagged as no recorded value (a gap) gives none and is no error.
bool read_otlp_exp_histogram(bytes_view payload, series_samples& out) {
    thread_local otlp_point_values v;
    v.reset(metric_kind::exponential_histogram, 0, true);
    otlp_detail::read_pb_point(payload, v);
    if (v.bad != nullptr || v.scale < INT32_MIN || v.scale > INT32_MAX) return false;
    if ((v.flags & otlp_schema::flag_no_recorded_value) != 0) return true;
    constexpr std::int64_t k_finest = 8;
    const unsigned down =
        v.scale > k_finest ? static_cast<unsigned>(std::min<std::int64_t>(v.scale - k_finest, 63))
                           : 0;
    histogram_sample s;
    auto& h = s.histogram;
    h.schema = static_cast<std::int32_t>(std::min(v.scale, k_finest));
    h.zero_threshold = v.zero_threshold;
    h.zero_count = static_cast<double>(v.zero_count);
    h.count = static_cast<double>(v.count);
    // No sum: NaN, which the fold leaves out of the total's sum.
    h.sum = v.has_sum ? v.sum : std::numeric_limits<double>::quiet_NaN();
    if (!exp_side(v.pos_offset, v.pos_counts, down, h.positive) ||
        !exp_side(v.neg_offset, v.neg_counts, down, h.negative))
        return false;
    s.timestamp_ms = static_cast<std::int64_t>(v.time_ns / 1000000U);
    out.histograms.push_back(std::move(s));
    return true;
}

// One Histogram (explicit bounds) or Summary point: bounds, bucket counts, count and sum (a
// Summary's quantiles are not read); false for one that cannot be read. A gap gives none.
bool read_otlp_explicit_histogram(bytes_view payload, metric_kind kind, series_samples& out) {
    thread_local otlp_point_values v;
    v.reset(kind, 0, true);
    otlp_detail::read_pb_point(payload, v);
    if (v.bad != nullptr) return false;
    if ((v.flags & otlp_schema::flag_no_recorded_value) != 0) return true;
    explicit_histogram_sample s;
    auto& h = s.histogram;
    if (kind == metric_kind::histogram) {
        h.bounds = v.bounds;
        h.bucket_counts.assign(v.bucket_counts.begin(), v.bucket_counts.end());
    }
    h.count = static_cast<double>(v.count);
    h.sum = v.has_sum ? v.sum : std::numeric_limits<double>::quiet_NaN();
    s.timestamp_ms = static_cast<std::int64_t>(v.time_ns / 1000000U);
    out.explicit_histograms.push_back(std::move(s));
    return true;
}

}  // namespace

bool read_sum_shapes(const series_batch& batch, std::vector<sum_shape>& out) {
    namespace os = otlp_schema;
    out.assign(batch.size(), sum_shape{});
    if (batch.protocol() != source_protocol::otlp_protobuf) return false;
    // The decoder's order: resource metrics, scope metrics, metrics, data points (as
    // otlp_to_prw's walk), each point checked against the batch's raw bytes.
    std::size_t next = 0;
    bool ok = true;
    const auto metric = [&](bytes_view payload) {
        wire_reader r(payload);
        wire_field f;
        while (ok && r.next(f)) {
            const metric_kind k = os::kind_of(f.number);
            if (k == metric_kind::unknown || f.type != wire_type::len) continue;
            sum_shape shape;
            wire_reader dr(f.bytes);
            wire_field g;
            while (dr.next(g)) {
                if (g.type != wire_type::varint) continue;
                if (g.number == os::data_temporality)
                    shape.temporality =
                        static_cast<std::uint8_t>(std::min<std::uint64_t>(g.value, 3));
                if (g.number == os::data_is_monotonic) shape.monotonic = g.value != 0;
            }
            wire_reader pr(f.bytes);
            while (pr.next(g)) {
                if (g.number != os::data_points || g.type != wire_type::len) continue;
                const std::size_t n = next++;
                if (n >= batch.size() || batch.entry(n).raw.data() != g.raw.data()) {
                    ok = false;
                    return;
                }
                if (k == metric_kind::sum || k == metric_kind::exponential_histogram ||
                    k == metric_kind::histogram)
                    out[n] = shape;
            }
        }
    };
    wire_reader r(batch.body());
    wire_field f;
    while (ok && r.next(f)) {
        if (f.number != os::req_resource_metrics || f.type != wire_type::len) continue;
        wire_reader rr(f.bytes);
        wire_field g;
        while (ok && rr.next(g)) {
            if (g.number != os::rm_scope_metrics || g.type != wire_type::len) continue;
            wire_reader sr(g.bytes);
            wire_field m;
            while (ok && sr.next(m)) {
                if (m.number == os::sm_metrics && m.type == wire_type::len) metric(m.bytes);
            }
        }
    }
    if (!ok) out.assign(batch.size(), sum_shape{});
    return ok;
}

void read_series_samples(const series_batch& batch, std::size_t i, series_samples& out,
                         const sum_shape* shape) {
    out.samples.clear();
    out.histograms.clear();
    out.explicit_histograms.clear();
    out.type = series_type::unknown;
    out.unreadable = 0;
    const auto& e = batch.entry(i);
    bytes_view payload;
    if (e.raw.empty() || !payload_of(e.raw, payload)) {
        out.unreadable = e.samples + e.histograms;
        return;
    }
    switch (batch.protocol()) {
        case source_protocol::remote_write_v1:
            read_remote_write(payload, false, out);
            return;
        case source_protocol::remote_write_v2:
            read_remote_write(payload, true, out);
            return;
        case source_protocol::otlp_protobuf:
            if (e.kind == metric_kind::sum) {
                // Without a shape: a cumulative counter, as Prometheus' own OTLP senders send.
                const bool delta = shape != nullptr && shape->temporality == 1;
                const bool monotonic = shape == nullptr || shape->monotonic;
                out.type = delta
                               ? (monotonic ? series_type::delta_counter : series_type::delta_other)
                               : (monotonic ? series_type::counter : series_type::gauge);
            } else if (e.kind == metric_kind::gauge) {
                out.type = series_type::gauge;
            } else if (e.kind == metric_kind::exponential_histogram) {
                // Always a counter; with delta temporality each point is an increase.
                const bool delta = shape != nullptr && shape->temporality == 1;
                out.type = delta ? series_type::delta_counter : series_type::counter;
                if (!read_otlp_exp_histogram(payload, out)) ++out.unreadable;
                return;
            } else if (e.kind == metric_kind::histogram || e.kind == metric_kind::summary) {
                // A Summary is always cumulative; a Histogram's delta points are increases.
                const bool delta =
                    e.kind == metric_kind::histogram && shape != nullptr && shape->temporality == 1;
                out.type = delta ? series_type::delta_counter : series_type::counter;
                if (!read_otlp_explicit_histogram(payload, e.kind, out)) ++out.unreadable;
                return;
            } else {
                out.unreadable = e.samples + e.histograms;
                return;
            }
            read_otlp_number(payload, out);
            return;
        case source_protocol::otlp_json:
        case source_protocol::none:
            break;
    }
    out.unreadable = e.samples + e.histograms;
}

}  // namespace mg::protocol
