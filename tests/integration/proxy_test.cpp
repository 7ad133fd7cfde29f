// The proxy path end to end: a sender (this test, encoding with the protocol module) posts to
// the daemon, the daemon governs and forwards to a recording backend on loopback. Decoding what
// the backend received tells exactly which series arrived.
#include <signal.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "protocol/compression.h"
#include "protocol/otlp.h"
#include "protocol/otlp_builder.h"
#include "protocol/remote_write.h"
#include "protocol/remote_write_builder.h"
#include "support/daemon.h"
#include "support/fake_backend.h"
#include "support/http_client.h"
#include "support/remote_write_client.h"

using namespace std::chrono_literals;
using mg::test::k_prw_headers;
using mg::test::prw_body;
using mg::test::received_ids;
using mg::test::running_daemon;
using mg::test::temp_dir;
namespace bhttp = boost::beast::http;
namespace proto = mg::protocol;

namespace {

proto::otlp_any_value string_value(std::string s) {
    proto::otlp_any_value v;
    v.k = proto::otlp_any_value::kind::string;
    v.s = std::move(s);
    return v;
}

proto::owned_timeseries series(const std::string& name, const std::string& id, double v = 1) {
    proto::owned_timeseries ts;
    ts.labels = {{"__name__", name}, {"id", id}, {"job", "test"}};
    ts.samples = {{v, 1700000000000}};
    return ts;
}

}  // namespace

TEST_CASE("remote write through the proxy: only the series within the limit reach the backend",
          "[proxy]") {
    mg::test::fake_backend backend;
    temp_dir dir;
    dir.write(
        "limits.yaml",
        "rules:\n  - name: small\n    match: {metric_name: capped}\n    max_cardinality: 3\n");
    running_daemon d({"-exporter-endpoint=" + backend.url(), "-limits-config",
                      dir.file("limits.yaml"), "-flush-interval=50ms"});
    REQUIRE(d.ingest_port() != 0);

    std::vector<proto::owned_timeseries> ts;
    for (int i = 0; i < 5; ++i) ts.push_back(series("capped", std::to_string(i)));
    for (int i = 0; i < 4; ++i) ts.push_back(series("free", std::to_string(i)));
    mg::test::http_client c("127.0.0.1", d.ingest_port());
    auto res = c.request(bhttp::verb::post, "/api/v1/write", prw_body(ts), k_prw_headers);
    CHECK(res.status == 204);

    REQUIRE(backend.wait_until(
        [](const auto& reqs) { return received_ids(reqs, "free").size() == 4; }));
    CHECK(received_ids(backend.requests(), "capped") == std::set<std::string>{"0", "1", "2"});

    // The known series keep passing, the new one is still dropped; nothing failed upstream.
    res = c.request(bhttp::verb::post, "/write",
                    prw_body({series("capped", "1", 2), series("capped", "9")}), k_prw_headers);
    CHECK(res.status == 204);
    REQUIRE(backend.wait_until([](const auto& reqs) {
        std::size_t capped_requests = 0;
        for (const auto& r : reqs)
            capped_requests += r.body.find("capped") != std::string::npos ? 1 : 0;
        return capped_requests >= 2;
    }));
    CHECK(received_ids(backend.requests(), "capped") == std::set<std::string>{"0", "1", "2"});

    const auto api = nlohmann::json::parse(
        mg::test::http_get(d.stats_port(), "/api/v1/cardinality?metric=capped").body);
    CHECK(api["data"]["metric"]["value"] == 3);
    CHECK(api["data"]["metric"]["droppedSeries"] == 3);
    const auto metrics = mg::test::http_get(d.stats_port(), "/metrics").body;
    CHECK(
        metrics.find(
            R"(metrics_governor_series_dropped_total{reason="cardinality_limit",rule="small"} 3)") !=
        std::string::npos);
    CHECK(metrics.find(R"(metrics_governor_metric_cardinality{metric_name="free"} 4)") !=
          std::string::npos);
    CHECK(metrics.find(
              R"(metrics_governor_datapoints_received_total{protocol="remote_write_v1"} 11)") !=
          std::string::npos);

    // Every family the daemon exports after real traffic is documented in docs/metrics.md.
    std::ifstream doc_file(std::string(MG_SOURCE_DIR) + "/docs/metrics.md");
    REQUIRE(doc_file.good());
    const std::string doc((std::istreambuf_iterator<char>(doc_file)),
                          std::istreambuf_iterator<char>());
    std::istringstream lines(metrics);
    std::size_t families = 0;
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("# TYPE ", 0) != 0) continue;
        const auto name = line.substr(7, line.find(' ', 7) - 7);
        ++families;
        INFO(name);
        CHECK(doc.find("`" + name + "`") != std::string::npos);
    }
    CHECK(families > 20);

    d.process().signal(SIGTERM);
    CHECK(d.process().wait_exit(20s) == 0);
}

