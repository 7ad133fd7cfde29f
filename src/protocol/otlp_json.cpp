#include "protocol/otlp_json.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/strings.h"
#include "protocol/otlp_internal.h"
#include "protocol/otlp_json_internal.h"
#include "protocol/otlp_schema.h"

namespace mg::protocol {

using json = nlohmann::json;
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

decode_status fail(const std::string& what) {
    return decode_status::malformed("OTLP/JSON: " + what);
}

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

// An array field, absent or null meaning empty. Sets `bad` when present but not an array.
const json* array_member(const json& obj, const char* camel, const char* snake, bool& bad) {
    const json* a = member(obj, camel, snake);
    if (a == nullptr || a->is_null()) return nullptr;
    if (!a->is_array()) {
        bad = true;
        return nullptr;
    }
    return a;
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
        if (!by->is_string() ||
            !mg::base64_decode(by->get_ref<const std::string&>(), raw)) {
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

const json& or_empty(const json* a) {
    static const json k_empty = json::array();
    return a != nullptr ? *a : k_empty;
}

// Copies an object without the named keys.
json without(const json& obj, std::initializer_list<const char*> keys) {
    json out = json::object();
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        bool skip = false;
        for (const char* k : keys) skip = skip || it.key() == k;
        if (!skip) out[it.key()] = it.value();
    }
    return out;
}

}  // namespace

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

namespace {

using key_list = std::vector<std::string_view>;

bool contains(const key_list& keys, std::string_view k) {
    return std::find(keys.begin(), keys.end(), k) != keys.end();
}

std::string_view key_of(const json& kv) {
    const json* key = member(kv, "key");
    return key != nullptr && key->is_string() ? std::string_view(key->get_ref<const std::string&>())
                                              : std::string_view();
}

// Appends the keys of owner.attributes to `keys`.
void attribute_keys(const json& owner, key_list& keys) {
    bool bad = false;
    for (const json& kv : or_empty(array_member(owner, "attributes", nullptr, bad))) {
        keys.push_back(key_of(kv));
    }
}

// owner with its attributes whose key is in `removed` left out.
json without_attributes(const json& owner, const key_list& removed) {
    json out = owner;
    bool bad = false;
    const json* attrs = array_member(owner, "attributes", nullptr, bad);
    if (attrs == nullptr) return out;
    json kept = json::array();
    for (const json& kv : *attrs) {
        if (!contains(removed, key_of(kv))) kept.push_back(kv);
    }
    out["attributes"] = std::move(kept);
    return out;
}

std::uint32_t group_of(std::vector<key_list>& groups, const key_list& removed) {
    for (std::size_t g = 0; g < groups.size(); ++g) {
        if (groups[g] == removed) return static_cast<std::uint32_t>(g);
    }
    groups.push_back(removed);
    return static_cast<std::uint32_t>(groups.size() - 1);
}

void add_group(std::vector<std::uint32_t>& groups, std::uint32_t g) {
    if (std::find(groups.begin(), groups.end(), g) == groups.end()) groups.push_back(g);
}

// Re-serializes the document with the kept points. With strip masks, a label is removed at every
// level carrying its key; resources and scopes are emitted once per group of points that need
// the same removals there (group 0: nothing removed, the object as sent), see otlp.h.
struct json_subset {
    const json& root;
    std::span<const std::uint8_t> keep;
    const series_batch* batch = nullptr;  // with masks only
    std::span<const std::uint64_t> masks;

    // Plan: per point, its resource and scope group; per resource/scope, the removed keys of
    // each group (walk order, as decoded).
    struct level {
        std::size_t first = 0, count = 0;
        std::vector<key_list> groups{key_list{}};
    };
    std::vector<std::uint32_t> res_group, scope_group;
    std::vector<level> resources, scopes;

    bool stripping() const { return batch != nullptr; }

    // Points of one scope in decode order, calling fn(point json, n).
    template <typename F>
    static void for_each_point(const json& sm, std::size_t& next, F&& fn) {
        bool bad = false;
        for (const json& m : or_empty(array_member(sm, "metrics", nullptr, bad))) {
            for (const kind_key& k : k_kinds) {
                const json* data = member(m, k.camel, k.snake);
                if (data == nullptr || data->is_null()) continue;
                for (const json& p :
                     or_empty(array_member(*data, "dataPoints", "data_points", bad))) {
                    fn(p, next++);
                }
            }
        }
    }

