// otlp_json.h: the OTLP/JSON decoder (a guard scan, nlohmann's parser, then the same series as
// the protobuf decoder), and the document that owns the parsed request.
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "common/strings.h"
#include "protocol/otlp_internal.h"
#include "protocol/otlp_json.h"
#include "protocol/otlp_json_internal.h"
#include "protocol/otlp_schema.h"

namespace mg::protocol {

using json = nlohmann::json;
using otlp_json_detail::array_member;
using otlp_json_detail::fail;
using otlp_json_detail::member;
using otlp_schema::json_double;
using otlp_schema::json_int64;
using otlp_schema::k_kinds;
using otlp_schema::kind_key;

otlp_json_document::otlp_json_document() : impl_(std::make_unique<impl>()) {}
otlp_json_document::~otlp_json_document() = default;
otlp_json_document::otlp_json_document(otlp_json_document&&) noexcept = default;
otlp_json_document& otlp_json_document::operator=(otlp_json_document&&) noexcept = default;

namespace {

using otlp_detail::merge_labels;
using otlp_detail::push_point;

// Nesting and size guard, run before the recursive parser sees the body.
decode_status scan(bytes_view body, const otlp_json_limits& limits) {
    if (body.size() > limits.max_bytes) {
        return decode_status::too_large("OTLP/JSON: body of " + std::to_string(body.size()) +
                                        " bytes exceeds the limit of " +
                                        std::to_string(limits.max_bytes));
    }
    std::size_t depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (char c : body) {
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > limits.max_depth) {
                return fail("nested deeper than " + std::to_string(limits.max_depth) + " levels");
            }
        } else if ((c == '}' || c == ']') && depth > 0) {
            --depth;
        }
    }
    return decode_status::success();
}

decode_status render_any(const json& v, bool nested, int depth, std::string& out);

decode_status render_key_values(const json& values, int depth, std::string& out) {
    std::vector<std::pair<std::string_view, std::string>> items;
    for (const json& kv : values) {
        const json* key = member(kv, "key");
        if (key == nullptr || !key->is_string()) return fail("KeyValue without a string key");
        std::string rendered;
        const json* value = member(kv, "value");
        if (value == nullptr || value->is_null()) {
            rendered = "null";
        } else if (auto s = render_any(*value, true, depth + 1, rendered); !s) {
            return s;
        }
        items.emplace_back(key->get_ref<const std::string&>(), std::move(rendered));
    }
    otlp_detail::render_kvlist(items, out);
    return decode_status::success();
}

