#include "protocol/otlp_strip.h"

#include "protocol/otlp.h"
#include "protocol/otlp_schema.h"
#include "protocol/otlp_strip_plan.h"
#include "protocol/wire.h"

namespace mg::protocol::otlp_detail {

using namespace otlp_schema;  // field numbers, kind_of

namespace {

// The key of a KeyValue (the last key field wins, as when decoding).
std::string_view kv_key_of(bytes_view payload) {
    std::string_view key;
    wire_reader r(payload);
    wire_field f;
    while (r.next(f)) {
        if (f.number == kv_key && f.type == wire_type::len) key = f.bytes;
    }
    return key;
}

// Walks the (validated) request in decode order and fills a strip_plan.
struct strip_planner {
    const series_batch& batch;
    std::span<const std::uint8_t> keep;
    std::span<const std::uint64_t> masks;
    strip_plan& plan;
    std::size_t next = 0;
    key_list rkeys, skeys;

    void request(bytes_view body) {
        wire_reader r(body);
        wire_field f;
        while (r.next(f)) {
            if (f.number == req_resource_metrics && f.type == wire_type::len) {
                resource_metrics(f.bytes);
            }
        }
    }

    void resource_metrics(bytes_view payload) {
        rkeys.clear();
        wire_reader r(payload);
        wire_field f;
        while (r.next(f)) {
            if (f.number != rm_resource || f.type != wire_type::len) continue;
            wire_reader rr(f.bytes);
            wire_field g;
            while (rr.next(g)) {
                if (g.number == resource_attributes && g.type == wire_type::len) {
                    rkeys.push_back(kv_key_of(g.bytes));
                }
            }
        }
        const std::size_t ri = plan.resources.size();
        plan.resources.emplace_back();
        plan.resources[ri].first = next;
        plan.resources[ri].scope_first = plan.scopes.size();
        wire_reader r2(payload);
        while (r2.next(f)) {
            if (f.number == rm_scope_metrics && f.type == wire_type::len)
                scope_metrics(f.bytes, ri);
        }
        plan.resources[ri].count = next - plan.resources[ri].first;
        plan.resources[ri].scope_count = plan.scopes.size() - plan.resources[ri].scope_first;
    }

    void scope_metrics(bytes_view payload, std::size_t ri) {
        skeys.clear();
        std::string_view name, version;
        wire_reader r(payload);
        wire_field f;
        while (r.next(f)) {
            if (f.number != sm_scope || f.type != wire_type::len) continue;
            wire_reader sr(f.bytes);
            wire_field g;
            while (sr.next(g)) {
                if (g.type != wire_type::len) continue;
                if (g.number == scope_name) name = g.bytes;
                if (g.number == scope_version) version = g.bytes;
                if (g.number == scope_attributes) skeys.push_back(kv_key_of(g.bytes));
            }
        }
        if (!name.empty()) skeys.push_back(k_otel_scope_name_label);
        if (!version.empty()) skeys.push_back(k_otel_scope_version_label);
        const std::size_t si = plan.scopes.size();
        plan.scopes.emplace_back();
        plan.scopes[si].first = next;
        wire_reader r2(payload);
        while (r2.next(f)) {
            if (f.number != sm_metrics || f.type != wire_type::len) continue;
            wire_reader mr(f.bytes);
            wire_field g;
            while (mr.next(g)) {
                if (kind_of(g.number) == metric_kind::unknown || g.type != wire_type::len) {
                    continue;
                }
                wire_reader dr(g.bytes);
                wire_field p;
                while (dr.next(p)) {
                    if (p.number == data_points) point(ri, si);
                }
            }
        }
        plan.scopes[si].count = next - plan.scopes[si].first;
    }

    void point(std::size_t ri, std::size_t si) {
        const std::size_t n = next++;
        if (n >= batch.size() || keep[n] == 0 || masks[n] == 0) return;
        plan.place(n, batch[n].labels, masks[n], ri, rkeys, si, skeys);
    }
};

// Writes the request again, once per resource group and, inside, once per scope group; kept
// points with a mask are rewritten without the removed attributes. With no stripping at a level
// the output is byte for byte what subset_encoder writes.
struct strip_encoder {
    const series_batch& batch;
    std::span<const std::uint8_t> keep;
    std::span<const std::uint64_t> masks;
    const strip_plan& plan;
    wire_writer w;
    std::size_t next = 0;  // point index
    std::size_t ri = 0;    // resource index in plan
    std::size_t si = 0;    // scope index in plan
    std::uint32_t cur_res = 0, cur_scope = 0;

    bool selected(std::size_t n) const {
        return n < keep.size() && keep[n] != 0 && plan.res_group[n] == cur_res &&
               plan.scope_group[n] == cur_scope;
    }

