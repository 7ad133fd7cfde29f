// The ingest receiver (src/ingest/receiver.h) against a fake governor and a fake exporter (its
// ports): the status of every answer, that a refused request admits nothing, and what an
// accepted one hands over and counts.
#include "ingest/receiver.h"

#include <prometheus/registry.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ingest/ports.h"
#include "protocol/compression.h"
#include "protocol/remote_write.h"
#include "protocol/remote_write_builder.h"
#include "shared/otlp_builder.h"

namespace {

namespace ex = mg::exporter;
namespace lim = mg::limits;
namespace pr = mg::protocol;
namespace bhttp = mg::http::bhttp;

// Keeps every series but those of the metrics in `drop`; records what it was asked.
class fake_governor final : public mg::ingest::governor_port {
  public:
    void note_rejected(lim::drop_reason reason, std::uint64_t series,
                       std::uint64_t datapoints) override {
        ++note_calls;
        if (series == 0) return;
        rejected[reason] += series;
        rejected_points += datapoints;
    }
    void decide(std::span<const lim::series_ref> series, std::span<lim::decision> out) override {
        ++decide_calls;
        for (std::size_t i = 0; i < series.size(); ++i) {
            decided.emplace_back(series[i].metric_name);
            out[i] = {};
            if (drop.count(std::string(series[i].metric_name)) != 0) {
                out[i].keep = false;
                out[i].reason = lim::drop_reason::cardinality_limit;
            }
        }
    }

    std::set<std::string> drop;
    int decide_calls = 0;
    int note_calls = 0;
    std::vector<std::string> decided;
    std::map<lim::drop_reason, std::uint64_t> rejected;
    std::uint64_t rejected_points = 0;
};

// Answers as told; records what the receiver handed over.
class fake_exporter final : public mg::ingest::exporter_port {
  public:
    mg::status check_source(pr::source_protocol) const override { return source; }
    ex::submit_status reserve(std::uint64_t bytes, ex::reservation&) override {
        ++reserve_calls;
        reserved_bytes = bytes;
        return reserve_answer;
    }
    std::chrono::seconds retry_after_hint() const override { return std::chrono::seconds(7); }
    // Records what the receiver reports and, like the exporter, says no when a series was
    // dropped or a label stripped (the protocol and shard checks are the exporter's own tests').
    bool can_forward_raw(const pr::series_batch&, std::span<const std::uint8_t> keep,
                         std::span<const std::uint64_t> strip) const override {
        asked_keep.assign(keep.begin(), keep.end());
        asked_strip.assign(strip.begin(), strip.end());
        const auto zero = [](auto v) { return v == 0; };
        return forward_raw && std::none_of(keep.begin(), keep.end(), zero) &&
               std::all_of(strip.begin(), strip.end(), zero);
    }
    ex::submit_status submit_raw(std::string body, const pr::series_batch&, ex::body_encoding enc,
                                 std::uint32_t series, std::uint64_t points,
                                 ex::reservation*) override {
        raw_bodies.push_back(std::move(body));
        raw_encoding = enc;
        raw_series = series;
        raw_points = points;
        return raw_answer;
    }
    ex::submit_status submit(const pr::series_batch& batch, std::span<const std::uint8_t> keep,
                             std::span<const std::uint64_t>, ex::submit_details&,
                             ex::reservation*) override {
        ++submit_calls;
        submitted.clear();
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (keep[i] != 0) submitted.emplace_back(batch[i].metric_name);
        }
        return submit_answer;
    }

    mg::status source;
    ex::submit_status reserve_answer = ex::submit_status::accepted;
    ex::submit_status raw_answer = ex::submit_status::accepted;
    ex::submit_status submit_answer = ex::submit_status::accepted;
    bool forward_raw = false;
    mutable std::vector<std::uint8_t> asked_keep;
    mutable std::vector<std::uint64_t> asked_strip;
    int reserve_calls = 0;
    std::uint64_t reserved_bytes = 0;
    std::vector<std::string> raw_bodies;
    ex::body_encoding raw_encoding = ex::body_encoding::identity;
    std::uint32_t raw_series = 0;
    std::uint64_t raw_points = 0;
    int submit_calls = 0;
    std::vector<std::string> submitted;
};

struct fixture {
    fixture() : receiver(options, governor, exporter, registry) {}