// Same output as the protobuf renderer in otlp.cpp for the same value.
decode_status render_any(const json& v, bool nested, int depth, std::string& out) {
    if (depth > k_otlp_max_any_depth) {
        return fail("attribute value nested deeper than " + std::to_string(k_otlp_max_any_depth));
    }
    if (v.is_null() || (v.is_object() && v.empty())) {
        if (nested) out += "null";
        return decode_status::success();
    }
    if (!v.is_object()) return fail("AnyValue must be an object");
    if (const json* sv = member(v, "stringValue", "string_value")) {
        if (!sv->is_string()) return fail("stringValue must be a string");
        const std::string& str = sv->get_ref<const std::string&>();
        if (!valid_utf8(str)) return fail("invalid UTF-8 in attribute value");
        if (nested) {
            otlp_detail::json_quote(str, out);
        } else {
            out += str;
        }
    } else if (const json* b = member(v, "boolValue", "bool_value")) {
        if (!b->is_boolean()) return fail("boolValue must be a boolean");
        out += b->get<bool>() ? "true" : "false";
    } else if (const json* i = member(v, "intValue", "int_value")) {
        std::int64_t n = 0;
        if (!json_int64(*i, n)) return fail("intValue must be a 64-bit integer");
        otlp_detail::render_int(n, out);
    } else if (const json* d = member(v, "doubleValue", "double_value")) {
        double x = 0;
        if (!json_double(*d, x)) return fail("doubleValue must be a number");
        otlp_detail::render_double(x, out);
    } else if (const json* by = member(v, "bytesValue", "bytes_value")) {
        std::string raw;
        if (!by->is_string() || !mg::base64_decode(by->get_ref<const std::string&>(), raw)) {
            return fail("bytesValue must be a base64 string");
        }
        if (nested) out += '"';
        mg::base64_append(raw, out);
        if (nested) out += '"';
    } else if (const json* a = member(v, "arrayValue", "array_value")) {
        bool bad = !a->is_object();
        const json* values = bad ? nullptr : array_member(*a, "values", nullptr, bad);
        if (bad) return fail("arrayValue must be an object with a values array");
        out += '[';
        bool first = true;
        if (values != nullptr) {
            for (const json& e : *values) {
                if (!first) out += ',';
                first = false;
                if (auto s = render_any(e, true, depth + 1, out); !s) return s;
            }
        }
        out += ']';
    } else if (const json* kvl = member(v, "kvlistValue", "kvlist_value")) {
        bool bad = !kvl->is_object();
        const json* values = bad ? nullptr : array_member(*kvl, "values", nullptr, bad);
        if (bad) return fail("kvlistValue must be an object with a values array");
        if (values == nullptr) {
            out += "{}";
        } else if (auto s = render_key_values(*values, depth, out); !s) {
            return s;
        }
    } else if (nested) {
        out += "null";
    }
    return decode_status::success();
}

struct decoder {
    series_batch& out;
    std::string scratch;
    std::vector<label_view> resource, scope_synth, scope_attrs, scope_level, scope_merged, point,
        merged;

    decode_status attributes(const json& owner, std::vector<label_view>& into, const char* where) {
        bool bad = false;
        const json* attrs = array_member(owner, "attributes", nullptr, bad);
        if (bad) return fail(std::string(where) + " attributes must be an array");
        if (attrs != nullptr) {
            for (const json& kv : *attrs) {
                const json* key = member(kv, "key");
                if (key == nullptr || !key->is_string()) {
                    return fail("attribute without a string key");
                }
                label_view l;
                l.name = key->get_ref<const std::string&>();
                if (l.name.empty()) return fail("empty attribute key");
                if (!valid_utf8(l.name)) return fail("invalid UTF-8 in attribute key");
                const json* value = member(kv, "value");
                const json* str =
                    value != nullptr ? member(*value, "stringValue", "string_value") : nullptr;
                if (str != nullptr && str->is_string() && value->size() == 1) {
                    l.value = str->get_ref<const std::string&>();
                    if (!valid_utf8(l.value)) return fail("invalid UTF-8 in attribute value");
                } else if (value != nullptr) {
                    scratch.clear();
                    if (auto s = render_any(*value, false, 0, scratch); !s) return s;
                    l.value = out.arena().store(scratch);
                }
                into.push_back(l);
            }
        }
        std::string_view dup;
        if (!normalize_labels(into, false, dup)) {
            return fail(std::string("duplicate ") + where + " attribute key \"" + std::string(dup) +
                        "\"");
        }
        return decode_status::success();
    }

    decode_status request(const json& root) {
        if (!root.is_object()) return fail("the request must be a JSON object");
        bool bad = false;
        const json* rms = array_member(root, "resourceMetrics", "resource_metrics", bad);
        if (bad) return fail("resourceMetrics must be an array");
        if (rms == nullptr) return decode_status::success();
        for (const json& rm : *rms) {
            if (!rm.is_object()) return fail("a resourceMetrics entry must be an object");
            resource.clear();
            if (const json* res = member(rm, "resource"); res != nullptr && !res->is_null()) {
                if (!res->is_object()) return fail("resource must be an object");
                if (auto s = attributes(*res, resource, "resource"); !s) return s;
            }
            const json* sms = array_member(rm, "scopeMetrics", "scope_metrics", bad);
            if (bad) return fail("scopeMetrics must be an array");
            if (sms == nullptr) continue;
            for (const json& sm : *sms) {
                if (auto s = scope_metrics(sm); !s) return s;
            }
        }
        return decode_status::success();
    }

