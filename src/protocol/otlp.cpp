#include "protocol/otlp.h"

#include <algorithm>

#include "common/strings.h"
#include "protocol/otlp_internal.h"
#include "protocol/otlp_schema.h"

namespace mg::protocol {

using namespace otlp_schema;  // field numbers, kind_of

namespace {

using otlp_detail::merge_labels;
using otlp_detail::push_point;

decode_status fail(const std::string& what) {
    return decode_status::malformed("OTLP: " + what);
}

decode_status fail_wire(const wire_reader& r, const char* where) {
    return fail(std::string(where) + ": " + r.error() + " at offset " +
                std::to_string(r.error_offset()));
}

decode_status fail_type(const wire_field& f, const char* where, wire_type want) {
    return fail(std::string(where) + " (field " + std::to_string(f.number) + ") has wire type " +
                wire_type_name(f.type) + ", want " + wire_type_name(want));
}

// Renders an AnyValue payload. Nested values use the JSON-like form (strings quoted, empty as
// null); the top level writes strings and bytes' base64 bare.
decode_status render_any(bytes_view payload, bool nested, int depth, std::string& out) {
    if (depth > k_otlp_max_any_depth) {
        return fail("attribute value nested deeper than " + std::to_string(k_otlp_max_any_depth));
    }
    wire_reader r(payload);
    wire_field f, last;
    bool have = false;
    while (r.next(f)) {
        if (f.number >= any_string && f.number <= any_bytes) {
            last = f;
            have = true;
        }
    }
    if (r.error() != nullptr) return fail_wire(r, "AnyValue");
    if (!have) {
        if (nested) out += "null";
        return decode_status::success();
    }
    const bool want_len = last.number == any_string || last.number == any_array ||
                          last.number == any_kvlist || last.number == any_bytes;
    if (want_len && last.type != wire_type::len) {
        return fail_type(last, "AnyValue", wire_type::len);
    }
    switch (last.number) {
        case any_string:
            if (!valid_utf8(last.bytes)) return fail("invalid UTF-8 in attribute value");
            if (nested) {
                otlp_detail::json_quote(last.bytes, out);
            } else {
                out.append(last.bytes);
            }
            break;
        case any_bool:
            if (last.type != wire_type::varint) {
                return fail_type(last, "AnyValue.bool_value", wire_type::varint);
            }
            out += last.value != 0 ? "true" : "false";
            break;
        case any_int:
            if (last.type != wire_type::varint) {
                return fail_type(last, "AnyValue.int_value", wire_type::varint);
            }
            otlp_detail::render_int(last.as_int64(), out);
            break;
        case any_double:
            if (last.type != wire_type::i64) {
                return fail_type(last, "AnyValue.double_value", wire_type::i64);
            }
            otlp_detail::render_double(last.as_double(), out);
            break;
        case any_bytes:
            if (nested) out += '"';
            mg::base64_append(last.bytes, out);
            if (nested) out += '"';
            break;
        case any_array: {
            out += '[';
            wire_reader ar(last.bytes);
            wire_field e;
            bool first = true;
            while (ar.next(e)) {
                if (e.number != list_values) continue;
                if (e.type != wire_type::len) return fail_type(e, "ArrayValue", wire_type::len);
                if (!first) out += ',';
                first = false;
                if (auto s = render_any(e.bytes, true, depth + 1, out); !s) return s;
            }
            if (ar.error() != nullptr) return fail_wire(ar, "ArrayValue");
            out += ']';
            break;
        }
        case any_kvlist: {
            std::vector<std::pair<std::string_view, std::string>> items;
            wire_reader kr(last.bytes);
            wire_field e;
            while (kr.next(e)) {
                if (e.number != list_values) continue;
                if (e.type != wire_type::len) return fail_type(e, "KeyValueList", wire_type::len);
                std::string_view key;
                bytes_view value;
                bool has_value = false;
                wire_reader vr(e.bytes);
                wire_field g;
                while (vr.next(g)) {
                    if (g.number == kv_key || g.number == kv_value) {
                        if (g.type != wire_type::len) {
                            return fail_type(g, "KeyValue", wire_type::len);
                        }
                        if (g.number == kv_key) {
                            key = g.bytes;
                        } else {
                            value = g.bytes;
                            has_value = true;
                        }
                    }
                }
                if (vr.error() != nullptr) return fail_wire(vr, "KeyValue");
                if (!valid_utf8(key)) return fail("invalid UTF-8 in attribute key");
                std::string rendered;
                if (has_value) {
                    if (auto s = render_any(value, true, depth + 1, rendered); !s) return s;
                } else {
                    rendered = "null";
                }
                items.emplace_back(key, std::move(rendered));
            }
            if (kr.error() != nullptr) return fail_wire(kr, "KeyValueList");
            otlp_detail::render_kvlist(items, out);
            break;
        }
        default:
            break;
    }
    return decode_status::success();
}

struct decoder {
    series_batch& out;
    std::string scratch;
    std::vector<label_view> resource, scope_synth, scope_attrs, scope_level, scope_merged, point,
        merged;