    double metric(const std::string& name, const std::map<std::string, std::string>& labels) {
        for (const auto& fam : registry.Collect()) {
            if (fam.name != name) continue;
            for (const auto& m : fam.metric) {
                std::map<std::string, std::string> got;
                for (const auto& l : m.label) got[l.name] = l.value;
                if (got == labels)
                    return fam.type == prometheus::MetricType::Histogram
                               ? static_cast<double>(m.histogram.sample_count)
                               : m.counter.value;
            }
        }
        return 0;
    }
    double requests(const std::string& protocol, int code) {
        return metric("metrics_governor_requests_total",
                      {{"protocol", protocol}, {"code", std::to_string(code)}});
    }
    // Refused before any room was reserved, so before anything was admitted.
    bool refused_before_reserving() const {
        return exporter.reserve_calls == 0 && nothing_admitted();
    }
    // Nothing reached the governor or was taken by the exporter.
    bool nothing_admitted() const {
        return governor.decide_calls == 0 && governor.note_calls == 0 &&
               exporter.submit_calls == 0 && exporter.raw_bodies.empty();
    }

    mg::ingest::receiver_options options{.max_body_size = 1 << 20, .max_labels_per_series = 4};
    prometheus::Registry registry;
    fake_governor governor;
    fake_exporter exporter;
    mg::ingest::receiver receiver;
};

// Remote write 1.0 (or 2.0): each name a series {__name__, job} with two samples.
std::string remote_write(const std::vector<std::string>& names, bool v2 = false,
                         int extra_labels = 0) {
    std::vector<pr::owned_timeseries> ts;
    for (const auto& n : names) {
        pr::owned_timeseries t;
        t.labels = {{"__name__", n}, {"job", "test"}};
        for (int i = 0; i < extra_labels; ++i) t.labels.push_back({"l" + std::to_string(i), "v"});
        t.samples = {{1.0, 1000}, {2.0, 2000}};
        ts.push_back(std::move(t));
    }
    std::string body;
    if (v2) {
        pr::encode_remote_write_v2(ts, body);
    } else {
        pr::encode_remote_write_v1(ts, {}, body);
    }
    return body;
}

std::string snappy(const std::string& raw) {
    std::string out;
    pr::snappy_encode(pr::bytes_view(raw.data(), raw.size()), out);
    return out;
}

mg::http::request post(const std::string& target, const std::string& content_type,
                       const std::string& encoding, std::string body) {
    mg::http::request req{bhttp::verb::post, target, 11};
    if (!content_type.empty()) req.set(bhttp::field::content_type, content_type);
    if (!encoding.empty()) req.set(bhttp::field::content_encoding, encoding);
    req.body() = std::move(body);
    req.prepare_payload();
    return req;
}

mg::http::request rw_post(std::string body,
                          const std::string& content_type = "application/x-protobuf",
                          const std::string& encoding = "snappy") {
    return post("/api/v1/write", content_type, encoding, std::move(body));
}

// OTLP with one gauge metric per name, one point each.
std::string otlp(const std::vector<std::string>& names, bool json) {
    namespace ob = mg::test::otlp;
    ob::scope sc;
    for (const auto& n : names) {
        ob::metric m;
        m.name = n;
        ob::point p;
        p.attrs = {{"job", "test"}};
        p.time_ns = 1'000'000'000;
        p.as_double = 1.5;
        m.points.push_back(p);
        sc.metrics.push_back(std::move(m));
    }
    ob::resource r;
    r.scopes.push_back(std::move(sc));
    return json ? ob::to_json({r}) : ob::to_protobuf({r});
}

std::string gzip(const std::string& raw) {
    std::string out;
    REQUIRE(pr::gzip_encode(pr::bytes_view(raw.data(), raw.size()), 1, out).ok());
    return out;
}

}  // namespace

TEST_CASE("remote write: a wrong content type or encoding is 415, before anything is decoded",
          "[ingest][receiver]") {
    fixture f;
    const auto body = snappy(remote_write({"a"}));
    CHECK(f.receiver.handle_remote_write(rw_post(body, "application/json")).result() ==
          bhttp::status::unsupported_media_type);
    CHECK(
        f.receiver.handle_remote_write(rw_post(body, "application/x-protobuf;proto=something.Else"))
            .result() == bhttp::status::unsupported_media_type);
    const auto gz = f.receiver.handle_remote_write(rw_post(body, "application/x-protobuf", "gzip"));
    CHECK(gz.result() == bhttp::status::unsupported_media_type);
    CHECK_THAT(gz.body(), Catch::Contains("remote write wants snappy"));
    CHECK(f.requests("unknown", 415) == 2);  // the protocol is not known yet
    CHECK(f.requests("remote_write_v1", 415) == 1);
    CHECK(f.refused_before_reserving());
}

