// otlp_json.h: the OTLP/JSON subset encoders, which serialize the parsed document again with the
// kept points, with or without strip masks (resources and scopes split as otlp_strip_plan.h
// says).
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "protocol/otlp.h"
#include "protocol/otlp_json.h"
#include "protocol/otlp_json_internal.h"
#include "protocol/otlp_schema.h"
#include "protocol/otlp_strip_plan.h"

namespace mg::protocol {

using json = nlohmann::json;
using otlp_detail::contains;
using otlp_detail::key_list;
using otlp_detail::strip_plan;
using otlp_json_detail::array_member;
using otlp_json_detail::fail;
using otlp_json_detail::member;
using otlp_schema::k_kinds;
using otlp_schema::kind_key;

namespace {

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

// Re-serializes the document with the kept points. With strip masks, a label is removed at every
// level carrying its key; resources and scopes are emitted once per group of points that need
// the same removals there (group 0: nothing removed, the object as sent), see otlp.h.
struct json_subset {
    const json& root;
    std::span<const std::uint8_t> keep;
    const series_batch* batch = nullptr;  // with masks only
    std::span<const std::uint64_t> masks;

    // With masks: per point, its resource and scope group; per resource/scope, the removed keys
    // of each group (walk order, as decoded).
    strip_plan plan;

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

    // Fills the plan; returns the number of points walked.
    std::size_t fill_plan() {
        std::size_t next = 0;
        bool bad = false;
        key_list rkeys, skeys;
        for (const json& rm :
             or_empty(array_member(root, "resourceMetrics", "resource_metrics", bad))) {
            rkeys.clear();
            if (const json* res = member(rm, "resource"); res != nullptr)
                attribute_keys(*res, rkeys);
            const std::size_t ri = plan.resources.size();
            plan.resources.emplace_back();
            plan.resources[ri].first = next;
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
                const std::size_t si = plan.scopes.size();
                plan.scopes.emplace_back();
                plan.scopes[si].first = next;
                for_each_point(sm, next, [&](const json&, std::size_t n) {
                    if (n >= keep.size() || keep[n] == 0 || masks[n] == 0) return;
                    plan.place(n, (*batch)[n].labels, masks[n], ri, rkeys, si, skeys);
                });
                plan.scopes[si].count = next - plan.scopes[si].first;
            }
            plan.resources[ri].count = next - plan.resources[ri].first;
        }
        return next;
    }

    std::uint32_t rgroup(std::size_t n) const { return stripping() ? plan.res_group[n] : 0; }
    std::uint32_t sgroup(std::size_t n) const { return stripping() ? plan.scope_group[n] : 0; }

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
            if (stripping()) plan.resource_groups(ri, keep, rgroups);
            std::size_t rm_points = 0;
            for (std::uint32_t rg : rgroups) {
                next = rfirst;
                si = sfirst;
                json rm_out = without(rm, {"scopeMetrics", "scope_metrics"});
                if (rg != 0) {
                    rm_out["resource"] =
                        without_attributes(*member(rm, "resource"), plan.resources[ri].groups[rg]);
                }
                json sms_out = json::array();
                for (const json& sm :
                     or_empty(array_member(rm, "scopeMetrics", "scope_metrics", bad))) {
                    const std::size_t pfirst = next;
                    std::vector<std::uint32_t> sgroups{0};
                    if (stripping()) plan.scope_groups(si, keep, rg, sgroups);
                    for (std::uint32_t sg : sgroups) {
                        next = pfirst;
                        json sm_out = without(sm, {"metrics"});
                        if (sg != 0) {
                            const key_list& removed = plan.scopes[si].groups[sg];
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
    json_subset enc{doc.get().root, keep, nullptr, {}, {}};
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
    json_subset enc{batch.json_document()->get().root, keep, &batch, strip_masks, {}};
    enc.plan.reset(batch.size());
    if (enc.fill_plan() != batch.size() || enc.encode(out) != batch.size()) {
        out.clear();
        return fail("batch source changed since decoding");
    }
    return decode_status::success();
}

}  // namespace mg::protocol
