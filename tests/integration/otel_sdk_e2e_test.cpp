// End to end with the real OpenTelemetry JS SDK as the sender: tests/otel/export.mjs records
// counters, up-down counters, an observable gauge, a histogram and an exponential histogram with
// many attribute sets and exports them with one of the three OTLP exporter packages (gRPC,
// HTTP/protobuf, HTTP/JSON; pinned in tests/otel/package-lock.json, installed into <build>/otel
// by the build, tests/otel/README.md) to metrics-governor, which converts them to remote write
// for a real Prometheus (Debian's 2.42, remote-write receiver and native histograms on).
//
// Per exporter the test asserts:
//   - names: the series that arrive are exactly those Prometheus' OTLP translation makes by
//     default, derived here from the instrument definitions (a counter `otel.e2e.requests` of
//     unit `s` -> `otel_e2e_requests_seconds_total`; up-down counters get no `_total`; a gauge
//     of unit `1` gets `_ratio`; histograms `_bucket{le}`/`_sum`/`_count`; `job`/`instance`
//     from service.name/service.instance.id; one `target_info`);
//   - a limit (max_cardinality on one metric, written with its OTLP name) drops exactly the
//     series past it, and the SDK logs a partial success with that many rejected points;
//   - delta temporality: Prometheus 2.x stores cumulative data only, so the converter drops the
//     delta points (counted by reason) and the SDK sees them as rejected in partial_success;
//   - backend down for a while: the governor accepts (the SDK gets 200, no retry is needed),
//   queues,
//     and delivers every series once Prometheus is back on its port with its data.
// The gRPC exporter sends to the daemon's OTLP/gRPC receiver (-grpc-listen on a port from the OS).
//
// Peers and the node process run on 127.0.0.1 with temporary directories and die with the test
// (peer_command); a missing `node`, `prometheus` or SDK install fails the test with what to do.
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "shared/temp_dir.h"
#include "support/daemon.h"
#include "support/http_client.h"
#include "support/metrics_page.h"
#include "support/peers.h"
#include "support/process.h"
#include "support/prometheus_peer.h"

using namespace std::chrono_literals;
using json = nlohmann::json;
using mg::test::child_process;
using mg::test::eventually;
using mg::test::prometheus_peer;
using mg::test::running_daemon;
using mg::test::temp_dir;