TEST_CASE("remote write: bad snappy or a bad protobuf is 400, a body too large once inflated 413",
          "[ingest][receiver]") {
    fixture f;
    const auto bad_snappy = f.receiver.handle_remote_write(rw_post("\x05\xff\xff not snappy"));
    CHECK(bad_snappy.result() == bhttp::status::bad_request);
    CHECK_THAT(bad_snappy.body(), Catch::Contains("snappy"));

    const auto bad_proto =
        f.receiver.handle_remote_write(rw_post(snappy("\x0a\x05\x0a")));  // truncated
    CHECK(bad_proto.result() == bhttp::status::bad_request);

    prometheus::Registry small_registry;
    mg::ingest::receiver small({.max_body_size = 16}, f.governor, f.exporter, small_registry);
    const auto big = small.handle_remote_write(rw_post(snappy(remote_write({"a", "b", "c"}))));
    CHECK(big.result() == bhttp::status::payload_too_large);

    CHECK(f.requests("remote_write_v1", 400) == 2);
    CHECK(f.metric("metrics_governor_datapoints_received_total",
                   {{"protocol", "remote_write_v1"}}) == 0);
    CHECK(f.refused_before_reserving());
}

TEST_CASE("OTLP: wrong content type or encoding is 415, bad gzip, protobuf or JSON 400",
          "[ingest][receiver]") {
    fixture f;
    const auto pb = otlp({"a"}, false);
    const auto otlp_post = [&](const std::string& ct, const std::string& enc, std::string body) {
        return f.receiver.handle_otlp(post("/v1/metrics", ct, enc, std::move(body)));
    };
    CHECK(otlp_post("text/plain", "", pb).result() == bhttp::status::unsupported_media_type);
    CHECK(otlp_post("application/x-protobuf", "br", pb).result() ==
          bhttp::status::unsupported_media_type);
    const auto bad_gzip = otlp_post("application/x-protobuf", "gzip", "not gzip at all");
    CHECK(bad_gzip.result() == bhttp::status::bad_request);
    CHECK_THAT(bad_gzip.body(), Catch::Contains("gzip"));
    CHECK(otlp_post("application/x-protobuf", "", "\x0a\x7f\x01").result() ==
          bhttp::status::bad_request);
    CHECK(otlp_post("application/json", "", "{\"resourceMetrics\": [").result() ==
          bhttp::status::bad_request);
    CHECK(otlp_post("application/json", "identity", "[]").result() == bhttp::status::bad_request);
    CHECK(f.requests("unknown", 415) == 1);
    CHECK(f.requests("otlp_protobuf", 415) == 1);
    CHECK(f.requests("otlp_protobuf", 400) == 2);
    CHECK(f.requests("otlp_json", 400) == 2);
    CHECK(f.refused_before_reserving());
}

TEST_CASE("a full export queue is 429 with Retry-After, shutting down 503: nothing admitted",
          "[ingest][receiver]") {
    fixture f;
    const auto body = snappy(remote_write({"a", "b"}));
    SECTION("reservation refused: queue full") {
        f.exporter.reserve_answer = ex::submit_status::queue_full;
        const auto res = f.receiver.handle_remote_write(rw_post(body));
        CHECK(res.result() == bhttp::status::too_many_requests);
        CHECK(res[bhttp::field::retry_after] == "7");
        CHECK(f.requests("remote_write_v1", 429) == 1);
        CHECK(f.metric("metrics_governor_datapoints_refused_total",
                       {{"protocol", "remote_write_v1"}, {"reason", "queue_full"}}) == 4);
        // Decoded and counted as received, but refused before the governor saw a series.
        CHECK(f.metric("metrics_governor_series_received_total",
                       {{"protocol", "remote_write_v1"}}) == 2);
    }
    SECTION("reservation refused: shutting down") {
        f.exporter.reserve_answer = ex::submit_status::closed;
        const auto res =
            f.receiver.handle_otlp(post("/v1/metrics", "application/json", "", otlp({"a"}, true)));
        CHECK(res.result() == bhttp::status::service_unavailable);
        CHECK(f.requests("otlp_json", 503) == 1);
        CHECK(f.metric("metrics_governor_datapoints_refused_total",
                       {{"protocol", "otlp_json"}, {"reason", "shutting_down"}}) == 1);
    }
    SECTION("an input the exporter cannot send: 415 with its reason, no reservation") {
        f.exporter.source = mg::make_error("remote write cannot be exported as OTLP");
        const auto res = f.receiver.handle_remote_write(rw_post(body));
        CHECK(res.result() == bhttp::status::unsupported_media_type);
        CHECK_THAT(res.body(), Catch::Contains("cannot be exported as OTLP"));
        CHECK(f.exporter.reserve_calls == 0);
    }
    // The governor never saw a series, so what the sender retries is decided afresh.
    CHECK(f.nothing_admitted());
}