TEST_CASE("malformed and unsupported requests get the right 4xx and the daemon keeps serving",
          "[proxy]") {
    running_daemon d({"-receiver-max-request-body-size=64KiB"});
    mg::test::http_client c("127.0.0.1", d.ingest_port());
    const auto good = prw_body({series("m", "1")});

    auto r = c.request(bhttp::verb::post, "/api/v1/write", "not snappy at all", k_prw_headers);
    CHECK(r.status == 400);
    CHECK(r.body.find("snappy") != std::string::npos);

    auto headers = k_prw_headers;
    headers["Content-Type"] = "text/plain";
    CHECK(c.request(bhttp::verb::post, "/api/v1/write", good, headers).status == 415);
    headers = k_prw_headers;
    headers["Content-Encoding"] = "zstd";
    CHECK(c.request(bhttp::verb::post, "/api/v1/write", good, headers).status == 415);
    headers = k_prw_headers;
    headers["Content-Type"] = "application/x-protobuf;proto=io.prometheus.write.v9.Request";
    CHECK(c.request(bhttp::verb::post, "/api/v1/write", good, headers).status == 415);

    // Valid snappy around a truncated protobuf.
    std::string raw, truncated;
    proto::encode_remote_write_v1(std::vector{series("m", "1")}, {}, raw);
    raw.resize(raw.size() - 3);
    proto::snappy_encode(raw, truncated);
    r = c.request(bhttp::verb::post, "/api/v1/write", truncated, k_prw_headers);
    CHECK(r.status == 400);

    // A decompression bomb: small on the wire, over the limit once decompressed.
    std::string big(1 << 20, 'a'), bomb;
    proto::snappy_encode(big, bomb);
    REQUIRE(bomb.size() < 64 * 1024);
    mg::test::http_client c2("127.0.0.1", d.ingest_port());
    CHECK(c2.request(bhttp::verb::post, "/api/v1/write", bomb, k_prw_headers).status == 413);

    mg::test::http_client c3("127.0.0.1", d.ingest_port());
    CHECK(
        c3.request(bhttp::verb::post, "/api/v1/write", std::string(100 * 1024, 'x'), k_prw_headers)
            .status == 413);

    // Still serving, and the good request is accepted (observe-only: no exporter endpoint).
    mg::test::http_client c4("127.0.0.1", d.ingest_port());
    CHECK(c4.request(bhttp::verb::post, "/api/v1/write", good, k_prw_headers).status == 204);
    CHECK(c4.request(bhttp::verb::get, "/api/v1/write").status == 405);
}

TEST_CASE("complexity limits drop series with a reason", "[proxy]") {
    running_daemon d({"-max-labels-per-series=3", "-max-label-value-len=8"});
    mg::test::http_client c("127.0.0.1", d.ingest_port());
    auto wide = series("m", "1");
    wide.labels.push_back({"a", "1"});
    wide.labels.push_back({"b", "2"});
    auto long_value = series("m", "123456789");
    auto fine = series("m", "2");
    CHECK(c.request(bhttp::verb::post, "/api/v1/write", prw_body({wide, long_value, fine}),
                    k_prw_headers)
              .status == 204);
    const auto metrics = mg::test::http_get(d.stats_port(), "/metrics").body;
    CHECK(metrics.find(
              R"(metrics_governor_series_dropped_total{reason="too_many_labels",rule="none"} 1)") !=
          std::string::npos);
    CHECK(
        metrics.find(
            R"(metrics_governor_series_dropped_total{reason="label_value_too_long",rule="none"} 1)") !=
        std::string::npos);
    CHECK(metrics.find(R"(metrics_governor_metric_cardinality{metric_name="m"} 1)") !=
          std::string::npos);
}

