#include "protocol/remote_write_builder.h"

#include <unordered_map>

#include "protocol/remote_write_internal.h"
#include "protocol/remote_write_schema.h"

namespace mg::protocol {

using namespace rw_detail;  // field numbers, the shared Label/refs/metadata pieces

namespace {

void write_owned_sample(wire_writer& w, std::uint32_t field, const owned_sample& s) {
    const std::size_t t = w.begin_message(field);
    w.double_field(v1::sample_value, s.value);
    if (s.timestamp_ms != 0) w.int64_field(v1::sample_timestamp, s.timestamp_ms);
    w.end_message(t);
}

void write_owned_histogram(wire_writer& w, std::uint32_t field, const owned_histogram& h) {
    // The same layout in 1.0 and 2.0; schema is a sint32.
    constexpr std::uint32_t count_float = 2, zero_count_float = 7, negative_counts = 10,
                            positive_counts = 13, reset_hint = 14;
    const std::size_t t = w.begin_message(field);
    if (h.float_form) {
        w.double_field(count_float, h.count_float);
    } else {
        w.varint_field(v1::histogram_count_int, h.count);
    }
    w.double_field(v1::histogram_sum, h.sum);
    w.sint64_field(v1::histogram_schema, h.schema);
    if (h.zero_threshold != 0) w.double_field(v1::histogram_zero_threshold, h.zero_threshold);
    if (h.float_form) {
        if (h.zero_count_float != 0) w.double_field(zero_count_float, h.zero_count_float);
    } else if (h.zero_count != 0) {
        w.varint_field(v1::histogram_zero_count_int, h.zero_count);
    }
    const auto side = [&](const std::vector<owned_bucket_span>& spans,
                          const std::vector<std::int64_t>& deltas,
                          const std::vector<double>& counts, std::uint32_t spans_field,
                          std::uint32_t deltas_field, std::uint32_t counts_field) {
        for (const auto& s : spans) {
            const std::size_t st = w.begin_message(spans_field);
            w.varint_field(v1::span_offset, zigzag_encode32(s.offset));
            w.varint_field(v1::span_length, s.length);
            w.end_message(st);
        }
        if (!deltas.empty()) {
            const std::size_t dt = w.begin_message(deltas_field);
            for (const auto d : deltas) wire_writer::put_varint(w.out(), zigzag_encode64(d));
            w.end_message(dt);
        }
        for (const double c : counts) w.double_field(counts_field, c);  // unpacked: also valid
    };
    side(h.negative_spans, h.negative_deltas, h.negative_counts, v1::histogram_negative_spans,
         v1::histogram_negative_deltas, negative_counts);
    side(h.positive_spans, h.positive_deltas, h.positive_counts, v1::histogram_positive_spans,
         v1::histogram_positive_deltas, positive_counts);
    if (h.reset_hint != 0) w.varint_field(reset_hint, h.reset_hint);
    w.int64_field(v1::histogram_timestamp, h.timestamp_ms);
    w.end_message(t);
}

}  // namespace

void encode_remote_write_v1(std::span<const owned_timeseries> series,
                            std::span<const owned_metadata> metadata, std::string& out) {
    out.clear();
    wire_writer w(out);
    for (const owned_timeseries& ts : series) {
        const std::size_t t = w.begin_message(v1::req_timeseries);
        for (const owned_label& l : ts.labels) {
            const std::size_t lt = w.begin_message(v1::ts_labels);
            w.bytes_field(v1::label_name, l.name);
            w.bytes_field(v1::label_value, l.value);
            w.end_message(lt);
        }
        for (const owned_sample& s : ts.samples) write_owned_sample(w, v1::ts_samples, s);
        for (const owned_exemplar& x : ts.exemplars) {
            const std::size_t xt = w.begin_message(v1::ts_exemplars);
            for (const owned_label& l : x.labels) {
                const std::size_t lt = w.begin_message(v1::exemplar_labels);
                w.bytes_field(v1::label_name, l.name);
                w.bytes_field(v1::label_value, l.value);
                w.end_message(lt);
            }
            w.double_field(v1::exemplar_value, x.value);
            w.int64_field(v1::exemplar_timestamp, x.timestamp_ms);
            w.end_message(xt);
        }
        for (const owned_histogram& h : ts.histograms) {
            write_owned_histogram(w, v1::ts_histograms, h);
        }
        w.end_message(t);
    }
    for (const owned_metadata& m : metadata) {
        write_v1_metadata(w, m.type, m.metric_family_name, m.help, m.unit);
    }
}

void encode_remote_write_v2(std::span<const owned_timeseries> series, std::string& out) {
    out.clear();
    std::unordered_map<std::string_view, std::uint32_t> refs;
    std::vector<std::string_view> symbols;
    auto intern = [&](std::string_view s) {
        auto [it, inserted] = refs.try_emplace(s, static_cast<std::uint32_t>(symbols.size()));
        if (inserted) symbols.push_back(s);
        return it->second;
    };
    intern({});
    std::string body;
    wire_writer w(body);
    for (const owned_timeseries& ts : series) {
        const std::size_t t = w.begin_message(v2::req_timeseries);
        if (!ts.labels.empty()) {
            const std::size_t lt = w.begin_message(v2::ts_labels_refs);
            for (const owned_label& l : ts.labels) {
                wire_writer::put_varint(body, intern(l.name));
                wire_writer::put_varint(body, intern(l.value));
            }
            w.end_message(lt);
        }
        for (const owned_sample& s : ts.samples) write_owned_sample(w, v2::ts_samples, s);
        for (const owned_histogram& h : ts.histograms) {
            write_owned_histogram(w, v2::ts_histograms, h);
        }
        for (const owned_exemplar& x : ts.exemplars) {
            const std::size_t xt = w.begin_message(v2::ts_exemplars);
            if (!x.labels.empty()) {
                const std::size_t lt = w.begin_message(v2::exemplar_labels_refs);
                for (const owned_label& l : x.labels) {
                    wire_writer::put_varint(body, intern(l.name));
                    wire_writer::put_varint(body, intern(l.value));
                }
                w.end_message(lt);
            }
            w.double_field(v2::exemplar_value, x.value);
            w.int64_field(v2::exemplar_timestamp, x.timestamp_ms);
            w.end_message(xt);
        }
        if (ts.metadata_type != 0 || !ts.help.empty() || !ts.unit.empty()) {
            const std::size_t mt = w.begin_message(v2::ts_metadata);
            if (ts.metadata_type != 0) w.varint_field(v2::md_type, ts.metadata_type);
            if (!ts.help.empty()) w.varint_field(v2::md_help_ref, intern(ts.help));
            if (!ts.unit.empty()) w.varint_field(v2::md_unit_ref, intern(ts.unit));
            w.end_message(mt);
        }
        w.end_message(t);
    }
    wire_writer ow(out);
    for (std::string_view s : symbols) ow.bytes_field(v2::req_symbols, s);
    out.append(body);
}

}  // namespace mg::protocol
