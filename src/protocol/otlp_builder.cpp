#include "protocol/otlp_builder.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/strings.h"
#include "protocol/otlp_schema.h"
#include "protocol/wire.h"

namespace mg::protocol {

using json = nlohmann::json;
using namespace otlp_schema;  // field numbers

otlp_any_value otlp_any_value::str(std::string v) {
    otlp_any_value a;
    a.k = kind::string;
    a.s = std::move(v);
    return a;
}
otlp_any_value otlp_any_value::boolean(bool v) {
    otlp_any_value a;
    a.k = kind::boolean;
    a.b = v;
    return a;
}
otlp_any_value otlp_any_value::integer(std::int64_t v) {
    otlp_any_value a;
    a.k = kind::integer;
    a.i = v;
    return a;
}
otlp_any_value otlp_any_value::dbl(double v) {
    otlp_any_value a;
    a.k = kind::dbl;
    a.d = v;
    return a;
}
otlp_any_value otlp_any_value::bytes(std::string v) {
    otlp_any_value a;
    a.k = kind::bytes;
    a.s = std::move(v);
    return a;
}

// ---- Protobuf ----

namespace {

void write_any(wire_writer& w, const otlp_any_value& v);

void write_kv(wire_writer& w, std::uint32_t field, const otlp_key_value& kv) {
    const std::size_t t = w.begin_message(field);
    w.bytes_field(kv_key, kv.key);
    const std::size_t vt = w.begin_message(kv_value);
    write_any(w, kv.value);
    w.end_message(vt);
    w.end_message(t);
}

void write_any(wire_writer& w, const otlp_any_value& v) {
    using k = otlp_any_value::kind;
    switch (v.k) {
        case k::empty:
            break;
        case k::string:
            w.bytes_field(any_string, v.s);
            break;
        case k::boolean:
            w.varint_field(any_bool, v.b ? 1 : 0);
            break;
        case k::integer:
            w.int64_field(any_int, v.i);
            break;
        case k::dbl:
            w.double_field(any_double, v.d);
            break;
        case k::bytes:
            w.bytes_field(any_bytes, v.s);
            break;
        case k::array: {
            const std::size_t t = w.begin_message(any_array);
            for (const otlp_any_value& e : v.array) {
                const std::size_t et = w.begin_message(list_values);
                write_any(w, e);
                w.end_message(et);
            }
            w.end_message(t);
            break;
        }
        case k::kvlist: {
            const std::size_t t = w.begin_message(any_kvlist);
            for (const otlp_key_value& kv : v.kvlist) write_kv(w, list_values, kv);
            w.end_message(t);
            break;
        }
    }
}

void write_point(wire_writer& w, metric_kind k, const otlp_point& p) {
    const std::size_t t = w.begin_message(data_points);
    for (const otlp_key_value& kv : p.attributes) write_kv(w, attributes_field(k), kv);
    w.fixed64_field(point_time_unix_nano, p.time_unix_nano);
    switch (k) {
        case metric_kind::gauge:
        case metric_kind::sum:
            w.double_field(number_as_double, p.value);
            break;
        case metric_kind::histogram:
            w.fixed64_field(point_count, 1);
            w.double_field(point_sum, p.value);
            w.fixed64_field(histogram_bucket_counts, 1);  // unpacked is valid too
            break;
        case metric_kind::exponential_histogram:
            w.fixed64_field(point_count, 1);
            w.double_field(point_sum, p.value);
            w.sint64_field(exp_scale, 0);  // sint32
            break;
        case metric_kind::summary:
            w.fixed64_field(point_count, 1);
            w.double_field(point_sum, p.value);
            break;
        case metric_kind::unknown:
            break;
    }
    for (std::uint32_t i = 0; i < p.exemplars && exemplars_field(k) != 0; ++i) {
        const std::size_t et = w.begin_message(exemplars_field(k));
        w.fixed64_field(exemplar_time_unix_nano, p.time_unix_nano);
        w.double_field(exemplar_as_double, p.value);
        w.end_message(et);
    }
    w.end_message(t);
}

}  // namespace

void encode_otlp_protobuf(std::span<const otlp_resource> resources, std::string& out) {
    out.clear();
    wire_writer w(out);
    for (const otlp_resource& res : resources) {
        const std::size_t rt = w.begin_message(req_resource_metrics);
        const std::size_t rest = w.begin_message(rm_resource);
        for (const otlp_key_value& kv : res.attributes) write_kv(w, resource_attributes, kv);
        w.end_message(rest);
        for (const otlp_scope& sc : res.scopes) {
            const std::size_t st = w.begin_message(rm_scope_metrics);
            const std::size_t scope = w.begin_message(sm_scope);
            if (!sc.name.empty()) w.bytes_field(scope_name, sc.name);
            if (!sc.version.empty()) w.bytes_field(scope_version, sc.version);
            for (const otlp_key_value& kv : sc.attributes) write_kv(w, scope_attributes, kv);
            w.end_message(scope);
            for (const otlp_metric& m : sc.metrics) {
                const std::size_t mt = w.begin_message(sm_metrics);
                w.bytes_field(metric_name, m.name);
                if (!m.description.empty()) w.bytes_field(metric_description, m.description);
                if (!m.unit.empty()) w.bytes_field(metric_unit, m.unit);
                const std::size_t dt = w.begin_message(data_field_of(m.kind));
                for (const otlp_point& p : m.points) write_point(w, m.kind, p);
                if (m.kind == metric_kind::sum) {
                    w.varint_field(data_temporality, 2);  // cumulative
                    w.varint_field(data_is_monotonic, 1);
                } else if (m.kind == metric_kind::histogram ||
                           m.kind == metric_kind::exponential_histogram) {
                    w.varint_field(data_temporality, 2);
                }
                w.end_message(dt);
                w.end_message(mt);
            }
            w.end_message(st);
        }
        w.end_message(rt);
    }
}

// ---- JSON ----

namespace {

json any_to_json(const otlp_any_value& v);

json kv_to_json(const otlp_key_value& kv) {
    return json{{"key", kv.key}, {"value", any_to_json(kv.value)}};
}

json double_to_json(double d) {
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
    return d;
}

json any_to_json(const otlp_any_value& v) {
    using k = otlp_any_value::kind;
    switch (v.k) {
        case k::empty:
            return json::object();
        case k::string:
            return json{{"stringValue", v.s}};
        case k::boolean:
            return json{{"boolValue", v.b}};
        case k::integer:
            return json{{"intValue", std::to_string(v.i)}};
        case k::dbl:
            return json{{"doubleValue", double_to_json(v.d)}};
        case k::bytes: {
            std::string b64;
            mg::base64_append(v.s, b64);
            return json{{"bytesValue", b64}};
        }
        case k::array: {
            json values = json::array();
            for (const otlp_any_value& e : v.array) values.push_back(any_to_json(e));
            return json{{"arrayValue", json{{"values", values}}}};
        }
        case k::kvlist: {
            json values = json::array();
            for (const otlp_key_value& e : v.kvlist) values.push_back(kv_to_json(e));
            return json{{"kvlistValue", json{{"values", values}}}};
        }
    }
    return json::object();
}

json attrs_to_json(const std::vector<otlp_key_value>& attrs) {
    json a = json::array();
    for (const otlp_key_value& kv : attrs) a.push_back(kv_to_json(kv));
    return a;
}

}  // namespace

std::string encode_otlp_json(std::span<const otlp_resource> resources) {
    json rms = json::array();
    for (const otlp_resource& res : resources) {
        json sms = json::array();
        for (const otlp_scope& sc : res.scopes) {
            json metrics = json::array();
            for (const otlp_metric& m : sc.metrics) {
                json points = json::array();
                for (const otlp_point& p : m.points) {
                    json jp = {{"attributes", attrs_to_json(p.attributes)},
                               {"timeUnixNano", std::to_string(p.time_unix_nano)}};
                    if (m.kind == metric_kind::gauge || m.kind == metric_kind::sum) {
                        jp["asDouble"] = double_to_json(p.value);
                    } else {
                        jp["count"] = "1";
                        jp["sum"] = double_to_json(p.value);
                    }
                    if (p.exemplars > 0 && m.kind != metric_kind::summary) {
                        json ex = json::array();
                        for (std::uint32_t i = 0; i < p.exemplars; ++i) {
                            ex.push_back({{"timeUnixNano", std::to_string(p.time_unix_nano)},
                                          {"asDouble", double_to_json(p.value)}});
                        }
                        jp["exemplars"] = ex;
                    }
                    points.push_back(std::move(jp));
                }
                json data = {{"dataPoints", points}};
                const char* key = "gauge";
                switch (m.kind) {
                    case metric_kind::sum:
                        key = "sum";
                        data["aggregationTemporality"] = 2;
                        data["isMonotonic"] = true;
                        break;
                    case metric_kind::histogram:
                        key = "histogram";
                        data["aggregationTemporality"] = 2;
                        break;
                    case metric_kind::exponential_histogram:
                        key = "exponentialHistogram";
                        data["aggregationTemporality"] = 2;
                        break;
                    case metric_kind::summary:
                        key = "summary";
                        break;
                    default:
                        break;
                }
                json jm = {{"name", m.name}};
                if (!m.description.empty()) jm["description"] = m.description;
                if (!m.unit.empty()) jm["unit"] = m.unit;
                jm[key] = std::move(data);
                metrics.push_back(std::move(jm));
            }
            json scope = json::object();
            if (!sc.name.empty()) scope["name"] = sc.name;
            if (!sc.version.empty()) scope["version"] = sc.version;
            if (!sc.attributes.empty()) scope["attributes"] = attrs_to_json(sc.attributes);
            sms.push_back({{"scope", scope}, {"metrics", metrics}});
        }
        rms.push_back(
            {{"resource", {{"attributes", attrs_to_json(res.attributes)}}}, {"scopeMetrics", sms}});
    }
    json root = {{"resourceMetrics", rms}};
    return root.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace mg::protocol
