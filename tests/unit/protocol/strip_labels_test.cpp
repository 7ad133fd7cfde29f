// Kept series with labels removed (label_limit_action: strip): encode_kept() with strip masks and
// the exporter-facing writers, for every protocol a batch can hold.
#include <algorithm>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "otlp_fixtures.h"
#include "protocol/encode_kept.h"
#include "protocol/otlp.h"
#include "protocol/otlp_builder.h"
#include "protocol/otlp_json.h"
#include "protocol/remote_write.h"
#include "protocol/remote_write_builder.h"
#include "protocol/wire.h"
#include "test_util.h"

using namespace mg::protocol;
using mg::protocol::test::kv;
using mg::protocol::test::otlp_sample;
using mg::protocol::test::series_snapshot;
using mg::protocol::test::snapshot;

namespace {

// The mask that removes the labels called `names` from series i.
std::uint64_t mask_of(const series_batch& b, std::size_t i, std::vector<std::string> names) {
    std::uint64_t m = 0;
    const auto labels = b[i].labels;
    for (const std::string& n : names) {
        bool found = false;
        for (std::size_t j = 0; j < labels.size(); ++j) {
            if (labels[j].name == n) {
                m |= std::uint64_t{1} << j;
                found = true;
            }
        }
        REQUIRE(found);
    }
    return m;
}

// What decoding the output should give: the kept series, without their masked labels.
std::vector<series_snapshot> expected(const series_batch& b, const std::vector<std::uint8_t>& keep,
                                      const std::vector<std::uint64_t>& masks) {
    std::vector<series_snapshot> out;
    const auto all = snapshot(b);
    for (std::size_t i = 0; i < all.size(); ++i) {
        if (keep[i] == 0) continue;
        series_snapshot s = all[i];
        s.labels.clear();
        for (std::size_t j = 0; j < all[i].labels.size(); ++j) {
            if (((masks[i] >> j) & 1U) == 0) s.labels.push_back(all[i].labels[j]);
        }
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<series_snapshot> sorted(std::vector<series_snapshot> v) {
    std::sort(v.begin(), v.end(), [](const series_snapshot& a, const series_snapshot& b) {
        return std::tie(a.name, a.labels, a.samples, a.histograms, a.exemplars) <
               std::tie(b.name, b.labels, b.samples, b.histograms, b.exemplars);
    });
    return v;
}

// The payload of a series' field (the TimeSeries / data point) without the fields numbered
// `skip`: what must survive stripping byte for byte.
std::string fields_except(bytes_view raw, std::uint32_t skip) {
    wire_reader r(raw);
    wire_field f;
    REQUIRE(r.next(f));
    std::string out;
    wire_reader in(f.bytes);
    wire_field g;
    while (in.next(g)) {
        if (g.number != skip) out.append(g.raw);
    }
    return out;
}

// Label names of a 1.0 TimeSeries in wire order.
std::vector<std::string> wire_label_names(bytes_view raw) {
    wire_reader r(raw);
    wire_field f;
    REQUIRE(r.next(f));
    std::vector<std::string> names;
    wire_reader tr(f.bytes);
    wire_field g;
    while (tr.next(g)) {
        if (g.number != 1) continue;
        wire_reader lr(g.bytes);
        wire_field n;
        REQUIRE(lr.next(n));
        names.emplace_back(n.bytes);
    }
    return names;
}

owned_timeseries ts(std::vector<owned_label> labels, std::size_t samples = 1) {
    owned_timeseries t;
    t.labels = std::move(labels);
    for (std::size_t i = 0; i < samples; ++i) {
        t.samples.push_back({1.5 + static_cast<double>(i), 1700000000000 + static_cast<int>(i)});
    }
    return t;
}

std::vector<owned_timeseries> rw_series() {
    std::vector<owned_timeseries> v;
    v.push_back(ts({{"__name__", "http_requests_total"},
                    {"code", "200"},
                    {"job", "api"},
                    {"request_id", "r-1"}},
                   2));
    v.push_back(ts({{"__name__", "http_requests_total"}, {"code", "500"}, {"job", "api"}}));
    auto h = ts({{"__name__", "latency"}, {"le", "native"}, {"pod", "p-77"}}, 0);
    h.histograms.push_back({10, 2.5, 3, 1700000000000});
    h.exemplars.push_back({{{"trace_id", "abc"}}, 1.5, 1700000000001});
    h.metadata_type = 3;
    h.unit = "seconds";
    v.push_back(h);
    // Unsorted on the wire.
    v.push_back(ts({{"zone", "eu"}, {"pod", "p-9"}, {"__name__", "up"}, {"Alpha", "1"}}, 3));
    // Same as the first but for request_id: identical once it is stripped from both.
    v.push_back(ts({{"__name__", "http_requests_total"},
                    {"code", "200"},
                    {"job", "api"},
                    {"request_id", "r-2"}}));
    return v;
}

}  // namespace

TEST_CASE("strip: remote write 1.0", "[strip][remote_write]") {
    std::string body;
    encode_remote_write_v1(
        rw_series(), std::vector<owned_metadata>{{1, "http_requests_total", "Req.", ""}}, body);
    series_batch b;
    REQUIRE(decode_remote_write_v1(body, b).ok());
    REQUIRE(b.size() == 5);
    REQUIRE(b.entry(3).wire_labels_unsorted);
    const std::vector<std::uint8_t> keep{1, 1, 1, 1, 1};
    std::vector<std::uint64_t> masks{mask_of(b, 0, {"request_id"}), 0, mask_of(b, 2, {"pod"}),
                                     mask_of(b, 3, {"pod"}), mask_of(b, 4, {"request_id"})};
    std::string out;
    REQUIRE(encode_kept(b, keep, masks, out).ok());
    series_batch got;
    REQUIRE(decode_remote_write_v1(out, got).ok());
    REQUIRE(got.size() == 5);
    CHECK(snapshot(got) == expected(b, keep, masks));

    SECTION("unmasked series are copied byte for byte, stripped ones keep every other field") {
        CHECK(got.entry(1).raw == b.entry(1).raw);
        for (std::size_t i : {0, 2, 3, 4}) {
            INFO(i);
            CHECK(fields_except(got.entry(i).raw, 1) == fields_except(b.entry(i).raw, 1));
        }
        CHECK(out.find("Req.") != std::string::npos);  // metadata
        CHECK(out.find("r-1") == std::string::npos);
        CHECK(out.find("p-77") == std::string::npos);
        CHECK(out.find("abc") != std::string::npos);  // exemplar labels are not series labels
    }
    SECTION("unsorted input comes out sorted, matched by name not by wire position") {
        CHECK(wire_label_names(got.entry(3).raw) ==
              std::vector<std::string>{"Alpha", "__name__", "zone"});
        CHECK(got[3].samples == 3);
        CHECK_FALSE(got.any_labels_unsorted());
    }
    SECTION("series identical after stripping are both forwarded") {
        CHECK(snapshot(got)[0].labels == snapshot(got)[4].labels);
        CHECK(got[0].samples == 2);
        CHECK(got[4].samples == 1);
    }
    SECTION("without masks, or with all-zero masks, the bytes are the unmasked encoding") {
        std::string plain, none, zero;
        REQUIRE(encode_kept(b, keep, plain).ok());
        REQUIRE(encode_kept(b, keep, std::span<const std::uint64_t>{}, none).ok());
        REQUIRE(encode_kept(b, keep, std::vector<std::uint64_t>(5, 0), zero).ok());
        CHECK(none == plain);
        CHECK(zero == plain);
    }
    SECTION("the writer the exporter uses takes the mask per series") {
        std::string w_out;
        remote_write_v1_writer w(w_out);
        for (std::size_t i = 0; i < b.size(); ++i) REQUIRE(w.add_series(b, i, masks[i]).ok());
        w.add_metadata(b);
        CHECK(w_out == out);
    }
    SECTION("a dropped series' mask is ignored") {
        const std::vector<std::uint8_t> some{1, 1, 0, 1, 0};
        REQUIRE(encode_kept(b, some, masks, out).ok());
        REQUIRE(decode_remote_write_v1(out, got).ok());
        CHECK(snapshot(got) == expected(b, some, masks));
    }
    SECTION("errors") {
        CHECK(encode_kept(b, keep, std::vector<std::uint64_t>(4, 0), out).code() ==
              errc::malformed);
        masks[1] = std::uint64_t{1} << 2;  // series 1 has two labels
        auto s = encode_kept(b, keep, masks, out);
        CHECK(s.code() == errc::malformed);
        CHECK_THAT(s.error_message(), Catch::Contains("series 1 selects label 2"));
        std::string w_out;
        remote_write_v1_writer w(w_out);
        CHECK_FALSE(w.add_series(b, 1, masks[1]).ok());
    }
}

TEST_CASE("strip: remote write 2.0, and converted to 1.0", "[strip][remote_write_v2]") {
    std::string body;
    encode_remote_write_v2(rw_series(), body);
    series_batch b;
    REQUIRE(decode_remote_write_v2(body, b).ok());
    REQUIRE(b.size() == 5);
    const std::vector<std::uint8_t> keep{1, 1, 1, 1, 1};
    const std::vector<std::uint64_t> masks{mask_of(b, 0, {"request_id"}), 0,
                                           mask_of(b, 2, {"pod", "le"}), mask_of(b, 3, {"pod"}),
                                           mask_of(b, 4, {"request_id"})};
    SECTION("2.0 output: refs dropped, unused symbols gone") {
        std::string out;
        REQUIRE(encode_kept(b, keep, masks, out).ok());
        series_batch got;
        REQUIRE(decode_remote_write_v2(out, got).ok());
        CHECK(snapshot(got) == expected(b, keep, masks));
        CHECK(snapshot(got)[0].labels == snapshot(got)[4].labels);  // both forwarded
        for (const char* gone : {"request_id", "r-1", "r-2", "pod", "p-77", "p-9", "native"}) {
            INFO(gone);
            CHECK(std::find(got.symbols().begin(), got.symbols().end(), gone) ==
                  got.symbols().end());
        }
        // Still used: by a kept label, an exemplar, metadata.
        for (const char* kept : {"job", "zone", "trace_id", "seconds"}) {
            INFO(kept);
            CHECK(std::find(got.symbols().begin(), got.symbols().end(), kept) !=
                  got.symbols().end());
        }
        // Samples, histograms and the rest are copied raw (labels_refs is field 1).
        for (std::size_t i = 0; i < b.size(); ++i) {
            INFO(i);
            const std::string a = fields_except(got.entry(i).raw, 1);
            const std::string e = fields_except(b.entry(i).raw, 1);
            if (i == 2) {
                CHECK(got[i].histograms == 1);  // exemplar/metadata refs are renumbered
            } else {
                CHECK(a == e);
            }
        }
        std::string plain, zero;
        REQUIRE(encode_kept(b, keep, plain).ok());
        REQUIRE(encode_kept(b, keep, std::vector<std::uint64_t>(5, 0), zero).ok());
        CHECK(zero == plain);
    }
    SECTION("a label used by another kept series keeps its symbol") {
        // Strip job from series 0 only: series 1 still has job="api".
        std::vector<std::uint64_t> m(5, 0);
        m[0] = mask_of(b, 0, {"job", "request_id"});
        std::string out;
        REQUIRE(encode_kept(b, keep, m, out).ok());
        series_batch got;
        REQUIRE(decode_remote_write_v2(out, got).ok());
        CHECK(snapshot(got) == expected(b, keep, m));
        CHECK(std::find(got.symbols().begin(), got.symbols().end(), "api") != got.symbols().end());
    }
    SECTION("the 2.0 writer takes the mask per series") {
        remote_write_v2_writer w;
        for (std::size_t i = 0; i < b.size(); ++i) REQUIRE(w.add_series(b, i, masks[i]).ok());
        std::string out, direct;
        w.finish(out);
        REQUIRE(encode_remote_write_v2_subset(b, keep, masks, direct).ok());
        CHECK(out == direct);
    }
    SECTION("converted to 1.0 (the exporter's path for 2.0 input)") {
        std::string v1;
        REQUIRE(encode_remote_write_v1_subset(b, keep, masks, v1).ok());
        series_batch got;
        REQUIRE(decode_remote_write_v1(v1, got).ok());
        CHECK(snapshot(got) == expected(b, keep, masks));
        CHECK(v1.find("p-77") == std::string::npos);
        CHECK(v1.find("trace_id") != std::string::npos);
        std::string w_out;
        remote_write_v1_writer w(w_out);
        for (std::size_t i = 0; i < b.size(); ++i) REQUIRE(w.add_series(b, i, masks[i]).ok());
        CHECK(w_out == v1);
    }
}

namespace {

// otlp_fixtures.h plus a metric whose two points differ only by `conn` (identical once it is
// stripped) and whose point attributes are unsorted on the wire. Points: resource 0
// {service.name, host.name, env=prod} / scope 0 {name, version, lib.flag}: 0-1 queue_depth
// (0 has env=staging), 2 requests, 3 latency, 4 size, 5 gc, 6-7 open_conns; resource 0 / an
// empty scope: 8; resource 1 / scope "x": 9.
std::vector<otlp_resource> otlp_strip_sample() {
    auto res = otlp_sample();
    otlp_metric dup{"open_conns", "", "", metric_kind::gauge, {}};
    dup.points.push_back({{kv("zz", "1"), kv("conn", "c1"), kv("a", "x")}, 8, 2000, 0});
    dup.points.push_back({{kv("zz", "1"), kv("conn", "c2"), kv("a", "x")}, 9, 2000, 0});
    res[0].scopes[0].metrics.push_back(dup);
    return res;
}

struct otlp_case {
    const char* what;
    // (point index, label names to remove)
    std::vector<std::pair<std::size_t, std::vector<std::string>>> strip;
    std::size_t resources;  // ResourceMetrics in the output
    std::size_t scopes;     // ScopeMetrics in the output
};

std::vector<otlp_case> otlp_cases() {
    return {
        {"point attributes only: no split", {{1, {"queue"}}, {6, {"conn"}}, {7, {"conn"}}}, 2, 3},
        // env is a point attribute (staging) shadowing the resource's (prod): both go, else prod
        // would surface. The resource is split for point 0; its scope is copied with it.
        {"point attribute shadowing a resource attribute", {{0, {"env", "queue"}}}, 3, 4},
        {"resource attribute for some points: the resource is split",
         {{0, {"host.name"}}, {3, {"host.name", "route"}}, {4, {"service.name"}}},
         4,
         5},
        {"resource attribute for all its points: one copy",
         {{0, {"host.name"}},
          {1, {"host.name"}},
          {2, {"host.name"}},
          {3, {"host.name"}},
          {4, {"host.name"}},
          {5, {"host.name"}},
          {6, {"host.name"}},
          {7, {"host.name"}},
          {8, {"host.name"}}},  // 9 is under the other resource
         2,
         3},
        {"scope name, version and attribute: the scope is split",
         {{2, {"otel_scope_name", "lib.flag"}},
          {4, {"otel_scope_version"}},
          {9, {"otel_scope_name"}}},
         2,
         5},
        {"series identical after stripping are both forwarded",
         {{6, {"conn"}}, {7, {"conn"}}},
         2,
         3},
    };
}

std::size_t count_fields(bytes_view body, std::uint32_t outer, std::uint32_t inner) {
    std::size_t n = 0;
    wire_reader r(body);
    wire_field f;
    while (r.next(f)) {
        if (f.number != outer) continue;
        wire_reader rr(f.bytes);
        wire_field g;
        while (rr.next(g)) n += g.number == inner ? 1 : 0;
    }
    return n;
}

std::uint32_t point_attributes_field(metric_kind k) {
    return k == metric_kind::histogram ? 9 : k == metric_kind::exponential_histogram ? 1 : 7;
}

}  // namespace

TEST_CASE("strip: OTLP protobuf", "[strip][otlp]") {
    std::string body;
    encode_otlp_protobuf(otlp_strip_sample(), body);
    series_batch b;
    REQUIRE(decode_otlp_protobuf(body, b).ok());
    REQUIRE(b.size() == 10);
    std::vector<std::uint8_t> keep(b.size(), 1);
    keep[5] = 0;  // dropped: its mask is ignored
    for (const otlp_case& c : otlp_cases()) {
        INFO(c.what);
        std::vector<std::uint64_t> masks(b.size(), 0);
        for (const auto& [i, names] : c.strip) masks[i] = mask_of(b, i, names);
        std::string out;
        REQUIRE(encode_kept(b, keep, masks, out).ok());
        series_batch got;
        REQUIRE(decode_otlp_protobuf(out, got).ok());
        CHECK(sorted(snapshot(got)) == sorted(expected(b, keep, masks)));
        std::size_t resources = 0;
        {
            wire_reader r(out);
            wire_field f;
            while (r.next(f)) resources += f.number == 1 ? 1 : 0;
        }
        CHECK(resources == c.resources);
        CHECK(count_fields(out, 1, 2) == c.scopes);
        // Unmasked points are copied byte for byte; stripped points keep every non-attribute
        // field byte for byte (values, timestamps, exemplars, buckets).
        std::vector<std::string> in_points, out_points;
        for (std::size_t i = 0; i < b.size(); ++i) {
            if (keep[i] == 0) continue;
            const std::uint32_t attrs = point_attributes_field(b[i].kind);
            in_points.push_back(fields_except(b.entry(i).raw, attrs));
            if (masks[i] == 0) CHECK(out.find(b.entry(i).raw) != std::string::npos);
        }
        for (std::size_t i = 0; i < got.size(); ++i) {
            out_points.push_back(
                fields_except(got.entry(i).raw, point_attributes_field(got[i].kind)));
        }
        std::sort(in_points.begin(), in_points.end());
        std::sort(out_points.begin(), out_points.end());
        CHECK(in_points == out_points);
    }
    SECTION("a resource nobody strips from is byte-identical to the unmasked encoding") {
        std::vector<std::uint64_t> masks(b.size(), 0);
        masks[0] = mask_of(b, 0, {"host.name"});
        std::string out, plain;
        REQUIRE(encode_kept(b, keep, masks, out).ok());
        REQUIRE(encode_kept(b, keep, plain).ok());
        wire_reader r(plain);
        wire_field f;
        bytes_view last;
        while (r.next(f)) last = f.raw;  // the second resource (service.name=billing)
        CHECK(out.size() > last.size());
        CHECK(out.substr(out.size() - last.size()) == last);
        std::string zero;
        REQUIRE(encode_kept(b, keep, std::vector<std::uint64_t>(b.size(), 0), zero).ok());
        CHECK(zero == plain);
    }
    SECTION("bad masks") {
        std::string out;
        CHECK(encode_kept(b, keep, std::vector<std::uint64_t>(3, 0), out).code() ==
              errc::malformed);
        std::vector<std::uint64_t> masks(b.size(), 0);
        masks[9] = ~std::uint64_t{0};
        CHECK(encode_otlp_protobuf_subset(b, keep, masks, out).code() == errc::malformed);
    }
}

TEST_CASE("strip: OTLP/JSON", "[strip][otlp_json]") {
    const auto sample = otlp_strip_sample();
    const std::string body = encode_otlp_json(sample);
    otlp_json_document doc;
    series_batch b;
    REQUIRE(decode_otlp_json(body, doc, b).ok());
    REQUIRE(b.size() == 10);
    std::string pb;
    encode_otlp_protobuf(sample, pb);
    series_batch bp;
    REQUIRE(decode_otlp_protobuf(pb, bp).ok());
    std::vector<std::uint8_t> keep(b.size(), 1);
    keep[5] = 0;
    // Points without their attributes: what must survive stripping unchanged.
    auto points_of = [](const std::string& js) {
        std::vector<std::string> pts;
        const auto root = nlohmann::json::parse(js);
        for (const auto& rm : root["resourceMetrics"]) {
            for (const auto& sm : rm["scopeMetrics"]) {
                for (const auto& m : sm["metrics"]) {
                    for (const auto& [k, data] : m.items()) {
                        if (!data.is_object() || !data.contains("dataPoints")) continue;
                        for (auto p : data["dataPoints"]) {
                            p.erase("attributes");
                            pts.push_back(m["name"].dump() + p.dump());
                        }
                    }
                }
            }
        }
        std::sort(pts.begin(), pts.end());
        return pts;
    };
    std::string plain;
    REQUIRE(encode_kept(b, keep, plain).ok());
    for (const otlp_case& c : otlp_cases()) {
        INFO(c.what);
        std::vector<std::uint64_t> masks(b.size(), 0);
        for (const auto& [i, names] : c.strip) masks[i] = mask_of(b, i, names);
        std::string out;
        REQUIRE(encode_kept(b, keep, masks, out).ok());
        otlp_json_document doc2;
        series_batch got;
        REQUIRE(decode_otlp_json(out, doc2, got).ok());
        CHECK(sorted(snapshot(got)) == sorted(expected(b, keep, masks)));
        const auto root = nlohmann::json::parse(out);
        CHECK(root["resourceMetrics"].size() == c.resources);
        std::size_t scopes = 0;
        for (const auto& rm : root["resourceMetrics"]) scopes += rm["scopeMetrics"].size();
        CHECK(scopes == c.scopes);
        CHECK(points_of(out) == points_of(plain));
        // Same result as the protobuf encoder.
        std::string pb_out;
        REQUIRE(encode_kept(bp, keep, masks, pb_out).ok());
        series_batch got_pb;
        REQUIRE(decode_otlp_protobuf(pb_out, got_pb).ok());
        CHECK(snapshot(got_pb) == snapshot(got));
    }
    SECTION("untouched resources serialize as without masks; zero masks are the old path") {
        std::vector<std::uint64_t> masks(b.size(), 0);
        masks[1] = mask_of(b, 1, {"queue"});
        std::string out;
        REQUIRE(encode_kept(b, keep, masks, out).ok());
        const auto got = nlohmann::json::parse(out);
        const auto want = nlohmann::json::parse(plain);
        CHECK(got["resourceMetrics"][1] == want["resourceMetrics"][1]);
        std::string zero;
        REQUIRE(encode_kept(b, keep, std::vector<std::uint64_t>(b.size(), 0), zero).ok());
        CHECK(zero == plain);
    }
}