    decode_status scope_metrics(const json& sm) {
        if (!sm.is_object()) return fail("a scopeMetrics entry must be an object");
        scope_synth.clear();
        scope_attrs.clear();
        if (const json* sc = member(sm, "scope"); sc != nullptr && !sc->is_null()) {
            if (!sc->is_object()) return fail("scope must be an object");
            const json* name = member(*sc, "name");
            const json* version = member(*sc, "version");
            if ((name != nullptr && !name->is_string()) ||
                (version != nullptr && !version->is_string())) {
                return fail("scope name and version must be strings");
            }
            if (name != nullptr && !name->get_ref<const std::string&>().empty()) {
                scope_synth.push_back(
                    {k_otel_scope_name_label, name->get_ref<const std::string&>()});
            }
            if (version != nullptr && !version->get_ref<const std::string&>().empty()) {
                scope_synth.push_back(
                    {k_otel_scope_version_label, version->get_ref<const std::string&>()});
            }
            if (auto s = attributes(*sc, scope_attrs, "scope"); !s) return s;
        }
        merge_labels(scope_synth, scope_attrs, scope_level);
        merge_labels(resource, scope_level, scope_merged);
        bool bad = false;
        const json* metrics = array_member(sm, "metrics", nullptr, bad);
        if (bad) return fail("metrics must be an array");
        if (metrics == nullptr) return decode_status::success();
        for (const json& m : *metrics) {
            if (auto s = metric(m); !s) return s;
        }
        return decode_status::success();
    }

    decode_status metric(const json& m) {
        if (!m.is_object()) return fail("a metric must be an object");
        std::string_view name;
        if (const json* n = member(m, "name"); n != nullptr) {
            if (!n->is_string()) return fail("metric name must be a string");
            name = n->get_ref<const std::string&>();
        }
        for (const kind_key& k : k_kinds) {
            const json* data = member(m, k.camel, k.snake);
            if (data == nullptr || data->is_null()) continue;
            if (!data->is_object()) return fail(std::string(k.camel) + " must be an object");
            bool bad = false;
            const json* points = array_member(*data, "dataPoints", "data_points", bad);
            if (bad) return fail("dataPoints must be an array");
            if (points == nullptr) continue;
            for (const json& p : *points) {
                if (auto s = data_point(p, k.kind, name); !s) return s;
            }
        }
        return decode_status::success();
    }

    decode_status data_point(const json& p, metric_kind k, std::string_view name) {
        if (!p.is_object()) return fail("a data point must be an object");
        point.clear();
        if (auto s = attributes(p, point, "data point"); !s) return s;
        series_entry e;
        e.metric_name = name;
        e.kind = k;
        bool bad = false;
        if (const json* ex = array_member(p, "exemplars", nullptr, bad)) {
            if (k != metric_kind::summary) e.exemplars = static_cast<std::uint32_t>(ex->size());
        }
        if (bad) return fail("exemplars must be an array");
        push_point(out, e, k, scope_merged, point, merged);
        return decode_status::success();
    }
};

}  // namespace

decode_status otlp_json_detail::render_attribute_value(const json& any_value, std::string& out) {
    return render_any(any_value, false, 0, out);
}

decode_status decode_otlp_json(bytes_view body, otlp_json_document& doc, series_batch& out,
                               const otlp_json_limits& limits) {
    out.reset(source_protocol::otlp_json, body);
    if (auto s = scan(body, limits); !s) return s;
    json& root = doc.get().root;
    root = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded()) {
        root = json();
        return fail("invalid JSON");
    }
    out.set_json_document(&doc);
    decoder d{out, {}, {}, {}, {}, {}, {}, {}, {}};
    return d.request(root);
}

}  // namespace mg::protocol
