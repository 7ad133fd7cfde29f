// OTLP -> remote write 1.0 conversion (protocol/otlp_to_prw.h): every metric kind, from protobuf
// and JSON (which must give the same bytes), names, labels, strip and keep masks, and the points
// that cannot be converted, each counted under its reason.
#include "protocol/otlp_to_prw.h"

#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "protocol/otlp.h"
#include "protocol/otlp_json.h"
#include "protocol/prometheus_names.h"
#include "protocol/remote_write.h"
#include "protocol/remote_write_builder.h"
#include "protocol/wire.h"
#include "shared/otlp_builder.h"

using namespace mg::protocol;
namespace ob = mg::test::otlp;

namespace {

constexpr std::uint64_t k_t = 1700000000123456789ULL;  // ns
constexpr std::int64_t k_ms = 1700000000123;

// ---- reading the converter's output back ----

struct out_histogram {
    std::uint64_t count = 0;
    double sum = 0;
    std::int32_t schema = 0;
    double zero_threshold = 0;
    std::uint64_t zero_count = 0;
    std::vector<std::pair<std::int32_t, std::uint32_t>> pos_spans, neg_spans;
    std::vector<std::int64_t> pos_deltas, neg_deltas;
    std::int64_t ts = 0;
};

struct out_series {
    std::string id;                        // name{k="v",...} in wire order, without __name__
    std::vector<std::string> label_names;  // wire order, with __name__
    std::vector<std::pair<double, std::int64_t>> samples;
    std::vector<out_histogram> histograms;
};

void spans(bytes_view payload, std::vector<std::pair<std::int32_t, std::uint32_t>>& out) {
    wire_reader r(payload);
    wire_field f;
    std::int32_t off = 0;
    std::uint32_t len = 0;
    while (r.next(f)) {
        if (f.number == 1) off = zigzag_decode32(static_cast<std::uint32_t>(f.value));
        if (f.number == 2) len = static_cast<std::uint32_t>(f.value);
    }
    out.emplace_back(off, len);
}

void deltas(bytes_view payload, std::vector<std::int64_t>& out) {
    packed_varint_reader r(payload);
    std::uint64_t v = 0;
    while (r.next(v)) out.push_back(zigzag_decode64(v));
}

std::vector<out_series> parse(const std::string& body) {
    std::vector<out_series> out;
    wire_reader r(body);
    wire_field f;
    while (r.next(f)) {
        REQUIRE(f.number == 1);  // only TimeSeries
        out_series s;
        std::string name, labels;
        wire_reader tr(f.bytes);
        wire_field g;
        while (tr.next(g)) {
            if (g.number == 1) {
                std::string n, v;
                wire_reader lr(g.bytes);
                wire_field l;
                while (lr.next(l)) {
                    if (l.number == 1) n = std::string(l.bytes);
                    if (l.number == 2) v = std::string(l.bytes);
                }
                s.label_names.push_back(n);
                if (n == "__name__") {
                    name = v;
                } else {
                    labels += (labels.empty() ? "" : ",") + n + "=\"" + v + "\"";
                }
            } else if (g.number == 2) {
                double v = 0;
                std::int64_t ts = 0;
                wire_reader sr(g.bytes);
                wire_field x;
                while (sr.next(x)) {
                    if (x.number == 1) v = x.as_double();
                    if (x.number == 2) ts = x.as_int64();
                }
                s.samples.emplace_back(v, ts);
            } else if (g.number == 4) {
                out_histogram h;
                wire_reader hr(g.bytes);
                wire_field x;
                while (hr.next(x)) {
                    switch (x.number) {
                        case 1:
                            h.count = x.value;
                            break;
                        case 3:
                            h.sum = x.as_double();
                            break;
                        case 4:
                            h.schema = zigzag_decode32(static_cast<std::uint32_t>(x.value));
                            break;
                        case 5:
                            h.zero_threshold = x.as_double();
                            break;
                        case 6:
                            h.zero_count = x.value;
                            break;
                        case 8:
                            spans(x.bytes, h.neg_spans);
                            break;
                        case 9:
                            deltas(x.bytes, h.neg_deltas);
                            break;
                        case 11:
                            spans(x.bytes, h.pos_spans);
                            break;
                        case 12:
                            deltas(x.bytes, h.pos_deltas);
                            break;
                        case 15:
                            h.ts = x.as_int64();
                            break;
                        default:
                            FAIL("unexpected histogram field " << x.number);
                    }
                }
                s.histograms.push_back(h);
            }
        }
        s.id = name + "{" + labels + "}";
        out.push_back(std::move(s));
    }
    REQUIRE(r.error() == nullptr);
    return out;
}

std::vector<std::string> ids(const std::vector<out_series>& ss) {
    std::vector<std::string> out;
    for (const auto& s : ss) out.push_back(s.id);
    return out;
}

// id -> the one sample's value (and its timestamp must be k_ms).
std::map<std::string, double> values(const std::vector<out_series>& ss) {
    std::map<std::string, double> out;
    for (const auto& s : ss) {
        REQUIRE(s.samples.size() == 1);
        CHECK(s.samples[0].second == k_ms);
        out[s.id] = s.samples[0].first;
    }
    return out;
}

// name{k="v",...} with the labels in byte order (the order the converter writes them in).
std::string id(const std::string& name, const std::map<std::string, std::string>& labels) {
    std::string out = name + "{";
    bool first = true;
    for (const auto& [k, v] : labels) {
        out += (first ? "" : ",") + k + "=\"" + v + "\"";
        first = false;
    }
    return out + "}";
}

// ---- converting a request given as a description ----

struct converted {
    std::string body;
    prw_conversion_result result;
    std::vector<out_series> series;
};

enum class input { protobuf, json };

// Converts a decoded request (keep empty: every series kept) and checks the output is a valid
// WriteRequest of as many series as the result counts.
converted convert_batch(const series_batch& batch, std::vector<std::uint8_t> keep = {},
                        std::vector<std::uint64_t> masks = {},
                        prw_conversion_options options = {}) {
    if (keep.empty()) keep.assign(batch.size(), 1);
    converted c;
    otlp_to_prw_converter conv;
    const auto cs = conv.convert(batch, keep, masks, c.body, c.result, options);
    INFO(cs.error_message());
    REQUIRE(cs.ok());
    c.series = parse(c.body);
    CHECK(c.result.series == c.series.size());
    // A valid WriteRequest with sorted labels, as our own decoder (and Prometheus) wants it.
    series_batch back;
    REQUIRE(decode_remote_write_v1(c.body, back).ok());
    CHECK_FALSE(back.any_labels_unsorted());
    CHECK(back.size() == c.series.size());
    return c;
}

converted convert_as(input in, const std::vector<ob::resource>& req,
                     std::vector<std::uint8_t> keep = {}, std::vector<std::uint64_t> masks = {},
                     prw_conversion_options options = {}) {
    const std::string body = in == input::protobuf ? ob::to_protobuf(req) : ob::to_json(req);
    series_batch batch;
    otlp_json_document doc;
    const auto st = in == input::protobuf ? decode_otlp_protobuf(body, batch)
                                          : decode_otlp_json(body, doc, batch);
    REQUIRE(st.ok());
    return convert_batch(batch, std::move(keep), std::move(masks), options);
}

// A JSON body as written (for what the builder cannot express), every point kept.
converted convert_json(const std::string& body) {
    otlp_json_document doc;
    series_batch batch;
    REQUIRE(decode_otlp_json(body, doc, batch).ok());
    return convert_batch(batch);
}

// Protobuf and JSON input give the same bytes and counts; returns the protobuf conversion.
converted convert(const std::vector<ob::resource>& req, std::vector<std::uint8_t> keep = {},
                  std::vector<std::uint64_t> masks = {}, prw_conversion_options options = {}) {
    auto pb = convert_as(input::protobuf, req, keep, masks, options);
    auto js = convert_as(input::json, req, keep, masks, options);
    CHECK(pb.body == js.body);
    CHECK(pb.result.dropped == js.result.dropped);
    CHECK(pb.result.points_converted == js.result.points_converted);
    CHECK(pb.result.samples == js.result.samples);
    CHECK(pb.result.histograms == js.result.histograms);
    CHECK(pb.result.first_drop == js.result.first_drop);
    CHECK(pb.result.target_info == js.result.target_info);
    return pb;
}

std::vector<ob::resource> one_metric(ob::metric m, std::vector<ob::attr> resource_attrs = {}) {
    ob::scope s;
    s.metrics.push_back(std::move(m));
    return {ob::resource{std::move(resource_attrs), {s}}};
}

ob::point number(std::vector<ob::attr> attrs, double v) {
    ob::point p;
    p.attrs = std::move(attrs);
    p.time_ns = k_t;
    p.as_double = v;
    return p;
}

std::uint64_t dropped(const prw_conversion_result& r, prw_conversion_drop why) {
    return r.dropped[static_cast<std::size_t>(why)];
}

bool is_stale(double v) {
    return std::bit_cast<std::uint64_t>(v) == k_prometheus_stale_nan;
}

}  // namespace

