// Requests of series the daemon owns (see owned_series_encode.h).
#include "protocol/owned_series_encode.h"

#include "protocol/otlp_schema.h"
#include "protocol/remote_write_schema.h"
#include "protocol/wire.h"

namespace mg::protocol {

namespace {

bytes_view view(std::string_view s) {
    return s;
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
        w.end_message(ts);
    }
}

void encode_owned_otlp(std::span<const owned_series> series, std::string& out) {
    namespace os = otlp_schema;
    wire_writer w(out);
    const auto rm = w.begin_message(os::req_resource_metrics);
    const auto sm = w.begin_message(os::rm_scope_metrics);
    for (const auto& s : series) {
        const auto metric = w.begin_message(os::sm_metrics);
        w.bytes_field(os::metric_name, view(s.metric_name));
        const auto data = w.begin_message(s.cumulative ? os::metric_sum : os::metric_gauge);
        const bool delta = s.cumulative && s.delta;
        std::int64_t start_ms = s.start_ms;
        for (const auto& p : s.samples) {
            const auto point = w.begin_message(os::data_points);
            for (const auto& [k, v] : s.labels) {
                const auto kv = w.begin_message(os::attributes_field(metric_kind::gauge));
                w.bytes_field(os::kv_key, view(k));
                const auto any = w.begin_message(os::kv_value);
                w.bytes_field(os::any_string, view(v));
                w.end_message(any);
                w.end_message(kv);
            }
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
