// remote_write.h: the encoders of kept series, remote_write_v1_writer and remote_write_v2_writer
// and the *_subset functions built on them.
#include "protocol/remote_write.h"
#include "protocol/remote_write_internal.h"
#include "protocol/remote_write_schema.h"

namespace mg::protocol {

using namespace rw_detail;  // field numbers, the shared Label/refs/metadata pieces

namespace {

// Emits the 1.0 Label messages of a series: __name__ at its sorted place among sorted labels,
// without the labels `strip` selects (bit j = labels[j]).
void write_v1_labels(wire_writer& w, std::string_view name, std::span<const label_view> labels,
                     std::uint64_t strip) {
    auto put = [&w](std::string_view n, std::string_view v) {
        const std::size_t t = w.begin_message(v1::ts_labels);
        w.bytes_field(v1::label_name, n);
        w.bytes_field(v1::label_value, v);
        w.end_message(t);
    };
    bool name_done = name.empty();
    for (std::size_t j = 0; j < labels.size(); ++j) {
        const label_view& l = labels[j];
        if (!name_done && k_name_label < l.name) {
            put(k_name_label, name);
            name_done = true;
        }
        if (j < 64 && ((strip >> j) & 1U) != 0) continue;
        put(l.name, l.value);
    }
    if (!name_done) put(k_name_label, name);
}

decode_status changed_body() {
    return decode_status::malformed("remote write: batch source changed since decoding");
}

}  // namespace

// ---- remote_write_v1_writer ----

decode_status remote_write_v1_writer::add_series(const series_batch& batch, std::size_t i,
                                                 std::uint64_t strip_mask) {
    const series_entry& e = batch.entry(i);
    if (strip_mask != 0) {
        if (auto s = check_strip_mask(batch, i, strip_mask); !s) return s;
    }
    wire_writer w(out_);
    if (batch.protocol() == source_protocol::remote_write_v1) {
        if (!e.wire_labels_unsorted && strip_mask == 0) {
            w.raw(e.raw);
            ++series_;
            return decode_status::success();
        }
        wire_field f;
        if (!reopen(e.raw, f)) return changed_body();
        const std::size_t t = w.begin_message(v1::req_timeseries);
        const std::span<const label_view> labels = batch[i].labels;
        if (e.wire_labels_unsorted) write_v1_labels(w, e.metric_name, labels, strip_mask);
        wire_reader r(f.bytes);
        wire_field g;
        while (r.next(g)) {
            if (g.number != v1::ts_labels) {
                w.raw(g.raw);
                continue;
            }
            if (e.wire_labels_unsorted) continue;  // written sorted above
            // Sorted on the wire: keep the remaining Label fields as they were. The mask indexes
            // the sorted view, so match by name (unique per series; the view never holds
            // __name__, so it is never removed).
            label_view l;
            if (!read_label_fast(g.bytes, l) &&
                !read_label(g.bytes, l, failer{"remote write 1.0"}).ok()) {
                w.cancel_message(t, v1::req_timeseries);
                return changed_body();
            }
            if (!strip_mask_removes(labels, strip_mask, l.name)) w.raw(g.raw);
        }
        if (r.error() != nullptr) {
            w.cancel_message(t, v1::req_timeseries);
            return changed_body();
        }
        w.end_message(t);
        ++series_;
        return decode_status::success();
    }
    if (batch.protocol() != source_protocol::remote_write_v2) {
        return decode_status::malformed("remote write 1.0 writer: source is not remote write");
    }
    const std::span<const std::string_view> symbols = batch.symbols();
    wire_field f;
    if (!reopen(e.raw, f)) return changed_body();
    const std::size_t t = w.begin_message(v1::req_timeseries);
    write_v1_labels(w, e.metric_name, batch[i].labels, strip_mask);
    wire_reader r(f.bytes);
    wire_field g;
    std::uint64_t md_type = 0;
    std::string_view md_help, md_unit;
    bool have_md = false;
    while (r.next(g)) {
        switch (g.number) {
            case v2::ts_samples:
                w.raw(g.raw);
                break;  // same field number in 1.0
            case v2::ts_histograms:
                w.bytes_field(v1::ts_histograms, g.bytes);
                break;
            case v2::ts_exemplars: {
                const std::size_t et = w.begin_message(v1::ts_exemplars);
                wire_reader er(g.bytes);
                wire_field x;
                std::uint32_t pending = 0;
                bool have = false;
                while (er.next(x)) {
                    if (x.number != v2::exemplar_labels_refs) {
                        w.raw(x.raw);  // value = 2, timestamp = 3 in both versions
                        continue;
                    }
                    for_each_ref(x, [&](std::uint32_t ref) {
                        if (!have) {
                            pending = ref;
                            have = true;
                            return;
                        }
                        have = false;
                        const std::size_t lt = w.begin_message(v1::exemplar_labels);
                        w.bytes_field(v1::label_name, symbols[pending]);
                        w.bytes_field(v1::label_value, symbols[ref]);
                        w.end_message(lt);
                    });
                }
                w.end_message(et);
                break;
            }
            case v2::ts_metadata: {
                wire_reader mr(g.bytes);
                wire_field m;
                while (mr.next(m)) {
                    if (m.number == v2::md_type) md_type = m.value;
                    if (m.number == v2::md_help_ref) md_help = symbols[m.value];
                    if (m.number == v2::md_unit_ref) md_unit = symbols[m.value];
                }
                have_md = md_type != 0 || !md_help.empty() || !md_unit.empty();
                break;
            }
            default:
                break;  // labels were written above; created_timestamp has no 1.0 field
        }
    }
    w.end_message(t);
    // 1.0 carries metadata per request, not per series; one entry per family is enough.
    if (have_md && !e.metric_name.empty() && md_families_.insert(e.metric_name).second) {
        write_v1_metadata(w, md_type, e.metric_name, md_help, md_unit);
    }
    ++series_;
    return decode_status::success();
}

void remote_write_v1_writer::add_metadata(const series_batch& batch) {
    if (batch.protocol() != source_protocol::remote_write_v1) return;
    wire_reader r(batch.body());
    wire_field f;
    while (r.next(f)) {
        if (f.number == v1::req_metadata) out_.append(f.raw);
    }
}

decode_status encode_remote_write_v1_subset(const series_batch& batch,
                                            std::span<const std::uint8_t> keep, std::string& out) {
    return encode_remote_write_v1_subset(batch, keep, {}, out);  // no masks: every series raw
}

decode_status encode_remote_write_v1_subset(const series_batch& batch,
                                            std::span<const std::uint8_t> keep,
                                            std::span<const std::uint64_t> strip_masks,
                                            std::string& out) {
    if (keep.size() != batch.size()) {
        return decode_status::malformed("remote write: keep mask size does not match the batch");
    }
    bool any = false;
    if (auto s = check_strip_masks(batch, keep, strip_masks, any); !s) return s;
    remote_write_v1_writer w(out);
    for (std::size_t i = 0; i < keep.size(); ++i) {
        if (keep[i] == 0) continue;
        if (auto s = w.add_series(batch, i, any ? strip_masks[i] : 0); !s) return s;
    }
    w.add_metadata(batch);
    return decode_status::success();
}

// ---- remote_write_v2_writer ----

remote_write_v2_writer::remote_write_v2_writer() {
    intern({});
}

std::uint32_t remote_write_v2_writer::intern(std::string_view s) {
    auto [it, inserted] = refs_.try_emplace(s, static_cast<std::uint32_t>(symbols_.size()));
    if (inserted) symbols_.push_back(s);
    return it->second;
}

decode_status remote_write_v2_writer::add_series(const series_batch& batch, std::size_t i,
                                                 std::uint64_t strip_mask) {
    if (batch.protocol() != source_protocol::remote_write_v2) {
        return decode_status::malformed("remote write 2.0 writer: source is not remote write 2.0");
    }
    if (strip_mask != 0) {
        if (auto s = check_strip_mask(batch, i, strip_mask); !s) return s;
    }
    const series_entry& e = batch.entry(i);
    const std::span<const std::string_view> symbols = batch.symbols();
    wire_field f;
    if (!reopen(e.raw, f)) return changed_body();
    wire_writer w(timeseries_);
    const std::size_t t = w.begin_message(v2::req_timeseries);
    // labels_refs, packed, in sorted order with __name__ at its place.
    scratch_refs_.clear();
    bool name_done = e.metric_name.empty();
    const std::span<const label_view> labels = batch[i].labels;
    for (std::size_t j = 0; j < labels.size(); ++j) {
        const label_view& l = labels[j];
        if (!name_done && k_name_label < l.name) {
            scratch_refs_.push_back(intern(k_name_label));
            scratch_refs_.push_back(intern(e.metric_name));
            name_done = true;
        }
        if (j < 64 && ((strip_mask >> j) & 1U) != 0) continue;  // removed: not interned
        scratch_refs_.push_back(intern(l.name));
        scratch_refs_.push_back(intern(l.value));
    }
    if (!name_done) {
        scratch_refs_.push_back(intern(k_name_label));
        scratch_refs_.push_back(intern(e.metric_name));
    }
    if (!scratch_refs_.empty()) {
        const std::size_t lt = w.begin_message(v2::ts_labels_refs);
        for (std::uint32_t ref : scratch_refs_) wire_writer::put_varint(timeseries_, ref);
        w.end_message(lt);
    }
    wire_reader r(f.bytes);
    wire_field g;
    while (r.next(g)) {
        switch (g.number) {
            case v2::ts_labels_refs:
                break;
            case v2::ts_exemplars: {
                scratch_refs_.clear();
                wire_reader er(g.bytes);
                wire_field x;
                const std::size_t et = w.begin_message(v2::ts_exemplars);
                while (er.next(x)) {
                    if (x.number == v2::exemplar_labels_refs) {
                        for_each_ref(x, [&](std::uint32_t ref) {
                            scratch_refs_.push_back(intern(symbols[ref]));
                        });
                    } else {
                        w.raw(x.raw);
                    }
                }
                if (!scratch_refs_.empty()) {
                    const std::size_t lt = w.begin_message(v2::exemplar_labels_refs);
                    for (std::uint32_t ref : scratch_refs_) {
                        wire_writer::put_varint(timeseries_, ref);
                    }
                    w.end_message(lt);
                }
                w.end_message(et);
                break;
            }
            case v2::ts_metadata: {
                wire_reader mr(g.bytes);
                wire_field m;
                const std::size_t mt = w.begin_message(v2::ts_metadata);
                while (mr.next(m)) {
                    if (m.number == v2::md_help_ref || m.number == v2::md_unit_ref) {
                        w.varint_field(m.number, intern(symbols[m.value]));
                    } else {
                        w.raw(m.raw);
                    }
                }
                w.end_message(mt);
                break;
            }
            default:
                w.raw(g.raw);
                break;  // samples, histograms, created_timestamp, unknown
        }
    }
    w.end_message(t);
    ++series_;
    return decode_status::success();
}

void remote_write_v2_writer::finish(std::string& out) {
    out.clear();
    wire_writer w(out);
    for (std::string_view s : symbols_) w.bytes_field(v2::req_symbols, s);
    out.append(timeseries_);
    refs_.clear();
    symbols_.clear();
    timeseries_.clear();
    series_ = 0;
    intern({});
}

decode_status encode_remote_write_v2_subset(const series_batch& batch,
                                            std::span<const std::uint8_t> keep, std::string& out) {
    return encode_remote_write_v2_subset(batch, keep, {}, out);
}

decode_status encode_remote_write_v2_subset(const series_batch& batch,
                                            std::span<const std::uint8_t> keep,
                                            std::span<const std::uint64_t> strip_masks,
                                            std::string& out) {
    if (keep.size() != batch.size()) {
        return decode_status::malformed("remote write: keep mask size does not match the batch");
    }
    bool any = false;
    if (auto s = check_strip_masks(batch, keep, strip_masks, any); !s) return s;
    remote_write_v2_writer w;
    for (std::size_t i = 0; i < keep.size(); ++i) {
        if (keep[i] == 0) continue;
        if (auto s = w.add_series(batch, i, any ? strip_masks[i] : 0); !s) return s;
    }
    w.finish(out);
    return decode_status::success();
}

}  // namespace mg::protocol