TEST_CASE("names without suffixes are sanitized the way Prometheus' OTLP translator does",
          "[otlp_to_prw]") {
    CHECK(prometheus_metric_name("http.server.duration") == "http_server_duration");
    CHECK(prometheus_metric_name("requests_total") == "requests_total");
    CHECK(prometheus_metric_name("a..b") == "a_b");   // a run of invalid characters: one `_`
    CHECK(prometheus_metric_name(".a.") == "a");      // none at the ends
    CHECK(prometheus_metric_name("a__b") == "a__b");  // underscores themselves are kept
    CHECK(prometheus_metric_name("ns:sub/x-y") == "ns:sub_x_y");
    CHECK(prometheus_metric_name("1xx") == "_1xx");
    CHECK(prometheus_metric_name("h\xc3\xa9llo") == "h_llo");  // non-ASCII is invalid
    CHECK(prometheus_metric_name("...") == "");
    CHECK(prometheus_metric_name("").empty());
    CHECK(prometheus_metric_name("_") == "_");  // valid as sent

    CHECK(prometheus_label_name("http.method") == "http_method");
    CHECK(prometheus_label_name("a__b") == "a_b");  // runs collapse, underscores included
    CHECK(prometheus_label_name("a._b") == "a_b");
    CHECK(prometheus_label_name("_a") == "_a");
    CHECK(prometheus_label_name("__x.y__") == "__x_y__");  // reserved form kept
    CHECK(prometheus_label_name("2xx") == "key_2xx");
    CHECK(prometheus_label_name("k8s.pod.name") == "k8s_pod_name");
    CHECK(prometheus_label_name(".").empty());
    CHECK(prometheus_label_name("___").empty());
}