    // KeyValue -> label; string values stay views into the body, others go to the arena.
    decode_status read_attribute(bytes_view payload, std::vector<label_view>& into) {
        label_view l;
        bytes_view value;
        bool has_value = false;
        wire_reader r(payload);
        wire_field f;
        while (r.next(f)) {
            if (f.number == kv_key || f.number == kv_value) {
                if (f.type != wire_type::len) return fail_type(f, "KeyValue", wire_type::len);
                if (f.number == kv_key) {
                    l.name = f.bytes;
                } else {
                    value = f.bytes;
                    has_value = true;
                }
            }
        }
        if (r.error() != nullptr) return fail_wire(r, "KeyValue");
        if (l.name.empty()) return fail("empty attribute key");
        if (!valid_utf8(l.name)) return fail("invalid UTF-8 in attribute key");
        if (has_value) {
            // Fast path: a plain string value is used in place.
            wire_reader vr(value);
            wire_field g;
            if (vr.next(g) && vr.at_end() && g.number == any_string && g.type == wire_type::len) {
                if (!valid_utf8(g.bytes)) {
                    return fail("invalid UTF-8 in the value of attribute \"" + std::string(l.name) +
                                "\"");
                }
                l.value = g.bytes;
            } else {
                scratch.clear();
                if (auto s = render_any(value, false, 0, scratch); !s) return s;
                l.value = out.arena().store(scratch);
            }
        }
        into.push_back(l);
        return decode_status::success();
    }

    static decode_status finish_attributes(std::vector<label_view>& ls, const char* where) {
        std::string_view dup;
        if (!normalize_labels(ls, false, dup)) {
            return fail(std::string("duplicate ") + where + " attribute key \"" + std::string(dup) +
                        "\"");
        }
        return decode_status::success();
    }

    decode_status resource_metrics(bytes_view payload) {
        resource.clear();
        wire_reader r(payload);
        wire_field f;
        while (r.next(f)) {
            if (f.number != rm_resource) continue;
            if (f.type != wire_type::len)
                return fail_type(f, "ResourceMetrics.resource", wire_type::len);
            wire_reader rr(f.bytes);
            wire_field g;
            while (rr.next(g)) {
                if (g.number != resource_attributes) continue;
                if (g.type != wire_type::len) {
                    return fail_type(g, "Resource.attributes", wire_type::len);
                }
                if (auto s = read_attribute(g.bytes, resource); !s) return s;
            }
            if (rr.error() != nullptr) return fail_wire(rr, "Resource");
        }
        if (r.error() != nullptr) return fail_wire(r, "ResourceMetrics");
        if (auto s = finish_attributes(resource, "resource"); !s) return s;
        wire_reader r2(payload);
        while (r2.next(f)) {
            if (f.number != rm_scope_metrics) continue;
            if (f.type != wire_type::len) {
                return fail_type(f, "ResourceMetrics.scope_metrics", wire_type::len);
            }
            if (auto s = scope_metrics(f.bytes); !s) return s;
        }
        return decode_status::success();
    }