TEST_CASE("an exporter refusing the governed series answers 429 and counts the kept points refused",
          "[ingest][receiver]") {
    fixture f;
    f.exporter.submit_answer = ex::submit_status::queue_full;
    f.governor.drop = {"b"};
    const auto res = f.receiver.handle_remote_write(rw_post(snappy(remote_write({"a", "b"}))));
    CHECK(res.result() == bhttp::status::too_many_requests);
    CHECK(res[bhttp::field::retry_after] == "7");
    CHECK(f.metric("metrics_governor_datapoints_refused_total",
                   {{"protocol", "remote_write_v1"}, {"reason", "queue_full"}}) == 2);
}

TEST_CASE("accepted remote write: unchanged requests are forwarded raw, with their counts",
          "[ingest][receiver]") {
    fixture f;
    f.exporter.forward_raw = true;
    const auto body = snappy(remote_write({"a", "b", "c"}));
    const auto res =
        f.receiver.handle_remote_write(rw_post(body, "application/x-protobuf", "Snappy"));
    CHECK(res.result() == bhttp::status::no_content);
    CHECK(f.exporter.reserve_calls == 1);
    CHECK(f.exporter.reserved_bytes >
          remote_write({"a", "b", "c"}).size());  // decoded size + headroom
    REQUIRE(f.exporter.raw_bodies.size() == 1);
    CHECK(f.exporter.raw_bodies[0] == body);  // the sender's own bytes
    CHECK(f.exporter.raw_encoding == ex::body_encoding::snappy);
    CHECK(f.exporter.raw_series == 3);
    CHECK(f.exporter.raw_points == 6);
    CHECK(f.exporter.submit_calls == 0);
    CHECK(f.exporter.asked_keep == std::vector<std::uint8_t>{1, 1, 1});
    CHECK(f.exporter.asked_strip == std::vector<std::uint64_t>{0, 0, 0});
    CHECK(f.governor.decided == std::vector<std::string>{"a", "b", "c"});
    CHECK(f.requests("remote_write_v1", 204) == 1);
    CHECK(f.metric("metrics_governor_datapoints_received_total",
                   {{"protocol", "remote_write_v1"}}) == 6);
    CHECK(f.metric("metrics_governor_series_received_total", {{"protocol", "remote_write_v1"}}) ==
          3);
    CHECK(f.metric("metrics_governor_request_duration_seconds",
                   {{"protocol", "remote_write_v1"}}) == 1);
}

TEST_CASE("accepted remote write: drops and complexity limits leave the kept series for submit",
          "[ingest][receiver]") {
    fixture f;
    f.exporter.forward_raw = true;  // not taken: something was dropped
    f.governor.drop = {"b"};
    std::string raw = remote_write({"a", "b", "c"});
    std::string wide = remote_write({"wide"}, false, 5);  // 7 labels with __name__ and job: over 4
    // Two WriteRequests concatenated are one with all their series (repeated field).
    const auto res = f.receiver.handle_remote_write(rw_post(snappy(raw + wide)));
    CHECK(res.result() == bhttp::status::no_content);
    CHECK(f.exporter.asked_keep == std::vector<std::uint8_t>{1, 0, 1, 0});  // a, b, c, wide
    CHECK(f.exporter.raw_bodies.empty());
    CHECK(f.exporter.submit_calls == 1);
    CHECK(f.exporter.submitted == std::vector<std::string>{"a", "c"});
    CHECK(f.governor.decided ==
          std::vector<std::string>{"a", "b", "c"});  // "wide" never reached it
    CHECK(f.governor.rejected[lim::drop_reason::too_many_labels] == 1);
    CHECK(f.governor.rejected_points == 2);
}

TEST_CASE(
    "accepted remote write 2.0 reports what was written, also when all was dropped (nothing "
    "submitted)",
    "[ingest][receiver]") {
    fixture f;
    const auto v2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request";
    auto res = f.receiver.handle_remote_write(rw_post(snappy(remote_write({"a", "b"}, true)), v2));
    CHECK(res.result() == bhttp::status::no_content);
    CHECK(res["X-Prometheus-Remote-Write-Samples-Written"] == "4");
    CHECK(f.exporter.submitted == std::vector<std::string>{"a", "b"});
    CHECK(f.requests("remote_write_v2", 204) == 1);

    f.governor.drop = {"a", "b"};
    res = f.receiver.handle_remote_write(rw_post(snappy(remote_write({"a", "b"}, true)), v2));
    CHECK(res.result() == bhttp::status::no_content);
    CHECK(res["X-Prometheus-Remote-Write-Samples-Written"] == "0");
    CHECK(f.exporter.submit_calls == 1);  // the first request only
}