TEST_CASE("suffixed names (the default): units, _total and _ratio as Prometheus' translator",
          "[otlp_to_prw]") {
    using t = otlp_name_type;
    const auto name = [](std::string_view n, std::string_view unit, otlp_name_type type) {
        return prometheus_metric_name(n, unit, type);
    };
    CHECK(name("http.server.duration", "s", t::other) == "http_server_duration_seconds");
    CHECK(name("http.server.duration", "ms", t::other) == "http_server_duration_milliseconds");
    CHECK(name("duration_seconds", "s", t::other) == "duration_seconds");  // no repeated suffix
    CHECK(name("x", "  s ", t::other) == "x_seconds");                     // trimmed
    CHECK(name("requests", "1", t::monotonic_sum) == "requests_total");    // "1": no unit word
    CHECK(name("requests", "", t::monotonic_sum) == "requests_total");
    CHECK(name("requests_total", "", t::monotonic_sum) == "requests_total");
    CHECK(name("total.requests", "", t::monotonic_sum) == "requests_total");  // always last
    CHECK(name("net.io", "By", t::monotonic_sum) == "net_io_bytes_total");    // after the unit
    CHECK(name("x", "total", t::monotonic_sum) == "x_total");
    CHECK(name("requests", "", t::other) == "requests");  // an up-down counter: no _total
    CHECK(name("cpu.utilization", "1", t::gauge) == "cpu_utilization_ratio");
    CHECK(name("cpu.ratio.x", "1", t::gauge) == "cpu_x_ratio");
    CHECK(name("cpu.utilization", "1", t::other) == "cpu_utilization");  // gauges only
    CHECK(name("cpu.utilization", "1", t::monotonic_sum) == "cpu_utilization_total");
    CHECK(name("queue", "{items}", t::gauge) == "queue");  // annotations are no unit
    CHECK(name("x", "By/{batch}", t::gauge) == "x_bytes");
    CHECK(name("x", "{packets}/s", t::gauge) == "x_per_second");
    CHECK(name("mem", "KiBy", t::gauge) == "mem_kibibytes");
    CHECK(name("x", "%", t::gauge) == "x_percent");
    CHECK(name("t", "Cel", t::gauge) == "t_celsius");
    CHECK(name("speed", "m/s", t::gauge) == "speed_meters_per_second");
    CHECK(name("rate", "1/s", t::other) == "rate_per_second");
    CHECK(name("x", "s/s", t::other) == "x_seconds_per_second");
    CHECK(name("seconds", "s/s", t::other) == "seconds_per_second");
    CHECK(name("x", "/s", t::gauge) == "x_per_second");
    CHECK(name("x", "s/", t::gauge) == "x_seconds");
    CHECK(name("x", "1/mo", t::gauge) == "x_per_month");
    CHECK(name("x", "mo", t::gauge) == "x_mo");            // not in the unit table: as it is
    CHECK(name("x", "foo.bar", t::gauge) == "x_foo_bar");  // cleaned up
    CHECK(name("a:b__c", "", t::gauge) == "a_b_c");        // `:` and `_` separate tokens too
    CHECK(name("1xx", "", t::gauge) == "_1xx");
    CHECK(name("...", "s", t::monotonic_sum).empty());  // no letter or digit: invalid
    CHECK(name("", "", t::gauge).empty());
}