TEST_CASE("remote write 2.0 answers with the written counts", "[proxy]") {
    temp_dir dir;
    dir.write("limits.yaml", "defaults:\n  max_cardinality: 2\n");
    running_daemon d({"-limits-config", dir.file("limits.yaml")});
    std::string raw, body;
    proto::encode_remote_write_v2(std::vector{series("m", "1"), series("m", "2"), series("m", "3")},
                                  raw);
    proto::snappy_encode(raw, body);
    mg::test::http_client c("127.0.0.1", d.ingest_port());
    const auto r =
        c.request(bhttp::verb::post, "/api/v1/write", body,
                  {{"Content-Type", "application/x-protobuf;proto=io.prometheus.write.v2.Request"},
                   {"Content-Encoding", "snappy"},
                   {"X-Prometheus-Remote-Write-Version", "2.0.0"}});
    CHECK(r.status == 204);
    CHECK(r.headers.at("x-prometheus-remote-write-samples-written") == "2");
    CHECK(r.headers.at("x-prometheus-remote-write-histograms-written") == "0");
}

TEST_CASE("OTLP protobuf and JSON are governed, drops show in partial_success", "[proxy]") {
    temp_dir dir;
    dir.write("limits.yaml", "defaults:\n  max_cardinality: 1\n");
    running_daemon d({"-limits-config", dir.file("limits.yaml")});
    mg::test::http_client c("127.0.0.1", d.ingest_port());

    proto::otlp_resource res;
    res.attributes = {{"service.name", string_value("svc")}};
    proto::otlp_scope scope;
    proto::otlp_metric metric;
    metric.name = "requests";
    for (const char* path : {"/a", "/b", "/c"}) {
        proto::otlp_point p;
        p.attributes = {{"path", string_value(path)}};
        p.value = 1;
        p.time_unix_nano = 1700000000000000000ULL;
        metric.points.push_back(p);
    }
    scope.metrics.push_back(metric);
    res.scopes.push_back(scope);
    std::string pb, gz;
    proto::encode_otlp_protobuf(std::vector{res}, pb);
    proto::gzip_encode(pb, 1, gz);
    auto r = c.request(bhttp::verb::post, "/v1/metrics", gz,
                       {{"Content-Type", "application/x-protobuf"}, {"Content-Encoding", "gzip"}});
    REQUIRE(r.status == 200);
    proto::otlp_partial_success ps;
    REQUIRE(proto::decode_otlp_response_protobuf(r.body, ps).ok());
    CHECK(ps.rejected_data_points == 2);

    const std::string json =
        R"({"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
      "scopeMetrics":[{"metrics":[{"name":"requests","gauge":{"dataPoints":[
        {"attributes":[{"key":"path","value":{"stringValue":"/a"}}],"asDouble":2,"timeUnixNano":"1700000000000000000"},
        {"attributes":[{"key":"path","value":{"stringValue":"/z"}}],"asDouble":2,"timeUnixNano":"1700000000000000000"}]}}]}]}]})";
    r = c.request(bhttp::verb::post, "/v1/metrics", json, {{"Content-Type", "application/json"}});
    REQUIRE(r.status == 200);
    const auto j = nlohmann::json::parse(r.body);
    CHECK(j["partialSuccess"]["rejectedDataPoints"] == "1");

    CHECK(c.request(bhttp::verb::post, "/v1/metrics", "{", {{"Content-Type", "application/json"}})
              .status == 400);
    CHECK(c.request(bhttp::verb::post, "/v1/metrics", pb, {{"Content-Type", "text/csv"}}).status ==
          415);
}

TEST_CASE("a backend that is down then up loses nothing that was accepted", "[proxy]") {
    mg::test::fake_backend backend;
    backend.set_status(503);
    running_daemon d(
        {"-exporter-endpoint=" + backend.url(), "-flush-interval=50ms", "-shutdown-timeout=20s"});
    mg::test::http_client c("127.0.0.1", d.ingest_port());
    for (int i = 0; i < 5; ++i) {
        CHECK(c.request(bhttp::verb::post, "/api/v1/write",
                        prw_body({series("m", std::to_string(i))}), k_prw_headers)
                  .status == 204);
    }
    REQUIRE(backend.wait_until(
        [](const auto& reqs) { return reqs.size() >= 2; }));  // retried while failing
    backend.set_status(204);
    REQUIRE(backend.wait_until([](const auto& reqs) {
        std::vector<mg::test::recorded_request> ok;
        for (const auto& r : reqs) {
            if (r.status == 204) ok.push_back(r);
        }
        return received_ids(ok, "m").size() == 5;
    }));
}