    // Copies a message, leaving out the fields `drop` returns true for.
    template <typename Drop>
    void filtered(const wire_field& f, Drop&& drop) {
        const std::size_t t = w.begin_message(f.number);
        wire_reader r(f.bytes);
        wire_field g;
        while (r.next(g)) {
            if (!drop(g)) w.raw(g.raw);
        }
        w.end_message(t);
    }

    void request(bytes_view body) {
        wire_reader r(body);
        wire_field f;
        while (r.next(f)) {
            if (f.number == req_resource_metrics && f.type == wire_type::len) {
                resource_metrics(f.bytes);
            } else {
                w.raw(f.raw);
            }
        }
    }

    void resource_metrics(bytes_view payload) {
        if (ri >= plan.resources.size()) return;
        const std::size_t here = ri++;
        const strip_plan::level& lv = plan.resources[here];
        std::vector<std::uint32_t> groups;
        plan.resource_groups(here, keep, groups);
        for (std::uint32_t g : groups) {
            cur_res = g;
            si = lv.scope_first;
            const key_list& removed = lv.groups[g];
            const std::size_t t = w.begin_message(req_resource_metrics);
            wire_reader r(payload);
            wire_field f;
            while (r.next(f)) {
                if (f.number == rm_resource && !removed.empty()) {
                    filtered(f, [&](const wire_field& a) {
                        return a.number == resource_attributes && a.type == wire_type::len &&
                               contains(removed, kv_key_of(a.bytes));
                    });
                } else if (f.number == rm_scope_metrics && f.type == wire_type::len) {
                    scope_metrics(f.bytes);
                } else {
                    w.raw(f.raw);
                }
            }
            w.end_message(t);
        }
        si = lv.scope_first + lv.scope_count;
    }

    void scope_metrics(bytes_view payload) {
        if (si >= plan.scopes.size()) return;
        const std::size_t here = si++;
        const strip_plan::level& lv = plan.scopes[here];
        std::vector<std::uint32_t> groups;
        plan.scope_groups(here, keep, cur_res, groups);
        for (std::uint32_t g : groups) {
            cur_scope = g;
            next = lv.first;
            const key_list& removed = lv.groups[g];
            const std::size_t t = w.begin_message(rm_scope_metrics);
            wire_reader r(payload);
            wire_field f;
            while (r.next(f)) {
                if (f.number == sm_scope && !removed.empty()) {
                    filtered(f, [&](const wire_field& a) {
                        if (a.number == scope_name) {
                            return contains(removed, k_otel_scope_name_label);
                        }
                        if (a.number == scope_version) {
                            return contains(removed, k_otel_scope_version_label);
                        }
                        return a.number == scope_attributes && a.type == wire_type::len &&
                               contains(removed, kv_key_of(a.bytes));
                    });
                } else if (f.number == sm_metrics) {
                    const std::size_t mt = w.begin_message(sm_metrics);
                    if (metric(f.bytes) == 0) {
                        w.cancel_message(mt, sm_metrics);
                    } else {
                        w.end_message(mt);
                    }
                } else {
                    w.raw(f.raw);
                }
            }
            w.end_message(t);
        }
    }

    std::size_t metric(bytes_view payload) {
        std::size_t kept = 0;
        wire_reader r(payload);
        wire_field f;
        while (r.next(f)) {
            const metric_kind k = kind_of(f.number);
            if (k == metric_kind::unknown) {
                w.raw(f.raw);
                continue;
            }
            const std::uint32_t attrs = attributes_field(k);
            const std::size_t t = w.begin_message(f.number);
            wire_reader dr(f.bytes);
            wire_field g;
            while (dr.next(g)) {
                if (g.number != data_points) {
                    w.raw(g.raw);
                    continue;
                }
                const std::size_t n = next++;
                if (!selected(n)) continue;
                ++kept;
                if (masks[n] == 0) {
                    w.raw(g.raw);
                    continue;
                }
                const std::span<const label_view> labels = batch[n].labels;
                filtered(g, [&](const wire_field& a) {
                    return a.number == attrs && a.type == wire_type::len &&
                           strip_mask_removes(labels, masks[n], kv_key_of(a.bytes));
                });
            }
            w.end_message(t);
        }
        return kept;
    }
};

}  // namespace

decode_status encode_otlp_protobuf_stripped(const series_batch& batch,
                                            std::span<const std::uint8_t> keep,
                                            std::span<const std::uint64_t> strip_masks,
                                            std::string& out) {
    strip_plan plan;
    plan.reset(batch.size());
    strip_planner planner{batch, keep, strip_masks, plan, 0, {}, {}};
    planner.request(batch.body());
    if (planner.next != batch.size()) {
        return decode_status::malformed("OTLP: batch source changed since decoding");
    }
    strip_encoder enc{batch, keep, strip_masks, plan, wire_writer(out), 0, 0, 0, 0, 0};
    enc.request(batch.body());
    return decode_status::success();
}

}  // namespace mg::protocol::otlp_detail