TEST_CASE("gauges and cumulative sums: one sample each, _total and units, target_info",
          "[otlp_to_prw]") {
    ob::scope s;
    s.name = "io.test";
    s.version = "1.0";
    s.attrs = {{"lib.flag", "on"}};
    ob::metric g{"queue.depth", ob::metric_kind::gauge, 2, false, false, {}, "{items}"};
    g.points.push_back(number({{"queue", "a"}}, 3.5));
    ob::point as_int = number({{"queue", "b"}}, 0);
    as_int.as_double.reset();
    as_int.as_int = -42;
    g.points.push_back(as_int);
    ob::metric counter{"http.requests", ob::metric_kind::sum, 2, true, false, {}, "1"};
    counter.points.push_back(number({{"code", "200"}}, 10));
    ob::metric updown{
        "active_items", ob::metric_kind::sum, 2, false, true, {}, "By"};  // enum names
    updown.points.push_back(number({}, -2));
    s.metrics = {g, counter, updown};
    const std::vector<ob::resource> req{{{{"service.name", "checkout"},
                                          {"service.namespace", "shop"},
                                          {"service.instance.id", "pod-1"},
                                          {"host.name", "h1"}},
                                         {s}}};
    const auto c = convert(req);
    const std::map<std::string, std::string> common{{"host_name", "h1"},
                                                    {"instance", "pod-1"},
                                                    {"job", "shop/checkout"},
                                                    {"lib_flag", "on"},
                                                    {"otel_scope_name", "io.test"},
                                                    {"otel_scope_version", "1.0"},
                                                    {"service_instance_id", "pod-1"},
                                                    {"service_name", "checkout"},
                                                    {"service_namespace", "shop"}};
    const auto with = [&](std::string k, std::string v) {
        auto m = common;
        m[k] = v;
        return m;
    };
    // target_info: the resource attributes other than service.*, with job and instance.
    const std::map<std::string, std::string> target{
        {"host_name", "h1"}, {"instance", "pod-1"}, {"job", "shop/checkout"}};
    CHECK(values(c.series) == std::map<std::string, double>{
                                  {id("queue_depth", with("queue", "a")), 3.5},
                                  {id("queue_depth", with("queue", "b")), -42},
                                  {id("http_requests_total", with("code", "200")), 10},
                                  {id("active_items_bytes", common), -2},
                                  {id("target_info", target), 1},
                              });
    CHECK(c.result.points_converted == 4);
    CHECK(c.result.target_info == 1);
    CHECK(c.result.samples == 5);
    CHECK(c.result.histograms == 0);
    CHECK(c.result.points_dropped() == 0);
    // Wire order is sorted, __name__ at its place.
    CHECK(c.series[2].label_names.front() == "__name__");
    CHECK(c.series[2].label_names[1] == "code");

    // Without suffixes and target_info: the names as sent, sanitized.
    const auto old = convert(req, {}, {}, {.name_suffixes = false, .target_info = false});
    CHECK(values(old.series) == std::map<std::string, double>{
                                    {id("queue_depth", with("queue", "a")), 3.5},
                                    {id("queue_depth", with("queue", "b")), -42},
                                    {id("http_requests", with("code", "200")), 10},
                                    {id("active_items", common), -2},
                                });
    CHECK(old.result.target_info == 0);
}

TEST_CASE("target_info: one per resource with other attributes, at its latest kept point",
          "[otlp_to_prw]") {
    const auto gauge = [](std::string name, std::vector<std::uint64_t> times) {
        ob::metric m{std::move(name), ob::metric_kind::gauge, 2, false, false, {}};
        for (std::size_t i = 0; i < times.size(); ++i) {
            ob::point p = number({{"i", std::to_string(i)}}, 1);
            p.time_ns = times[i];
            m.points.push_back(p);
        }
        return m;
    };
    const auto resource = [](std::vector<ob::attr> attrs, std::vector<ob::metric> ms) {
        ob::scope s;
        s.name = "scope";  // scope labels are not resource attributes
        s.metrics = std::move(ms);
        return ob::resource{std::move(attrs), {s}};
    };
    ob::metric delta{"d", ob::metric_kind::sum, 1, true, false, {number({}, 1)}};
    const std::vector<ob::resource> req{
        // 0: points at k_t + 5ms and k_t + 9ms; the latest one is not kept below.
        resource({{"service.name", "a"}, {"a.b", "1"}, {"a_b", "2"}, {"zone", "z"}},
                 {gauge("g", {k_t + 5000000, k_t + 9000000})}),
        // 1: only identifying attributes: no target_info.
        resource({{"service.name", "b"}, {"service.instance.id", "i"}}, {gauge("g", {k_t})}),
        // 2: no service.name, no service.instance.id: no job, no instance, no target_info.
        resource({{"zone", "z"}}, {gauge("g", {k_t})}),
        // 3: its only point is dropped by conversion (delta): Prometheus still makes one.
        resource({{"service.instance.id", "x"}, {"env", "prod"}}, {delta}),
        // 4: no point kept: none.
        resource({{"service.name", "e"}, {"env", "prod"}}, {gauge("g", {k_t})}),
    };
    // Points in order: r0 (2), r1 (1), r2 (1), r3 (1), r4 (1).
    const auto c = convert(req, {1, 0, 1, 1, 1, 0});
    std::map<std::string, std::pair<double, std::int64_t>> targets;
    for (const auto& s : c.series) {
        if (s.id.starts_with("target_info{")) targets[s.id] = s.samples.at(0);
    }
    CHECK(targets == std::map<std::string, std::pair<double, std::int64_t>>{
                         {R"(target_info{a_b="1;2",job="a",zone="z"})", {1, k_ms + 5}},
                         {R"(target_info{env="prod",instance="x"})", {1, k_ms}},
                     });
    CHECK(c.result.target_info == 2);
    CHECK(c.result.points_converted == 3);
    CHECK(c.result.series == 3 + 2);

    const auto off = convert(req, {1, 0, 1, 1, 1, 0}, {}, {.target_info = false});
    CHECK(off.result.target_info == 0);
    CHECK(off.result.series == 3);
}

TEST_CASE("target_info renders resource attribute values of any kind as the decoder does",
          "[otlp_to_prw]") {
    const std::string body = R"({"resourceMetrics":[{"resource":{"attributes":[
        {"key":"service.name","value":{"stringValue":"svc"}},
        {"key":"process.pid","value":{"intValue":"42"}},
        {"key":"debug","value":{"boolValue":true}},
        {"key":"tags","value":{"arrayValue":{"values":[{"stringValue":"x"}]}}}]},
      "scopeMetrics":[{"metrics":[{"name":"up","unit":"1","gauge":{"dataPoints":[
        {"timeUnixNano":"1700000000123456789","asInt":"1"}]}}]}]}]})";
    const auto c = convert_json(body);
    const auto& series = c.series;
    REQUIRE(series.size() == 2);
    // The point's labels carry the same renderings (they are the decoder's).
    CHECK(series[0].id ==
          R"(up_ratio{debug="true",job="svc",process_pid="42",service_name="svc",tags="["x"]"})");
    CHECK(series[1].id == R"(target_info{debug="true",job="svc",process_pid="42",tags="["x"]"})");
}