TEST_CASE("accepted OTLP: 200 with the governor's drops in partial_success", "[ingest][receiver]") {
    fixture f;
    f.governor.drop = {"b"};
    SECTION("JSON") {
        const auto res = f.receiver.handle_otlp(
            post("/v1/metrics", "application/json", "", otlp({"a", "b"}, true)));
        CHECK(res.result() == bhttp::status::ok);
        CHECK_THAT(res.body(), Catch::Contains("\"rejectedDataPoints\":\"1\""));
        CHECK_THAT(res.body(), Catch::Contains("dropped by metrics-governor limits"));
        CHECK(f.requests("otlp_json", 200) == 1);
    }
    SECTION("protobuf, gzip") {
        const auto res = f.receiver.handle_otlp(
            post("/v1/metrics", "application/x-protobuf", "gzip", gzip(otlp({"a", "b"}, false))));
        CHECK(res.result() == bhttp::status::ok);
        CHECK(res[bhttp::field::content_type] == "application/x-protobuf");
        CHECK(f.requests("otlp_protobuf", 200) == 1);
    }
    CHECK(f.exporter.submitted == std::vector<std::string>{"a"});
    CHECK(f.governor.decided == std::vector<std::string>{"a", "b"});
}

namespace {

// Cluster mode's governor: decides like fake_governor, but answers only when released.
class deferred_governor final : public mg::ingest::governor_port {
  public:
    void note_rejected(lim::drop_reason r, std::uint64_t s, std::uint64_t p) override {
        inner.note_rejected(r, s, p);
    }
    void decide(std::span<const lim::series_ref> s, std::span<lim::decision> out) override {
        inner.decide(s, out);
    }
    bool asynchronous() const override { return true; }
    void decide_async(std::span<const lim::series_ref> s, std::span<lim::decision> out,
                      std::function<void()> done) override {
        // Decided now, answered later: the receiver must keep `s`, `out` and the request alive.
        pending.push_back([this, s, out, done = std::move(done)] {
            inner.decide(s, out);
            done();
        });
    }
    void release_all() {
        auto p = std::move(pending);
        pending.clear();
        for (auto& f : p) f();
    }
    fake_governor inner;
    std::vector<std::function<void()>> pending;
};

}  // namespace

TEST_CASE("cluster mode: requests are answered when the governor's decision comes, each whole",
          "[ingest][receiver]") {
    mg::ingest::receiver_options options{.max_body_size = 1 << 20, .max_labels_per_series = 4};
    prometheus::Registry registry;
    deferred_governor governor;
    governor.inner.drop = {"dropped"};
    fake_exporter exporter;
    mg::ingest::receiver receiver(options, governor, exporter, registry);
    mg::http::router routes;
    receiver.add_routes(routes, true);

    // Two requests in flight at once, on buffers of their own.
    std::vector<mg::http::response> answers;
    const auto respond = [&](mg::http::response r) { answers.push_back(std::move(r)); };
    routes.dispatch(rw_post(snappy(remote_write({"a", "dropped", "b"}))), respond);
    routes.dispatch(post("/v1/metrics", "application/json", "", otlp({"c", "dropped"}, true)),
                    respond);
    CHECK(answers.empty());
    REQUIRE(governor.pending.size() == 2);
    CHECK(exporter.submit_calls == 0);
    governor.release_all();
    REQUIRE(answers.size() == 2);
    CHECK(answers[0].result() == bhttp::status::no_content);
    CHECK(answers[1].result() == bhttp::status::ok);
    CHECK(answers[1].body().find("1 data points dropped") != std::string::npos);
    CHECK(exporter.submit_calls == 2);
    CHECK(exporter.submitted == std::vector<std::string>{"c"});  // the last submit's series
    CHECK(governor.inner.decided == std::vector<std::string>{"a", "dropped", "b", "c", "dropped"});

    // A request refused before the governor is answered at once, as in one process.
    routes.dispatch(rw_post("not snappy"), respond);
    REQUIRE(answers.size() == 3);
    CHECK(answers[2].result() == bhttp::status::bad_request);
    CHECK(governor.pending.empty());
}