    decode_status scope_metrics(bytes_view payload) {
        scope_synth.clear();
        scope_attrs.clear();
        // A repeated submessage field merges: attributes accumulate, the last name wins.
        std::string_view name, version;
        wire_reader r(payload);
        wire_field f;
        while (r.next(f)) {
            if (f.number != sm_scope) continue;
            if (f.type != wire_type::len) return fail_type(f, "ScopeMetrics.scope", wire_type::len);
            wire_reader sr(f.bytes);
            wire_field g;
            while (sr.next(g)) {
                if (g.number != scope_name && g.number != scope_version &&
                    g.number != scope_attributes) {
                    continue;
                }
                if (g.type != wire_type::len) {
                    return fail_type(g, "InstrumentationScope", wire_type::len);
                }
                if (g.number == scope_name) name = g.bytes;
                if (g.number == scope_version) version = g.bytes;
                if (g.number == scope_attributes) {
                    if (auto s = read_attribute(g.bytes, scope_attrs); !s) return s;
                }
            }
            if (sr.error() != nullptr) return fail_wire(sr, "InstrumentationScope");
        }
        if (r.error() != nullptr) return fail_wire(r, "ScopeMetrics");
        if (!valid_utf8(name) || !valid_utf8(version)) {
            return fail("invalid UTF-8 in scope name or version");
        }
        if (!name.empty()) scope_synth.push_back({k_otel_scope_name_label, name});
        if (!version.empty()) scope_synth.push_back({k_otel_scope_version_label, version});
        if (auto s = finish_attributes(scope_attrs, "scope"); !s) return s;
        merge_labels(scope_synth, scope_attrs, scope_level);
        merge_labels(resource, scope_level, scope_merged);
        wire_reader r2(payload);
        while (r2.next(f)) {
            if (f.number != sm_metrics) continue;
            if (f.type != wire_type::len)
                return fail_type(f, "ScopeMetrics.metrics", wire_type::len);
            if (auto s = metric(f.bytes); !s) return s;
        }
        return decode_status::success();
    }

    decode_status metric(bytes_view payload) {
        std::string_view name;
        wire_reader r(payload);
        wire_field f;
        while (r.next(f)) {
            if (f.number == metric_name) {
                if (f.type != wire_type::len) return fail_type(f, "Metric.name", wire_type::len);
                name = f.bytes;
            }
        }
        if (r.error() != nullptr) return fail_wire(r, "Metric");
        if (!valid_utf8(name)) return fail("invalid UTF-8 in metric name");
        wire_reader r2(payload);
        while (r2.next(f)) {
            const metric_kind k = kind_of(f.number);
            if (k == metric_kind::unknown) continue;
            if (f.type != wire_type::len) return fail_type(f, "Metric data", wire_type::len);
            wire_reader dr(f.bytes);
            wire_field g;
            while (dr.next(g)) {
                if (g.number != data_points) continue;
                if (g.type != wire_type::len) {
                    return fail_type(g, "data_points", wire_type::len);
                }
                if (auto s = data_point(g, k, name); !s) return s;
            }
            if (dr.error() != nullptr) return fail_wire(dr, "metric data");
        }
        return decode_status::success();
    }

    decode_status data_point(const wire_field& pf, metric_kind k, std::string_view name) {
        const std::uint32_t attrs = attributes_field(k);
        const std::uint32_t exs = exemplars_field(k);
        point.clear();
        series_entry e;
        e.metric_name = name;
        e.kind = k;
        e.raw = pf.raw;
        wire_reader r(pf.bytes);
        wire_field f;
        while (r.next(f)) {
            if (f.number == attrs) {
                if (f.type != wire_type::len) return fail_type(f, "attributes", wire_type::len);
                if (auto s = read_attribute(f.bytes, point); !s) return s;
            } else if (exs != 0 && f.number == exs) {
                if (f.type != wire_type::len) return fail_type(f, "exemplars", wire_type::len);
                ++e.exemplars;
            }
        }
        if (r.error() != nullptr) return fail_wire(r, "data point");
        if (auto s = finish_attributes(point, "data point"); !s) return s;
        push_point(out, e, k, scope_merged, point, merged);
        return decode_status::success();
    }
};

}  // namespace

decode_status decode_otlp_protobuf(bytes_view body, series_batch& out) {
    out.reset(source_protocol::otlp_protobuf, body);
    decoder d{out, {}, {}, {}, {}, {}, {}, {}, {}};
    wire_reader r(body);
    wire_field f;
    while (r.next(f)) {
        if (f.number != req_resource_metrics) continue;
        if (f.type != wire_type::len) {
            return fail_type(f, "ExportMetricsServiceRequest.resource_metrics", wire_type::len);
        }
        if (auto s = d.resource_metrics(f.bytes); !s) return s;
    }
    if (r.error() != nullptr) return fail_wire(r, "ExportMetricsServiceRequest");
    return decode_status::success();
}

// ---- Subset encoding ----

namespace {

// Walks the validated request in decode order and copies kept points; counts with `next`.
struct subset_encoder {
    std::span<const std::uint8_t> keep;
    std::size_t next = 0;
    wire_writer w;