TEST_CASE("histograms: cumulative _bucket series with le up to +Inf, _sum and _count",
          "[otlp_to_prw]") {
    ob::metric h{"rpc.duration", ob::metric_kind::histogram, 2, false, false, {}};
    ob::point p;
    p.attrs = {{"method", "get"}};
    p.time_ns = k_t;
    p.count = 10;
    p.sum = 12.25;
    p.bounds = {0.005, 1, 2.5, 1000000};
    p.bucket_counts = {1, 2, 3, 0, 4};
    h.points.push_back(p);
    ob::point no_buckets;  // no buckets and no sum: +Inf and _count only
    no_buckets.attrs = {{"method", "put"}};
    no_buckets.time_ns = k_t;
    no_buckets.count = 7;
    h.points.push_back(no_buckets);
    const auto c = convert(one_metric(h));
    CHECK(values(c.series) == std::map<std::string, double>{
                                  {R"(rpc_duration_bucket{le="0.005",method="get"})", 1},
                                  {R"(rpc_duration_bucket{le="1",method="get"})", 3},
                                  {R"(rpc_duration_bucket{le="2.5",method="get"})", 6},
                                  {R"(rpc_duration_bucket{le="1000000",method="get"})", 6},
                                  {R"(rpc_duration_bucket{le="+Inf",method="get"})", 10},
                                  {R"(rpc_duration_sum{method="get"})", 12.25},
                                  {R"(rpc_duration_count{method="get"})", 10},
                                  {R"(rpc_duration_bucket{le="+Inf",method="put"})", 7},
                                  {R"(rpc_duration_count{method="put"})", 7},
                              });
    CHECK(c.result.points_converted == 2);
    CHECK(c.result.samples == 9);
}

TEST_CASE("summaries: one series per quantile (sorted), _sum and _count", "[otlp_to_prw]") {
    ob::metric s{"gc.pause", ob::metric_kind::summary, 0, false, false, {}};
    ob::point p;
    p.time_ns = k_t;
    p.count = 4;
    p.sum = 0.75;
    p.quantiles = {{0.99, 0.4}, {0.5, 0.1}, {0, 0.01}, {1, 0.5}};
    s.points.push_back(p);
    const auto c = convert(one_metric(s, {{"service.name", "api"}}));
    CHECK(ids(c.series) == std::vector<std::string>{
                               R"(gc_pause{job="api",quantile="0",service_name="api"})",
                               R"(gc_pause{job="api",quantile="0.5",service_name="api"})",
                               R"(gc_pause{job="api",quantile="0.99",service_name="api"})",
                               R"(gc_pause{job="api",quantile="1",service_name="api"})",
                               R"(gc_pause_sum{job="api",service_name="api"})",
                               R"(gc_pause_count{job="api",service_name="api"})",
                           });
    const auto v = values(c.series);
    CHECK(v.at(R"(gc_pause{job="api",quantile="0.99",service_name="api"})") == 0.4);
    CHECK(v.at(R"(gc_pause_sum{job="api",service_name="api"})") == 0.75);
    CHECK(v.at(R"(gc_pause_count{job="api",service_name="api"})") == 4);
}