namespace {

using label_set = std::map<std::string, std::string>;

// ---- what the SDK records ------------------------------------------------------------------

struct instrument {
    std::string kind;  // counter, updown, gauge, histogram, exponential_histogram
    std::string name;
    std::string unit;
    std::vector<double> bounds;                                     // histogram
    std::vector<std::pair<label_set, std::vector<double>>> points;  // attributes, values
};

constexpr int k_request_sets = 12;  // the limited counter's attribute sets
constexpr int k_request_limit = 5;

std::vector<instrument> instruments() {
    std::vector<instrument> out;
    instrument requests{"counter", "otel.e2e.requests", "s", {}, {}};
    for (int i = 0; i < k_request_sets; ++i) {
        requests.points.push_back({{{"route", "/r" + std::to_string(i)},
                                    {"http.status_code", i % 3 == 0 ? "500" : "200"}},
                                   {1.0 + i, 0.5}});
    }
    out.push_back(requests);
    instrument sent{"counter", "otel.e2e.bytes.sent", "By", {}, {}};
    for (const char* peer : {"a", "b", "c"}) sent.points.push_back({{{"peer", peer}}, {100, 20}});
    out.push_back(sent);
    instrument queue{"updown", "otel.e2e.queue.items", "{item}", {}, {}};
    for (const char* q : {"q1", "q2", "q3", "q4"})
        queue.points.push_back({{{"queue", q}}, {5, -2}});
    out.push_back(queue);
    instrument cpu{"gauge", "otel.e2e.cpu.utilization", "1", {}, {}};
    for (const char* c : {"0", "1", "2"}) cpu.points.push_back({{{"cpu", c}}, {0.25}});
    out.push_back(cpu);
    instrument latency{"histogram", "otel.e2e.latency", "ms", {1, 10, 100}, {}};
    for (const char* m : {"GET", "POST", "PUT"}) {
        latency.points.push_back({{{"method", m}}, {0.5, 5, 50, 500}});
    }
    out.push_back(latency);
    instrument size{"exponential_histogram", "otel.e2e.payload.size", "By", {}, {}};
    for (const char* d : {"in", "out"})
        size.points.push_back({{{"direction", d}}, {10, 300, 7000}});
    out.push_back(size);
    return out;
}

// Counters and histograms: what the SDK's delta preference makes delta (up-down counters and
// gauges stay as they are), and the converter drops.
bool delta_under_delta_preference(const instrument& i) {
    return i.kind == "counter" || i.kind == "histogram" || i.kind == "exponential_histogram";
}

// The name Prometheus' OTLP translator gives (its default, with suffixes), for the names and
// units above: the name's dots become `_`, the unit its word unless the name has it already,
// `_total` for a counter (monotonic), `_ratio` for a gauge of unit "1".
std::string prometheus_name(const instrument& i) {
    static const std::map<std::string, std::string> words{
        {"s", "seconds"}, {"ms", "milliseconds"}, {"By", "bytes"}, {"1", ""}, {"{item}", ""}};
    std::vector<std::string> tokens;
    std::stringstream in(i.name);
    for (std::string t; std::getline(in, t, '.');) tokens.push_back(t);
    const std::string word = words.at(i.unit);
    if (!word.empty() && std::find(tokens.begin(), tokens.end(), word) == tokens.end()) {
        tokens.push_back(word);
    }
    if (i.kind == "counter") tokens.push_back("total");
    if (i.kind == "gauge" && i.unit == "1") tokens.push_back("ratio");
    std::string out;
    for (const auto& t : tokens) out += (out.empty() ? "" : "_") + t;
    return out;
}

std::string label_name(std::string key) {
    for (char& c : key) {
        if (c == '.') c = '_';
    }
    return key;
}

// Go's FormatFloat(v, 'f', -1): the `le` values of the bounds above.
std::string le(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
}

// ---- running the SDK -----------------------------------------------------------------------

struct export_result {
    std::string phase;
    int code = -1;
    std::string error;
    std::optional<std::int64_t> rejected;  // partial success logged by the exporter
    std::string message;
};

struct sdk_run {
    label_set resource;
    std::vector<export_result> exports;
    std::string output;
};

sdk_run run_sdk(const std::string& exporter, const std::string& url, const std::string& temporality,
                const label_set& resource, const temp_dir& dir) {
    const std::string otel_dir = MG_OTEL_DIR;
    if (!std::filesystem::exists(otel_dir + "/node_modules/@opentelemetry/sdk-metrics")) {
        FAIL("the OpenTelemetry JS SDK is not installed in "
             << otel_dir << ": build the target otel_sdk (npm ci from tests/otel/package-lock.json;"
             << " needs node and npm, scripts/install-deps.sh --e2e)");
    }
    const auto node = mg::test::require_program("node", "nodejs");
    json spec = {{"exporter", exporter},
                 {"url", url},
                 {"temporality", temporality},
                 {"resource", resource},
                 {"scope", {{"name", "otel-e2e"}, {"version", "1.2.3"}}},
                 {"instruments", json::array()}};
    for (const auto& i : instruments()) {
        json points = json::array();
        for (const auto& [attrs, values] : i.points) {
            points.push_back({{"attributes", attrs}, {"values", values}});
        }
        spec["instruments"].push_back({{"kind", i.kind},
                                       {"name", i.name},
                                       {"unit", i.unit},
                                       {"bounds", i.bounds},
                                       {"points", points}});
    }
    const auto spec_file = dir.write("spec-" + exporter + ".json", spec.dump());
    child_process p(mg::test::peer_command(node, {otel_dir + "/export.mjs", spec_file}));
    const auto code = p.wait_exit(120s);
    sdk_run run;
    run.output = p.output();
    INFO("export.mjs output:\n" << run.output);
    REQUIRE(code.has_value());
    REQUIRE(*code == 0);
    std::istringstream lines(run.output);
    bool done = false;
    for (std::string line; std::getline(lines, line);) {
        const auto j = json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object() || !j.contains("event")) continue;
        const std::string event = j["event"];
        if (event == "resource") {
            for (const auto& [k, v] : j["attributes"].items())
                run.resource[k] = v.get<std::string>();
        } else if (event == "export") {
            export_result e;
            e.phase = j["phase"];
            e.code = j["code"];
            if (j["error"].is_string()) e.error = j["error"];
            if (j["partial_success"].is_object()) {
                e.rejected = j["partial_success"]["rejected_data_points"].get<std::int64_t>();
                e.message = j["partial_success"]["error_message"];
            }
            run.exports.push_back(e);
        } else if (event == "done") {
            done = true;
        }
    }
    REQUIRE(done);
    REQUIRE(run.resource == resource);  // the SDK added nothing: the labels below rely on it
    return run;
}