    std::size_t plan() {
        std::size_t next = 0;
        bool bad = false;
        key_list rkeys, skeys, removed;
        for (const json& rm :
             or_empty(array_member(root, "resourceMetrics", "resource_metrics", bad))) {
            rkeys.clear();
            if (const json* res = member(rm, "resource"); res != nullptr)
                attribute_keys(*res, rkeys);
            const std::size_t ri = resources.size();
            resources.emplace_back();
            resources[ri].first = next;
            for (const json& sm :
                 or_empty(array_member(rm, "scopeMetrics", "scope_metrics", bad))) {
                skeys.clear();
                if (const json* sc = member(sm, "scope"); sc != nullptr && sc->is_object()) {
                    attribute_keys(*sc, skeys);
                    const json* name = member(*sc, "name");
                    const json* version = member(*sc, "version");
                    if (name != nullptr && name->is_string() &&
                        !name->get_ref<const std::string&>().empty()) {
                        skeys.push_back(k_otel_scope_name_label);
                    }
                    if (version != nullptr && version->is_string() &&
                        !version->get_ref<const std::string&>().empty()) {
                        skeys.push_back(k_otel_scope_version_label);
                    }
                }
                const std::size_t si = scopes.size();
                scopes.emplace_back();
                scopes[si].first = next;
                for_each_point(sm, next, [&](const json&, std::size_t n) {
                    if (n >= keep.size() || keep[n] == 0 || masks[n] == 0) return;
                    const std::span<const label_view> labels = (*batch)[n].labels;
                    removed.clear();
                    for (std::string_view k : rkeys) {
                        if (strip_mask_removes(labels, masks[n], k)) removed.push_back(k);
                    }
                    if (!removed.empty()) res_group[n] = group_of(resources[ri].groups, removed);
                    removed.clear();
                    for (std::string_view k : skeys) {
                        if (strip_mask_removes(labels, masks[n], k)) removed.push_back(k);
                    }
                    if (!removed.empty()) scope_group[n] = group_of(scopes[si].groups, removed);
                });
                scopes[si].count = next - scopes[si].first;
            }
            resources[ri].count = next - resources[ri].first;
        }
        return next;
    }

    std::uint32_t rgroup(std::size_t n) const { return stripping() ? res_group[n] : 0; }
    std::uint32_t sgroup(std::size_t n) const { return stripping() ? scope_group[n] : 0; }

    // Returns the number of points walked (to check against the keep mask).
    std::size_t encode(std::string& out) {
        std::size_t next = 0;
        std::size_t ri = 0, si = 0;
        json result = root.is_object() ? without(root, {"resourceMetrics", "resource_metrics"})
                                       : json::object();
        json rms_out = json::array();
        bool bad = false;
        for (const json& rm :
             or_empty(array_member(root, "resourceMetrics", "resource_metrics", bad))) {
            const std::size_t rfirst = next;
            const std::size_t sfirst = si;
            // Resource groups present among the kept points, in order of first appearance.
            std::vector<std::uint32_t> rgroups{0};
            if (stripping()) {
                rgroups.clear();
                const level& lv = resources[ri];
                for (std::size_t n = lv.first; n < lv.first + lv.count && n < keep.size(); ++n) {
                    if (keep[n] != 0) add_group(rgroups, res_group[n]);
                }
            }
            std::size_t rm_points = 0;
            for (std::uint32_t rg : rgroups) {
                next = rfirst;
                si = sfirst;
                json rm_out = without(rm, {"scopeMetrics", "scope_metrics"});
                if (rg != 0) {
                    rm_out["resource"] =
                        without_attributes(*member(rm, "resource"), resources[ri].groups[rg]);
                }
                json sms_out = json::array();
                for (const json& sm :
                     or_empty(array_member(rm, "scopeMetrics", "scope_metrics", bad))) {
                    const std::size_t pfirst = next;
                    std::vector<std::uint32_t> sgroups{0};
                    if (stripping()) {
                        sgroups.clear();
                        const level& lv = scopes[si];
                        for (std::size_t n = lv.first; n < lv.first + lv.count && n < keep.size();
                             ++n) {
                            if (keep[n] != 0 && res_group[n] == rg)
                                add_group(sgroups, scope_group[n]);
                        }
                    }
                    for (std::uint32_t sg : sgroups) {
                        next = pfirst;
                        json sm_out = without(sm, {"metrics"});
                        if (sg != 0) {
                            const key_list& removed = scopes[si].groups[sg];
                            json sc = without_attributes(*member(sm, "scope"), removed);
                            if (contains(removed, k_otel_scope_name_label)) sc.erase("name");
                            if (contains(removed, k_otel_scope_version_label)) sc.erase("version");
                            sm_out["scope"] = std::move(sc);
                        }
                        json metrics_out = metrics(sm, rg, sg, next);
                        if (!metrics_out.empty()) {
                            sm_out["metrics"] = std::move(metrics_out);
                            sms_out.push_back(std::move(sm_out));
                        }
                    }
                    if (sgroups.empty()) for_each_point(sm, next, [](const json&, std::size_t) {});
                    ++si;
                }
                if (!sms_out.empty()) {
                    rm_out["scopeMetrics"] = std::move(sms_out);
                    rms_out.push_back(std::move(rm_out));
                }
                rm_points = next - rfirst;
            }
            if (rgroups.empty()) {
                for (const json& sm :
                     or_empty(array_member(rm, "scopeMetrics", "scope_metrics", bad))) {
                    for_each_point(sm, next, [](const json&, std::size_t) {});
                    ++si;
                }
            } else {
                next = rfirst + rm_points;
            }
            ++ri;
        }
        result["resourceMetrics"] = std::move(rms_out);
        out = result.dump(-1, ' ', false, json::error_handler_t::replace);
        return next;
    }