TEST_CASE("exponential histograms become native histograms", "[otlp_to_prw]") {
    ob::metric m{"payload.size", ob::metric_kind::exponential_histogram, 2, false, false, {}};
    ob::point p;
    p.attrs = {{"dir", "in"}};
    p.time_ns = k_t;
    p.count = 12;
    p.sum = 100.5;
    p.scale = 3;
    p.zero_count = 1;
    p.pos_offset = -2;
    p.pos_counts = {0, 2, 0, 5, 1, 0};  // empty buckets at the ends are left out
    p.neg_offset = 4;
    p.neg_counts = {3};
    m.points.push_back(p);

    SECTION("scale within Prometheus' schemas") {
        const auto c = convert(one_metric(m));
        REQUIRE(c.series.size() == 1);
        CHECK(c.series[0].id == R"(payload_size{dir="in"})");
        CHECK(c.series[0].samples.empty());
        REQUIRE(c.series[0].histograms.size() == 1);
        const auto& h = c.series[0].histograms[0];
        CHECK(h.count == 12);
        CHECK(h.sum == 100.5);
        CHECK(h.schema == 3);
        CHECK(h.zero_threshold == 1e-128);  // unset: Prometheus' default
        CHECK(h.zero_count == 1);
        CHECK(h.ts == k_ms);
        // OTLP index -1 (first non-empty) is Prometheus index 0: offsets differ by one.
        CHECK(h.pos_spans == std::vector<std::pair<std::int32_t, std::uint32_t>>{{0, 4}});
        CHECK(h.pos_deltas == std::vector<std::int64_t>{2, -2, 5, -4});
        CHECK(h.neg_spans == std::vector<std::pair<std::int32_t, std::uint32_t>>{{5, 1}});
        CHECK(h.neg_deltas == std::vector<std::int64_t>{3});
        CHECK(c.result.histograms == 1);
        CHECK(c.result.samples == 0);
    }
    SECTION("scale above 8 is downscaled to 8, merging neighbouring buckets") {
        m.points[0].scale = 10;  // 4 OTLP buckets per Prometheus bucket
        m.points[0].zero_threshold = 0.001;
        m.points[0].pos_offset = 3;
        m.points[0].pos_counts = {1, 1, 1, 1, 1, 1};  // indexes 3..8 -> 0 (3), 1 (4..7), 2 (8)
        m.points[0].neg_counts = {};
        m.points[0].neg_offset = 0;
        m.points[0].count = 7;
        const auto c = convert(one_metric(m));
        REQUIRE(c.series.size() == 1);
        const auto& h = c.series[0].histograms.at(0);
        CHECK(h.schema == 8);
        CHECK(h.zero_threshold == 0.001);
        CHECK(h.pos_spans == std::vector<std::pair<std::int32_t, std::uint32_t>>{{1, 3}});
        CHECK(h.pos_deltas == std::vector<std::int64_t>{1, 3, -3});
        CHECK(h.neg_spans.empty());
    }
    SECTION("with native histograms off they are dropped and counted") {
        const std::string body = ob::to_protobuf(one_metric(m));
        series_batch batch;
        REQUIRE(decode_otlp_protobuf(body, batch).ok());
        otlp_to_prw_converter conv;
        std::string out;
        prw_conversion_result r;
        prw_conversion_options off;
        off.native_histograms = false;
        REQUIRE(conv.convert(batch, std::vector<std::uint8_t>{1}, {}, out, r, off).ok());
        CHECK(out.empty());
        CHECK(dropped(r, prw_conversion_drop::exponential_histogram) == 1);
        CHECK(r.first_drop.find("native histograms are off") != std::string::npos);
    }
    SECTION("scale below -4 cannot be represented") {
        m.points[0].scale = -5;
        const auto c = convert(one_metric(m));
        CHECK(c.series.empty());
        CHECK(dropped(c.result, prw_conversion_drop::unsupported_scale) == 1);
        CHECK(c.result.first_drop.find("payload.size") != std::string::npos);
    }
}

TEST_CASE("the no-recorded-value flag becomes Prometheus' stale marker", "[otlp_to_prw]") {
    ob::metric g{"temp", ob::metric_kind::gauge, 2, false, false, {}};
    ob::point gp = number({}, 20);
    gp.flags = 1;
    g.points.push_back(gp);
    ob::metric h{"lat", ob::metric_kind::histogram, 2, false, false, {}};
    ob::point hp;
    hp.time_ns = k_t;
    hp.flags = 1;
    hp.count = 1;
    hp.sum = 1;
    hp.bounds = {1};
    hp.bucket_counts = {1, 0};
    h.points.push_back(hp);
    ob::metric e{"size", ob::metric_kind::exponential_histogram, 2, false, false, {}};
    ob::point ep;
    ep.time_ns = k_t;
    ep.flags = 1;
    e.points.push_back(ep);
    ob::scope s;
    s.metrics = {g, h, e};
    const auto c = convert({ob::resource{{}, {s}}});
    REQUIRE(c.series.size() == 1 + 4 + 1);
    for (std::size_t i = 0; i < 5; ++i) {
        INFO(c.series[i].id);
        CHECK(is_stale(c.series[i].samples.at(0).first));
    }
    const auto& nh = c.series[5].histograms.at(0);
    CHECK(nh.count == k_prometheus_stale_nan);
    CHECK(is_stale(nh.sum));
}

TEST_CASE("labels: collisions joined with semicolons, job/instance, reserved names, empty values",
          "[otlp_to_prw]") {
    ob::metric h{"m", ob::metric_kind::histogram, 2, false, false, {}};
    ob::point p;
    // "a.b" < "a_b": the values join in that order; "le" is the bucket's own label; an empty
    // value is no label; "__name__" cannot replace the metric name; "job" is overridden by the
    // job derived from service.name.
    p.attrs = {{"a_b", "2"},         {"a.b", "1"},    {"le", "mine"},  {"empty", ""},
               {"__name__", "evil"}, {"job", "attr"}, {"9lives", "x"}, {"Up", "u"}};
    p.time_ns = k_t;
    p.count = 1;
    h.points.push_back(p);
    const auto c = convert(one_metric(h, {{"service.name", "svc"}}));
    CHECK(ids(c.series) ==
          std::vector<std::string>{
              R"(m_bucket{Up="u",a_b="1;2",job="svc",key_9lives="x",le="+Inf",service_name="svc"})",
              R"(m_count{Up="u",a_b="1;2",job="svc",key_9lives="x",le="mine",service_name="svc"})",
          });
    // "Up" sorts before "__name__" (upper case before '_').
    CHECK(c.series[0].label_names[0] == "Up");
    CHECK(c.series[0].label_names[1] == "__name__");
}