    // Returns the number of points kept below this level.
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
            const std::size_t t = w.begin_message(f.number);
            std::size_t here = 0;
            wire_reader dr(f.bytes);
            wire_field g;
            while (dr.next(g)) {
                if (g.number != data_points) {
                    w.raw(g.raw);
                    continue;
                }
                if (next < keep.size() && keep[next] != 0) {
                    w.raw(g.raw);
                    ++here;
                }
                ++next;
            }
            w.end_message(t);
            kept += here;
        }
        return kept;
    }

    std::size_t level(bytes_view payload, std::uint32_t child_field, int depth) {
        std::size_t kept = 0;
        wire_reader r(payload);
        wire_field f;
        while (r.next(f)) {
            if (f.number != child_field) {
                w.raw(f.raw);
                continue;
            }
            const std::size_t t = w.begin_message(child_field);
            const std::size_t here = depth == 0 ? level(f.bytes, sm_metrics, 1) : metric(f.bytes);
            if (here == 0) {
                w.cancel_message(t, child_field);
            } else {
                w.end_message(t);
            }
            kept += here;
        }
        return kept;
    }
};

}  // namespace

decode_status encode_otlp_protobuf_subset(const series_batch& batch,
                                          std::span<const std::uint8_t> keep, std::string& out) {
    if (batch.protocol() != source_protocol::otlp_protobuf) {
        return decode_status::malformed("OTLP: subset source is not an OTLP protobuf batch");
    }
    if (keep.size() != batch.size()) {
        return decode_status::malformed("OTLP: keep mask size does not match the batch");
    }
    subset_encoder enc{keep, 0, wire_writer(out)};
    wire_reader r(batch.body());
    wire_field f;
    while (r.next(f)) {
        if (f.number != req_resource_metrics) {
            enc.w.raw(f.raw);
            continue;
        }
        const std::size_t t = enc.w.begin_message(req_resource_metrics);
        if (enc.level(f.bytes, rm_scope_metrics, 0) == 0) {
            enc.w.cancel_message(t, req_resource_metrics);
        } else {
            enc.w.end_message(t);
        }
    }
    if (enc.next != batch.size()) {
        return decode_status::malformed("OTLP: batch source changed since decoding");
    }
    return decode_status::success();
}

// ---- Subset encoding with stripped labels ----

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

using key_list = std::vector<std::string_view>;

bool contains(const key_list& keys, std::string_view k) {
    return std::find(keys.begin(), keys.end(), k) != keys.end();
}

// Where each point goes. A point's group at the resource (scope) level is the list of keys its
// mask removes there; points with the same list share one copy of the resource (scope). Group 0
// is "nothing removed at this level", i.e. the resource (scope) as sent.
struct strip_plan {
    struct level {
        std::size_t first = 0;  // points [first, first + count) are under this resource/scope
        std::size_t count = 0;
        std::size_t scope_first = 0;  // resources only: their scopes in walk order
        std::size_t scope_count = 0;
        std::vector<key_list> groups{key_list{}};
    };
    std::vector<std::uint32_t> res_group, scope_group;  // per point
    std::vector<level> resources, scopes;               // in walk order
};

std::uint32_t group_of(std::vector<key_list>& groups, const key_list& removed) {
    for (std::size_t g = 0; g < groups.size(); ++g) {
        if (groups[g] == removed) return static_cast<std::uint32_t>(g);
    }
    groups.push_back(removed);
    return static_cast<std::uint32_t>(groups.size() - 1);
}