// The result of the force-flush export (the first one: every point recorded).
const export_result& flushed(const sdk_run& run) {
    INFO("export.mjs output:\n" << run.output);
    REQUIRE(!run.exports.empty());
    REQUIRE(run.exports.front().phase == "flush");
    for (const auto& e : run.exports) {
        INFO(e.phase << ": " << e.error);
        CHECK(e.code == 0);  // accepted: the governor answers 200 (with partial_success)
    }
    return run.exports.front();
}

// ---- what Prometheus must have -------------------------------------------------------------

enum class scenario { limit, delta, outage };

// Every series of the run, as Prometheus' /api/v1/series lists them.
std::set<label_set> expected_series(const label_set& resource, scenario s) {
    label_set common;
    for (const auto& [k, v] : resource) common[label_name(k)] = v;
    common["job"] = resource.at("service.name");
    common["instance"] = resource.at("service.instance.id");
    common["otel_scope_name"] = "otel-e2e";
    common["otel_scope_version"] = "1.2.3";
    std::set<label_set> out;
    const auto add = [&](const std::string& name, const label_set& attrs, label_set extra = {}) {
        label_set l = common;
        for (const auto& [k, v] : attrs) l[label_name(k)] = v;
        for (const auto& [k, v] : extra) l[k] = v;
        l["__name__"] = name;
        out.insert(l);
    };
    for (const auto& i : instruments()) {
        if (s == scenario::delta && delta_under_delta_preference(i)) continue;
        const std::string name = prometheus_name(i);
        std::size_t n = 0;
        for (const auto& [attrs, values] : i.points) {
            // The SDK sends the attribute sets in the order they were first recorded, and the
            // governor admits the first ones up to the limit.
            if (s == scenario::limit && i.name == "otel.e2e.requests" && n++ >= k_request_limit)
                continue;
            if (i.kind == "histogram") {
                for (double b : i.bounds) add(name + "_bucket", attrs, {{"le", le(b)}});
                add(name + "_bucket", attrs, {{"le", "+Inf"}});
                add(name + "_sum", attrs);
                add(name + "_count", attrs);
            } else {
                add(name, attrs);  // an exponential histogram: one native histogram series
            }
        }
    }
    // target_info: the resource attributes other than service.name/.instance.id, job, instance.
    label_set target{
        {"__name__", "target_info"}, {"job", common["job"]}, {"instance", common["instance"]}};
    for (const auto& [k, v] : resource) {
        if (k != "service.name" && k != "service.instance.id") target[label_name(k)] = v;
    }
    out.insert(target);
    return out;
}

std::set<label_set> backend_series(unsigned short port, const std::string& job) {
    std::set<label_set> out;
    const auto r = mg::test::try_get(
        port, "/api/v1/series?match%5B%5D=" + mg::test::url_encode("{job=\"" + job + "\"}"));
    if (!r || r->status != 200) return out;
    const auto j = json::parse(r->body, nullptr, false);
    if (j.is_discarded() || j.value("status", "") != "success") return out;
    for (const auto& s : j["data"]) out.insert(s.get<label_set>());
    return out;
}

std::string show(const std::set<label_set>& ss) {
    std::string out;
    for (const auto& s : ss) out += "\n  " + json(s).dump();
    return out;
}

std::string daemon_metrics(const running_daemon& d) {
    return mg::test::http_get(d.stats_port(), "/metrics").body;
}

double metric(const std::string& page, const std::string& series) {
    return mg::test::sample_value(page, series).value_or(0);
}