    // The metrics of one scope with the points of groups (rg, sg), masks applied.
    json metrics(const json& sm, std::uint32_t rg, std::uint32_t sg, std::size_t& next) const {
        json metrics_out = json::array();
        bool bad = false;
        for (const json& m : or_empty(array_member(sm, "metrics", nullptr, bad))) {
            json m_out = m;
            std::size_t kept_here = 0;
            for (const kind_key& k : k_kinds) {
                const json* data = member(m, k.camel, k.snake);
                if (data == nullptr || data->is_null()) continue;
                const json* points = array_member(*data, "dataPoints", "data_points", bad);
                if (points == nullptr) continue;
                json kept_points = json::array();
                for (const json& p : *points) {
                    const std::size_t n = next++;
                    if (n >= keep.size() || keep[n] == 0 || rgroup(n) != rg || sgroup(n) != sg) {
                        continue;
                    }
                    if (!stripping() || masks[n] == 0) {
                        kept_points.push_back(p);
                        continue;
                    }
                    const std::span<const label_view> labels = (*batch)[n].labels;
                    key_list removed;
                    bool bad_attrs = false;
                    for (const json& kv :
                         or_empty(array_member(p, "attributes", nullptr, bad_attrs))) {
                        const std::string_view key = key_of(kv);
                        if (strip_mask_removes(labels, masks[n], key)) removed.push_back(key);
                    }
                    kept_points.push_back(removed.empty() ? p : without_attributes(p, removed));
                }
                kept_here += kept_points.size();
                json data_out = without(*data, {"dataPoints", "data_points"});
                data_out["dataPoints"] = std::move(kept_points);
                m_out.erase(k.camel);
                if (k.snake != nullptr) m_out.erase(k.snake);
                m_out[k.camel] = std::move(data_out);
            }
            if (kept_here > 0) metrics_out.push_back(std::move(m_out));
        }
        return metrics_out;
    }
};

}  // namespace

decode_status encode_otlp_json_subset(const otlp_json_document& doc,
                                      std::span<const std::uint8_t> keep, std::string& out) {
    json_subset enc{doc.get().root, keep, nullptr, {}, {}, {}, {}, {}};
    if (enc.encode(out) != keep.size()) {
        out.clear();
        return fail("keep mask size does not match the document");
    }
    return decode_status::success();
}

decode_status encode_otlp_json_subset(const series_batch& batch, std::span<const std::uint8_t> keep,
                                      std::span<const std::uint64_t> strip_masks,
                                      std::string& out) {
    if (batch.protocol() != source_protocol::otlp_json || batch.json_document() == nullptr) {
        out.clear();
        return fail("subset source is not an OTLP/JSON batch with its document");
    }
    if (keep.size() != batch.size()) {
        out.clear();
        return fail("keep mask size does not match the batch");
    }
    bool any = false;
    if (auto s = check_strip_masks(batch, keep, strip_masks, any); !s) {
        out.clear();
        return s;
    }
    if (!any) return encode_otlp_json_subset(*batch.json_document(), keep, out);
    json_subset enc{batch.json_document()->get().root, keep, &batch, strip_masks, {}, {}, {}, {}};
    enc.res_group.assign(batch.size(), 0);
    enc.scope_group.assign(batch.size(), 0);
    if (enc.plan() != batch.size() || enc.encode(out) != batch.size()) {
        out.clear();
        return fail("batch source changed since decoding");
    }
    return decode_status::success();
}

std::string encode_otlp_response_json(std::int64_t rejected, std::string_view error_message) {
    if (rejected == 0 && error_message.empty()) return "{}";
    json ps = json::object();
    if (rejected != 0) ps["rejectedDataPoints"] = std::to_string(rejected);
    if (!error_message.empty()) ps["errorMessage"] = std::string(error_message);
    json r = json::object();
    r["partialSuccess"] = std::move(ps);
    return r.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace mg::protocol