// Walks the (validated) request in decode order and fills a strip_plan.
struct strip_planner {
    const series_batch& batch;
    std::span<const std::uint8_t> keep;
    std::span<const std::uint64_t> masks;
    strip_plan& plan;
    std::size_t next = 0;
    key_list rkeys, skeys, removed;

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
        const std::span<const label_view> labels = batch[n].labels;
        removed.clear();
        for (std::string_view k : rkeys) {
            if (strip_mask_removes(labels, masks[n], k)) removed.push_back(k);
        }
        if (!removed.empty()) plan.res_group[n] = group_of(plan.resources[ri].groups, removed);
        removed.clear();
        for (std::string_view k : skeys) {
            if (strip_mask_removes(labels, masks[n], k)) removed.push_back(k);
        }
        if (!removed.empty()) plan.scope_group[n] = group_of(plan.scopes[si].groups, removed);
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
        const strip_plan::level& lv = plan.resources[ri++];
        std::vector<std::uint32_t> groups;
        for (std::size_t n = lv.first; n < lv.first + lv.count && n < keep.size(); ++n) {
            if (keep[n] != 0 && !contains_group(groups, plan.res_group[n])) {
                groups.push_back(plan.res_group[n]);
            }
        }
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
        const strip_plan::level& lv = plan.scopes[si++];
        std::vector<std::uint32_t> groups;
        for (std::size_t n = lv.first; n < lv.first + lv.count && n < keep.size(); ++n) {
            if (keep[n] != 0 && plan.res_group[n] == cur_res &&
                !contains_group(groups, plan.scope_group[n])) {
                groups.push_back(plan.scope_group[n]);
            }
        }
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

    static bool contains_group(const std::vector<std::uint32_t>& groups, std::uint32_t g) {
        return std::find(groups.begin(), groups.end(), g) != groups.end();
    }
};

}  // namespace

decode_status encode_otlp_protobuf_subset(const series_batch& batch,
                                          std::span<const std::uint8_t> keep,
                                          std::span<const std::uint64_t> strip_masks,
                                          std::string& out) {
    if (batch.protocol() != source_protocol::otlp_protobuf) {
        return decode_status::malformed("OTLP: subset source is not an OTLP protobuf batch");
    }
    if (keep.size() != batch.size()) {
        return decode_status::malformed("OTLP: keep mask size does not match the batch");
    }
    bool any = false;
    if (auto s = check_strip_masks(batch, keep, strip_masks, any); !s) return s;
    if (!any) return encode_otlp_protobuf_subset(batch, keep, out);
    strip_plan plan;
    plan.res_group.assign(batch.size(), 0);
    plan.scope_group.assign(batch.size(), 0);
    strip_planner planner{batch, keep, strip_masks, plan, 0, {}, {}, {}};
    planner.request(batch.body());
    if (planner.next != batch.size()) {
        return decode_status::malformed("OTLP: batch source changed since decoding");
    }
    strip_encoder enc{batch, keep, strip_masks, plan, wire_writer(out), 0, 0, 0, 0, 0};
    enc.request(batch.body());
    return decode_status::success();
}

// ---- Responses ----

void encode_otlp_response_protobuf(std::int64_t rejected, std::string_view error_message,
                                   std::string& out) {
    out.clear();
    if (rejected == 0 && error_message.empty()) return;
    wire_writer w(out);
    const std::size_t t = w.begin_message(resp_partial_success);
    if (rejected != 0) w.int64_field(ps_rejected, rejected);
    if (!error_message.empty()) w.bytes_field(ps_message, error_message);
    w.end_message(t);
}

decode_status decode_otlp_response_protobuf(bytes_view body, otlp_partial_success& out) {
    out = {};
    wire_reader r(body);
    wire_field f;
    while (r.next(f)) {
        if (f.number != resp_partial_success) continue;
        if (f.type != wire_type::len) return fail_type(f, "partial_success", wire_type::len);
        wire_reader pr(f.bytes);
        wire_field g;
        while (pr.next(g)) {
            if (g.number == ps_rejected && g.type == wire_type::varint) {
                out.rejected_data_points = g.as_int64();
            } else if (g.number == ps_message && g.type == wire_type::len) {
                out.error_message.assign(g.bytes);
            }
        }
        if (pr.error() != nullptr) return fail_wire(pr, "ExportMetricsPartialSuccess");
    }
    if (r.error() != nullptr) return fail_wire(r, "ExportMetricsServiceResponse");
    return decode_status::success();
}

}  // namespace mg::protocol