// The ingest address for the exporter: the HTTP port's /v1/metrics, or the gRPC port, which
// the daemon logs as "grpc listener started" with its "addr".
std::string sender_url(const std::string& exporter, running_daemon& d) {
    if (exporter != "grpc")
        return "http://127.0.0.1:" + std::to_string(d.ingest_port()) + "/v1/metrics";
    std::istringstream lines(d.process().output());
    for (std::string line; std::getline(lines, line);) {
        if (line.find("grpc listener started") == std::string::npos) continue;
        if (auto port = mg::test::port_from_log_line(line)) {
            return "http://127.0.0.1:" + std::to_string(*port);
        }
    }
    FAIL("the daemon logged no gRPC listener address (a line with \"grpc\" and \"addr\"):\n"
         << d.process().output());
    return {};
}

const std::string k_backend_config = "global:\n  scrape_interval: 1m\n";  // scrapes nothing
const std::vector<std::string> k_backend_flags{"--web.enable-remote-write-receiver",
                                               "--enable-feature=native-histograms"};

void run_scenario(const std::string& exporter, scenario s) {
    temp_dir dir;
    // Held for the whole test: Prometheus binds it (SO_REUSEADDR), and after the outage it comes
    // back on it with no other process able to take it meanwhile.
    mg::test::reserved_port backend_port;
    const auto data_dir = dir.file("tsdb");
    auto backend = std::make_unique<prometheus_peer>("backend", k_backend_config, k_backend_flags,
                                                     backend_port.port(), data_dir);
    std::vector<std::string> args{"-exporter-endpoint=http://127.0.0.1:" +
                                      std::to_string(backend_port.port()) + "/api/v1/write",
                                  "-flush-interval=100ms", "-exporter-retry-backoff-max=500ms",
                                  "-exporter-native-histograms"};
    if (s == scenario::limit) {
        // The limit names the metric as the SDK sends it, not as Prometheus stores it.
        args.push_back("-limits-config=" +
                       dir.write("limits.yaml",
                                 "rules:\n  - name: otel-requests\n    match:\n      metric_name: "
                                 "'otel\\.e2e\\.requests'\n    max_cardinality: " +
                                     std::to_string(k_request_limit) + "\n"));
    }
    if (exporter == "grpc") args.push_back("-grpc-listen=127.0.0.1:0");
    running_daemon d(args);
    std::vector<child_process*> logs{&backend->process(), &d.process()};

    if (s == scenario::outage) {
        backend->process().signal(SIGTERM);
        REQUIRE(backend->process().wait_exit(60s).has_value());
        backend.reset();
        logs = {&d.process()};
    }

    const label_set resource{{"service.name", "otel-e2e-" + exporter},
                             {"service.instance.id", "pod-" + exporter},
                             {"deployment.environment", "e2e"}};
    const auto run = run_sdk(exporter, sender_url(exporter, d),
                             s == scenario::delta ? "delta" : "cumulative", resource, dir);
    const export_result& first = flushed(run);
    INFO("export.mjs output:\n" << run.output);

    std::int64_t want_rejected = 0;
    for (const auto& i : instruments()) {
        const auto sets = static_cast<std::int64_t>(i.points.size());
        if (s == scenario::limit && i.name == "otel.e2e.requests")
            want_rejected += sets - k_request_limit;
        if (s == scenario::delta && delta_under_delta_preference(i)) want_rejected += sets;
    }
    if (want_rejected == 0) {
        CHECK_FALSE(first.rejected.has_value());
    } else {
        REQUIRE(first.rejected.has_value());
        CHECK(*first.rejected == want_rejected);
        CHECK_FALSE(first.message.empty());
        if (s == scenario::delta) CHECK(first.message.find("delta") != std::string::npos);
    }

    std::string page;
    if (s == scenario::outage) {
        // Accepted while the backend is down: queued, with failed connections, nothing sent.
        const bool queued = eventually(
            [&] {
                page = daemon_metrics(d);
                return metric(page, R"(metrics_governor_export_errors_total{reason="connect"})") >=
                           1 &&
                       metric(page, "metrics_governor_queue_bytes") > 0;
            },
            30s, logs);
        INFO(page);
        REQUIRE(queued);
        CHECK(metric(page, "metrics_governor_datapoints_sent_total") == 0);
        backend = std::make_unique<prometheus_peer>("backend again", k_backend_config,
                                                    k_backend_flags, backend_port.port(), data_dir);
        logs.push_back(&backend->process());
    }

    const auto want = expected_series(resource, s);
    std::set<label_set> got;
    const bool arrived = eventually(
        [&] {
            got = backend_series(backend->port(), resource.at("service.name"));
            return got == want;
        },
        60s, logs);
    INFO("backend has:" << show(got));
    INFO("expected:" << show(want));
    REQUIRE(arrived);

    // Everything delivered, and the daemon's counts agree with what the SDK was told.
    const bool settled = eventually(
        [&] {
            page = daemon_metrics(d);
            return metric(page, "metrics_governor_queue_bytes") == 0;
        },
        30s, logs);
    INFO(page);
    CHECK(settled);
    CHECK(page.find("metrics_governor_export_dropped_series_total{") == std::string::npos);
    std::int64_t rejected_total = 0;
    for (const auto& e : run.exports) rejected_total += e.rejected.value_or(0);
    if (s == scenario::limit) {
        CHECK(
            metric(
                page,
                R"(metrics_governor_series_dropped_total{reason="cardinality_limit",rule="otel-requests"})") ==
            static_cast<double>(rejected_total));
    }
    if (s == scenario::delta) {
        CHECK(
            metric(
                page,
                R"(metrics_governor_export_conversion_dropped_datapoints_total{reason="delta_temporality"})") ==
            static_cast<double>(rejected_total));
    }
    if (s == scenario::outage) {
        // Nothing lost: the counter's values as recorded (the latest export of a cumulative sum).
        const instrument requests = instruments().front();
        double recorded = 0;
        for (const auto& [attrs, values] : requests.points) {
            for (double v : values) recorded += v;
        }
        const auto q =
            "sum(" + prometheus_name(requests) + "{job=\"" + resource.at("service.name") + "\"})";
        const auto r =
            mg::test::try_get(backend->port(), "/api/v1/query?query=" + mg::test::url_encode(q));
        REQUIRE(r.has_value());
        const auto j = json::parse(r->body, nullptr, false);
        INFO(r->body);
        REQUIRE(j["data"]["result"].size() == 1);
        CHECK(std::stod(j["data"]["result"][0]["value"][1].get<std::string>()) == recorded);
    }
}

}  // namespace

