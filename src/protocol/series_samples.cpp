// The samples of one series read again from its bytes (see series_samples.h).
#include "protocol/series_samples.h"

#include <algorithm>

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
            ++out.unreadable;
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
                if (k == metric_kind::sum) out[n] = shape;
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
