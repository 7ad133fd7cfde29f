// otlp.h: the protobuf decoder (one series per data point, attribute values rendered to text).
#include <string>
#include <utility>
#include <vector>

#include "common/strings.h"
#include "protocol/otlp.h"
#include "protocol/otlp_internal.h"
#include "protocol/otlp_schema.h"

namespace mg::protocol {

using namespace otlp_schema;  // field numbers, kind_of

namespace {

using otlp_detail::fail;
using otlp_detail::fail_type;
using otlp_detail::fail_wire;
using otlp_detail::merge_labels;
using otlp_detail::push_point;

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
    std::string_view unit;  // the current Metric's (series_entry::unit)

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
        unit = {};
        wire_reader r(payload);
        wire_field f;
        while (r.next(f)) {
            if (f.number == metric_name) {
                if (f.type != wire_type::len) return fail_type(f, "Metric.name", wire_type::len);
                name = f.bytes;
            } else if (f.number == metric_unit && f.type == wire_type::len) {
                // Not checked before: a unit is copied as it is wherever the point goes; only an
                // overflow series (series_entry::unit) takes it on, and only when it is text.
                unit = f.bytes;
            }
        }
        if (r.error() != nullptr) return fail_wire(r, "Metric");
        if (!valid_utf8(name)) return fail("invalid UTF-8 in metric name");
        if (!valid_utf8(unit)) unit = {};
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
        e.unit = unit;
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

decode_status otlp_detail::render_attribute_value(bytes_view any_value, std::string& out) {
    return render_any(any_value, false, 0, out);
}

decode_status decode_otlp_protobuf(bytes_view body, series_batch& out) {
    out.reset(source_protocol::otlp_protobuf, body);
    decoder d{out, {}, {}, {}, {}, {}, {}, {}, {}, {}};
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

}  // namespace mg::protocol