TEST_CASE("strip masks remove labels (and what is derived from them), keep selects points",
          "[otlp_to_prw]") {
    ob::metric g{"m", ob::metric_kind::gauge, 2, false, false, {}};
    g.points.push_back(number({{"user", "alice"}, {"path", "/a"}}, 1));
    g.points.push_back(number({{"user", "bob"}, {"path", "/b"}}, 2));
    g.points.push_back(number({{"user", "carol"}, {"path", "/c"}}, 3));
    const auto req = one_metric(g, {{"service.name", "svc"}});
    // Sorted labels of each point: path, service.name, user.
    const auto c = convert(req, {1, 0, 1}, {0, 0, 0b110});
    CHECK(values(c.series) == std::map<std::string, double>{
                                  {R"(m{job="svc",path="/a",service_name="svc",user="alice"})", 1},
                                  {R"(m{path="/c"})", 3},
                              });
    CHECK(c.result.points_converted == 2);
    CHECK(c.result.points_dropped() == 0);  // the unkept point is not the converter's drop
}

TEST_CASE("points that cannot be converted are dropped and counted by reason", "[otlp_to_prw]") {
    std::vector<ob::metric> ms;
    ob::metric delta{"d", ob::metric_kind::sum, 1, true, false, {number({}, 1), number({}, 2)}};
    ob::metric delta_h{"dh", ob::metric_kind::histogram, 1, false, true, {}};
    ob::point hp;
    hp.time_ns = k_t;
    hp.count = 1;
    delta_h.points.push_back(hp);
    ob::metric unspecified{"u", ob::metric_kind::exponential_histogram, 0, false, false, {}};
    unspecified.points.push_back(hp);
    ob::metric no_time{"nt", ob::metric_kind::gauge, 2, false, false, {number({}, 1)}};
    no_time.points[0].time_ns = 0;
    ob::metric bad_h{"bh", ob::metric_kind::histogram, 2, false, false, {}};
    ob::point wrong_len = hp;  // 2 bounds need 3 counts
    wrong_len.bounds = {1, 2};
    wrong_len.bucket_counts = {1, 0};
    ob::point unsorted = hp;
    unsorted.bounds = {2, 1};
    unsorted.bucket_counts = {0, 1, 0};
    ob::point bad_count = hp;
    bad_count.count = 5;
    bad_count.bounds = {1};
    bad_count.bucket_counts = {1, 1};
    bad_h.points = {wrong_len, unsorted, bad_count};
    ob::metric bad_s{"bs", ob::metric_kind::summary, 0, false, false, {}};
    ob::point twice = hp;
    twice.quantiles = {{0.5, 1}, {0.5, 2}};
    ob::point outside = hp;
    outside.quantiles = {{1.5, 1}};
    bad_s.points = {twice, outside};
    ob::metric bad_e{"be", ob::metric_kind::exponential_histogram, 2, false, false, {}};
    ob::point too_many = hp;  // count 1 < 2 in buckets
    too_many.pos_counts = {2};
    bad_e.points = {too_many};
    ob::metric bad_name{"...", ob::metric_kind::gauge, 2, false, false, {number({}, 1)}};
    ob::metric bad_label{"ok", ob::metric_kind::gauge, 2, false, false, {number({{".", "x"}}, 1)}};
    ob::metric good{"good", ob::metric_kind::sum, 2, true, false, {number({}, 7)}};
    ob::scope s;
    s.metrics = {delta, delta_h, unspecified, no_time,   bad_h,
                 bad_s, bad_e,   bad_name,    bad_label, good};
    const auto c = convert({ob::resource{{}, {s}}});
    CHECK(ids(c.series) == std::vector<std::string>{"good_total{}"});
    CHECK(c.result.points_converted == 1);
    CHECK(dropped(c.result, prw_conversion_drop::delta_temporality) == 3);
    CHECK(dropped(c.result, prw_conversion_drop::unspecified_temporality) == 1);
    CHECK(dropped(c.result, prw_conversion_drop::invalid_point) == 1 + 3 + 2 + 1);
    CHECK(dropped(c.result, prw_conversion_drop::invalid_metric_name) == 1);
    CHECK(dropped(c.result, prw_conversion_drop::invalid_label_name) == 1);
    CHECK(dropped(c.result, prw_conversion_drop::unsupported_scale) == 0);
    CHECK(c.result.points_dropped() == 13);
    CHECK(c.result.first_drop ==
          "metric \"d\": delta temporality cannot be stored by a remote-write backend");
    CHECK(to_string(prw_conversion_drop::invalid_label_name) == "invalid_label_name");
}

TEST_CASE("JSON: enum names, numbers for 64-bit integers, snake_case fields", "[otlp_to_prw]") {
    const std::string body = R"({"resource_metrics":[{"scope_metrics":[{"metrics":[
      {"name":"c","sum":{"aggregation_temporality":"AGGREGATION_TEMPORALITY_CUMULATIVE","is_monotonic":true,
        "data_points":[{"time_unix_nano":1700000000123456789,"as_int":5}]}},
      {"name":"d","sum":{"aggregationTemporality":"AGGREGATION_TEMPORALITY_DELTA",
        "dataPoints":[{"timeUnixNano":"1700000000123456789","asDouble":"NaN"}]}},
      {"name":"h","histogram":{"aggregationTemporality":2,"dataPoints":[{"timeUnixNano":"1700000000123456789",
        "count":3,"sum":"Infinity","bucket_counts":[1,"2"],"explicit_bounds":[0.5]}]}},
      {"name":"bad","gauge":{"dataPoints":[{"timeUnixNano":"soon","asDouble":1}]}}]}]}]})";
    const auto c = convert_json(body);
    const auto& series = c.series;
    CHECK(ids(series) == std::vector<std::string>{"c_total{}", R"(h_bucket{le="0.5"})",
                                                  R"(h_bucket{le="+Inf"})", "h_sum{}",
                                                  "h_count{}"});
    CHECK(series[0].samples.at(0) == std::pair<double, std::int64_t>{5, k_ms});
    CHECK(std::isinf(series[3].samples.at(0).first));
    CHECK(dropped(c.result, prw_conversion_drop::delta_temporality) == 1);
    CHECK(dropped(c.result, prw_conversion_drop::invalid_point) == 1);
    CHECK(c.result.first_drop.find("\"d\"") != std::string::npos);
}