TEST_CASE(
    "OpenTelemetry JS SDK, OTLP/HTTP JSON exporter: Prometheus' names, a limit drops exactly the "
    "series past it, partial success in the SDK",
    "[e2e][otel]") {
    run_scenario("json", scenario::limit);
}
TEST_CASE(
    "OpenTelemetry JS SDK, OTLP/HTTP protobuf exporter: Prometheus' names, a limit drops exactly "
    "the series past it, partial success in the SDK",
    "[e2e][otel]") {
    run_scenario("proto", scenario::limit);
}
TEST_CASE(
    "OpenTelemetry JS SDK, OTLP/gRPC exporter: Prometheus' names, a limit drops exactly the series "
    "past it, partial success in the SDK",
    "[e2e][otel]") {
    run_scenario("grpc", scenario::limit);
}
TEST_CASE(
    "OpenTelemetry JS SDK, OTLP/HTTP JSON exporter, delta temporality: delta points dropped and "
    "reported as rejected",
    "[e2e][otel]") {
    run_scenario("json", scenario::delta);
}
TEST_CASE(
    "OpenTelemetry JS SDK, OTLP/HTTP protobuf exporter, delta temporality: delta points dropped "
    "and reported as rejected",
    "[e2e][otel]") {
    run_scenario("proto", scenario::delta);
}
TEST_CASE(
    "OpenTelemetry JS SDK, OTLP/gRPC exporter, delta temporality: delta points dropped and "
    "reported as rejected",
    "[e2e][otel]") {
    run_scenario("grpc", scenario::delta);
}
TEST_CASE(
    "OpenTelemetry JS SDK, OTLP/HTTP JSON exporter, backend down then up: the governor queues, "
    "nothing is lost",
    "[e2e][otel]") {
    run_scenario("json", scenario::outage);
}
TEST_CASE(
    "OpenTelemetry JS SDK, OTLP/HTTP protobuf exporter, backend down then up: the governor queues, "
    "nothing is lost",
    "[e2e][otel]") {
    run_scenario("proto", scenario::outage);
}
TEST_CASE(
    "OpenTelemetry JS SDK, OTLP/gRPC exporter, backend down then up: the governor queues, nothing "
    "is lost",
    "[e2e][otel]") {
    run_scenario("grpc", scenario::outage);
}