TEST_CASE("label_limit_action strip forwards the series without the label", "[proxy]") {
    mg::test::fake_backend backend;
    temp_dir dir;
    dir.write("limits.yaml",
              "rules:\n  - name: users\n    match: {metric_name: m}\n    label_limits: {user: 1}\n"
              "    label_limit_action: strip\n");
    running_daemon d({"-exporter-endpoint=" + backend.url(), "-limits-config",
                      dir.file("limits.yaml"), "-flush-interval=50ms"});
    auto a = series("m", "1");
    a.labels.push_back({"user", "alice"});
    auto b = series("m", "2");
    b.labels.push_back({"user", "bob"});  // the second distinct user: stripped
    mg::test::http_client c("127.0.0.1", d.ingest_port());
    CHECK(c.request(bhttp::verb::post, "/api/v1/write", prw_body({a, b}), k_prw_headers).status ==
          204);
    REQUIRE(
        backend.wait_until([](const auto& reqs) { return received_ids(reqs, "m").size() == 2; }));
    std::map<std::string, std::string> user_of;
    for (const auto& r : backend.requests()) {
        std::string raw;
        REQUIRE(proto::snappy_decode(r.body, 1 << 28, raw).ok());
        proto::series_batch batch;
        REQUIRE(proto::decode_remote_write_v1(raw, batch).ok());
        for (std::size_t i = 0; i < batch.size(); ++i) {
            std::string id, user = "<none>";
            for (const auto& l : batch[i].labels) {
                if (l.name == "id") id = l.value;
                if (l.name == "user") user = l.value;
            }
            user_of[id] = user;
        }
    }
    CHECK(user_of["1"] == "alice");
    CHECK(user_of["2"] == "<none>");
}

TEST_CASE("OTLP/JSON the governor leaves unchanged reaches an OTLP backend as it came", "[proxy]") {
    mg::test::fake_backend backend;
    temp_dir dir;
    dir.write("limits.yaml", "defaults:\n  max_cardinality: 2\n");
    running_daemon d({"-exporter-endpoint=" + backend.url("/v1/metrics"), "-exporter-protocol=otlp",
                      "-exporter-max-shards=1", "-limits-config", dir.file("limits.yaml"),
                      "-flush-interval=50ms"});
    mg::test::http_client c("127.0.0.1", d.ingest_port());
    const auto request = [](const std::vector<std::string>& paths) {
        // Laid out as no encoder writes it: only a forwarded body keeps the spaces and newlines.
        std::string points;
        for (const auto& p : paths) {
            points += std::string(points.empty() ? "" : ",\n") +
                      R"(  { "attributes" : [ { "key" : "path", )" +
                      R"("value" : { "stringValue" : ")" + p +
                      R"(" } } ], "asDouble" : 2, "timeUnixNano" : "1700000000000000000" })";
        }
        return R"({ "resourceMetrics" : [ { "resource" : { "attributes" : [ { "key" : "service.name", )"
               R"("value" : { "stringValue" : "svc" } } ] },
  "scopeMetrics" : [ { "metrics" : [ { "name" : "requests", "gauge" : { "dataPoints" : [
)" + points + "\n] } } ] } ] } ] }\n";
    };
    const auto as_received = [](const mg::test::recorded_request& r) {
        CHECK(r.content_type == "application/json");
        REQUIRE(r.content_encoding == "gzip");
        std::string plain;
        REQUIRE(proto::gzip_decode(r.body, 1 << 20, plain).ok());
        return plain;
    };

    const auto unchanged = request({"/a", "/b"});
    REQUIRE(c.request(bhttp::verb::post, "/v1/metrics", unchanged,
                      {{"Content-Type", "application/json"}})
                .status == 200);
    REQUIRE(backend.wait_until([](const auto& reqs) { return reqs.size() == 1; }));
    CHECK(backend.requests()[0].target == "/v1/metrics");
    CHECK(as_received(backend.requests()[0]) == unchanged);

    // A series over the limit is dropped: the rest is encoded anew, not forwarded.
    const auto changed = request({"/a", "/c"});
    REQUIRE(
        c.request(bhttp::verb::post, "/v1/metrics", changed, {{"Content-Type", "application/json"}})
            .status == 200);
    REQUIRE(backend.wait_until([](const auto& reqs) { return reqs.size() == 2; }));
    const auto reencoded = as_received(backend.requests()[1]);
    CHECK(reencoded != changed);
    CHECK(reencoded.find("\"/a\"") != std::string::npos);
    CHECK(reencoded.find("\"/c\"") == std::string::npos);
}