TEST_CASE("the output appends to what is there and a converter is reusable", "[otlp_to_prw]") {
    ob::metric g{"m", ob::metric_kind::gauge, 2, false, false, {number({{"k", "v"}}, 1)}};
    const std::string body = ob::to_protobuf(one_metric(g));
    series_batch batch;
    REQUIRE(decode_otlp_protobuf(body, batch).ok());
    otlp_to_prw_converter conv;
    std::string out;
    prw_conversion_result r;
    const std::vector<std::uint8_t> keep{1};
    REQUIRE(conv.convert(batch, keep, {}, out, r).ok());
    REQUIRE(conv.convert(batch, keep, {}, out, r).ok());
    CHECK(r.series == 1);  // reset per call
    CHECK(ids(parse(out)) == std::vector<std::string>{R"(m{k="v"})", R"(m{k="v"})"});
}

TEST_CASE("caller errors are malformed", "[otlp_to_prw]") {
    otlp_to_prw_converter conv;
    std::string out;
    prw_conversion_result r;
    ob::metric g{"m", ob::metric_kind::gauge, 2, false, false, {number({{"k", "v"}}, 1)}};
    const std::string body = ob::to_protobuf(one_metric(g));
    series_batch batch;
    REQUIRE(decode_otlp_protobuf(body, batch).ok());
    const std::vector<std::uint8_t> keep{1};
    CHECK_FALSE(conv.convert(batch, std::vector<std::uint8_t>{1, 1}, {}, out, r).ok());
    const std::vector<std::uint64_t> bad_mask{0b10};  // the point has one label
    CHECK_FALSE(conv.convert(batch, keep, bad_mask, out, r).ok());

    std::vector<owned_timeseries> ts(1);
    ts[0].labels = {{"__name__", "x"}};
    std::string rw;
    encode_remote_write_v1(ts, {}, rw);
    series_batch rwb;
    REQUIRE(decode_remote_write_v1(rw, rwb).ok());
    const auto st = conv.convert(rwb, keep, {}, out, r);
    CHECK_FALSE(st.ok());
    CHECK(st.error_message().find("not OTLP") != std::string::npos);
}

TEST_CASE("corrupted value fields never break the conversion: every kept point is accounted for",
          "[otlp_to_prw]") {
    // Every kind, then each byte flipped in turn: whatever the decoder still accepts (it checks
    // framing and labels, not values) converts or is dropped with a reason, never anything else.
    ob::metric g{"g", ob::metric_kind::gauge, 2, false, false, {number({{"k", "v"}}, 1)}};
    ob::metric h{"h", ob::metric_kind::histogram, 2, false, false, {}};
    ob::point hp = number({}, 0);
    hp.as_double.reset();
    hp.count = 3;
    hp.sum = 2;
    hp.bounds = {1, 2};
    hp.bucket_counts = {1, 1, 1};
    h.points.push_back(hp);
    ob::metric e{"e", ob::metric_kind::exponential_histogram, 2, false, false, {}};
    ob::point ep = hp;
    ep.bounds.clear();
    ep.bucket_counts.clear();
    ep.scale = 9;
    ep.pos_offset = -3;
    ep.pos_counts = {1, 2};
    ep.neg_counts = {0};
    e.points.push_back(ep);
    ob::metric s{"s", ob::metric_kind::summary, 0, false, false, {}};
    ob::point sp = hp;
    sp.quantiles = {{0.5, 1}, {0.9, 2}};
    s.points.push_back(sp);
    ob::scope sc;
    sc.metrics = {g, h, e, s};
    const std::string body = ob::to_protobuf({ob::resource{{}, {sc}}});
    otlp_to_prw_converter conv;
    std::size_t decoded = 0;
    for (std::size_t i = 0; i < body.size(); ++i) {
        std::string bad = body;
        bad[i] = static_cast<char>(bad[i] ^ 0x5a);
        series_batch batch;
        if (!decode_otlp_protobuf(bad, batch).ok()) continue;
        ++decoded;
        const std::vector<std::uint8_t> keep(batch.size(), 1);
        std::string out;
        prw_conversion_result r;
        INFO("byte " << i);
        REQUIRE(conv.convert(batch, keep, {}, out, r).ok());
        CHECK(r.points_converted + r.points_dropped() == batch.size());
        series_batch back;
        CHECK(decode_remote_write_v1(out, back).ok());
    }
    CHECK(decoded > body.size() / 4);  // the test did reach the converter
}
