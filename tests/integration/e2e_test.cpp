// End to end with real peers we did not write: Debian's `prometheus` (2.42) scrapes a target and
// remote-writes to metrics-governor, which forwards to a real backend (a second `prometheus` with
// --web.enable-remote-write-receiver, or `victoria-metrics` 1.79 single node). The tests ask the
// backend's HTTP API which series (and, for the outage test, which samples) arrived. OTLP is sent
// with curl (JSON and gzip protobuf) to a daemon that converts it to remote write for the same
// two backends, which have no OTLP receiver.
//
// Every peer runs on 127.0.0.1 with its own temporary data directory, is started by the test and
// killed when the test ends (RAII: child_process's destructor sends SIGKILL, the temp_dir declared
// before it is removed after). A missing peer binary fails the test with the package to install:
// CI installs them (scripts/install-deps.sh --e2e, `make deps-e2e`); nothing is skipped.
//
// Ports: our daemon and Prometheus bind port 0 and print the port they got (no race at all).
// VictoriaMetrics prints only the address it was given, and the outage test needs the backend's
// port before the backend exists, so for those the test holds a reserved_port (below).
//
// Waiting: a peer's startup is awaited on its log line ("Listening on" / "Server is ready to
// receive web requests." for Prometheus), then confirmed once on its readiness endpoint.
// VictoriaMetrics logs "starting http server" just before it binds, so its /health is polled a
// bounded number of times with a 20 ms pause. Data arrives asynchronously through two remote-write
// queues (Prometheus' and ours), so the backend's query API is polled with a bounded deadline and a
// 200 ms pause between queries.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "http/server.h"
#include "protocol/compression.h"
#include "protocol/otlp.h"
#include "protocol/remote_write_builder.h"
#include "shared/otlp_builder.h"
#include "support/daemon.h"
#include "support/delay_proxy.h"
#include "support/http_client.h"
#include "support/metrics_page.h"
#include "support/peers.h"
#include "support/process.h"
#include "support/prometheus_peer.h"
#include "support/scrape_target.h"

using namespace std::chrono_literals;
using mg::test::child_process;
using mg::test::drain;
using mg::test::eventually;
using mg::test::find_program;
using mg::test::peer_command;
using mg::test::prometheus_peer;
using mg::test::require_program;
using mg::test::reserved_port;
using mg::test::running_daemon;
using mg::test::temp_dir;
using mg::test::try_get;
using mg::test::url_encode;
using json = nlohmann::json;
namespace proto = mg::protocol;
namespace ob = mg::test::otlp;

namespace {

// ---------------------------------------------------------------------------------------------
// Small helpers

double unix_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string fixed3(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    return buf;
}

// The value of one sample line of a Prometheus text page ("name{labels} value"), or 0.
double metric_value(const std::string& page, const std::string& series) {
    return mg::test::sample_value(page, series).value_or(0);
}

std::string daemon_metrics(const running_daemon& d) {
    return mg::test::http_get(d.stats_port(), "/metrics").body;
}

// ---------------------------------------------------------------------------------------------
// The scrape target: a fixed exposition page on our own HTTP server, 127.0.0.1 port 0.

// A fixed page.
class static_target : public mg::test::scrape_target {
  public:
    explicit static_target(std::string page)
        : scrape_target([page = std::move(page)] { return page; }, "e2e-target") {}
};

// `name{id="0"} 1` .. for ids [0, n).
std::string gauge_lines(const std::string& name, int n) {
    std::string out = "# TYPE " + name + " gauge\n";
    for (int i = 0; i < n; ++i)
        out += name + "{id=\"" + std::to_string(i) + "\"} " + std::to_string(i + 1) + "\n";
    return out;
}

// The series Prometheus adds to every scrape of a target.
const std::vector<std::string> k_scrape_series{
    "up", "scrape_duration_seconds", "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling", "scrape_series_added"};

// ---------------------------------------------------------------------------------------------
// Peers

// One VictoriaMetrics single node on a reserved port, its own -storageDataPath.
class victoria_peer {
  public:
    explicit victoria_peer(reserved_port& port) : port_(port.port()) {
        const auto bin = require_program("victoria-metrics", "victoria-metrics");
        proc_ = std::make_unique<child_process>(peer_command(
            bin, {"-httpListenAddr=127.0.0.1:" + std::to_string(port_),
                  "-storageDataPath=" + dir_.file("data"),
                  // Fresh samples are queryable at once (default: 30 s later), no response cache.
                  "-search.latencyOffset=0s", "-search.disableCache", "-loggerLevel=INFO"}));
        if (!proc_->wait_for_line("starting http server at", 30s))
            FAIL("victoria-metrics did not start; output:\n" << proc_->output());
        // It logs that line just before it binds: nothing more to await, so poll /health (bounded).
        for (int tries = 0;; ++tries) {
            const auto r = try_get(port_, "/health");
            if (r && r->status == 200) break;
            if (tries == 250)
                FAIL("victoria-metrics /health never answered 200; output:\n" << proc_->output());
            drain(*proc_);
            std::this_thread::sleep_for(20ms);
        }
        port.release();
    }
    unsigned short port() const { return port_; }
    child_process& process() { return *proc_; }

  private:
    temp_dir dir_;
    std::unique_ptr<child_process> proc_;
    unsigned short port_ = 0;
};

std::string sender_config(unsigned short target_port, unsigned short daemon_port) {
    // One shard keeps the order in which series reach the daemon the order of the scrape, so which
    // series of the capped metric are admitted is known: the first ones on the page.
    return "global:\n"
           "  scrape_interval: 1s\n"
           "  scrape_timeout: 1s\n"
           "scrape_configs:\n"
           "  - job_name: e2e\n"
           "    static_configs:\n"
           "      - targets: ['127.0.0.1:" +
           std::to_string(target_port) +
           "']\n"
           "remote_write:\n"
           "  - url: http://127.0.0.1:" +
           std::to_string(daemon_port) +
           "/api/v1/write\n"
           "    queue_config:\n"
           "      batch_send_deadline: 1s\n"
           "      min_shards: 1\n"
           "      max_shards: 1\n"
           "      min_backoff: 100ms\n"
           "      max_backoff: 1s\n";
}

const std::string k_backend_config = "global:\n  scrape_interval: 1m\n";  // scrapes nothing

// Every series with job="e2e" the backend knows, as "name" or "name{id}".
std::set<std::string> backend_series(unsigned short port, bool victoria) {
    std::string target = "/api/v1/series?match%5B%5D=" + url_encode("{job=\"e2e\"}");
    if (victoria) {
        try_get(port, "/internal/force_flush");  // make the just-inserted rows searchable
        target += "&start=" + fixed3(unix_now() - 3600) + "&end=" + fixed3(unix_now() + 60);
    }
    const auto r = try_get(port, target);
    std::set<std::string> out;
    if (!r || r->status != 200) return out;
    const auto j = json::parse(r->body, nullptr, false);
    if (j.is_discarded() || j.value("status", "") != "success") return out;
    for (const auto& s : j["data"]) {
        auto name = s.value("__name__", "");
        if (s.contains("id")) name += "{" + s["id"].get<std::string>() + "}";
        out.insert(name);
    }
    return out;
}

std::set<std::string> expected_series(int capped_admitted, int free) {
    std::set<std::string> out(k_scrape_series.begin(), k_scrape_series.end());
    for (int i = 0; i < capped_admitted; ++i) out.insert("e2e_capped{" + std::to_string(i) + "}");
    for (int i = 0; i < free; ++i) out.insert("e2e_free{" + std::to_string(i) + "}");
    return out;
}

std::string show(const std::set<std::string>& s) {
    std::string out;
    for (const auto& x : s) out += (out.empty() ? "" : " ") + x;
    return out;
}

constexpr int k_capped = 10, k_limit = 4, k_free = 5;

const std::string k_limits_yaml =
    "rules:\n"
    "  - name: capped\n"
    "    match: {metric_name: e2e_capped}\n"
    "    max_cardinality: " +
    std::to_string(k_limit) + "\n";

// POSTs the file `body_file` with curl; returns the HTTP status curl printed ("200"). The response
// body lands in `response_file`.
std::string curl_post(const temp_dir& dir, const std::string& url, const std::string& body_file,
                      const std::vector<std::string>& headers, const std::string& response_file) {
    std::vector<std::string> argv{require_program("curl", "curl"),
                                  "-sS",
                                  "-o",
                                  dir.file(response_file),
                                  "-w",
                                  "%{http_code}",
                                  "--max-time",
                                  "20"};
    for (const auto& h : headers) {
        argv.push_back("-H");
        argv.push_back(h);
    }
    argv.push_back("--data-binary");
    argv.push_back("@" + dir.file(body_file));
    argv.push_back(url);
    child_process curl(argv);
    const auto rc = curl.wait_exit(30s);
    INFO("curl output: " << curl.output());
    REQUIRE(rc == 0);
    return curl.output();
}

std::string read_file(const std::string& path) {
    std::string out;
    if (FILE* f = std::fopen(path.c_str(), "rb")) {
        char buf[4096];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
        std::fclose(f);
    }
    return out;
}

// The shared body of the Prometheus-backend and VictoriaMetrics-backend tests: sender Prometheus
// -> daemon with a limits file -> `backend_port`; asserts exactly which series arrived, then that
// the daemon's cardinality API and drop counters agree.
void governed_scrape_path(unsigned short backend_port, bool victoria, child_process& backend_log) {
    static_target target(gauge_lines("e2e_capped", k_capped) + gauge_lines("e2e_free", k_free));
    temp_dir dir;
    dir.write("limits.yaml", k_limits_yaml);
    running_daemon d(
        {"-exporter-endpoint=http://127.0.0.1:" + std::to_string(backend_port) + "/api/v1/write",
         "-limits-config", dir.file("limits.yaml"), "-flush-interval=100ms"});
    REQUIRE(d.ingest_port() != 0);
    auto sender = std::make_unique<prometheus_peer>(
        "sender", sender_config(target.port(), d.ingest_port()), std::vector<std::string>{});
    std::vector<child_process*> logs{&sender->process(), &backend_log, &d.process()};

    // Exactly the first k_limit series of the capped metric, every other series whole.
    const auto want = expected_series(k_limit, k_free);
    std::set<std::string> got;
    const bool arrived = eventually(
        [&] {
            got = backend_series(backend_port, victoria);
            return got == want;
        },
        60s, logs);
    INFO("backend has: " << show(got));
    INFO("expected:    " << show(want));
    REQUIRE(arrived);

    // Let at least two more scrapes pass through the daemon, then look again: nothing more arrived.
    const auto received = [&] {
        return metric_value(
            daemon_metrics(d),
            R"(metrics_governor_datapoints_received_total{protocol="remote_write_v1"})");
    };
    const double before = received();
    const double per_scrape = k_capped + k_free + static_cast<double>(k_scrape_series.size());
    REQUIRE(eventually([&] { return received() >= before + 2 * per_scrape; }, 30s, logs));
    REQUIRE(eventually(
        [&] { return metric_value(daemon_metrics(d), "metrics_governor_queue_bytes") == 0; }, 30s,
        logs));
    got = backend_series(backend_port, victoria);
    CHECK(show(got) == show(want));

    // The daemon's view agrees with what the backend has.
    const auto api = json::parse(
        mg::test::http_get(d.stats_port(), "/api/v1/cardinality?metric=e2e_capped").body);
    CHECK(api["data"]["metric"]["value"] == k_limit);
    CHECK(api["data"]["metric"]["limit"] == k_limit);
    CHECK(api["data"]["metric"]["rule"] == "capped");
    const auto free_api =
        json::parse(mg::test::http_get(d.stats_port(), "/api/v1/cardinality?metric=e2e_free").body);
    CHECK(free_api["data"]["metric"]["value"] == k_free);
    CHECK(free_api["data"]["metric"]["droppedSeries"] == 0);

    // Stop the sender so the counters stand still, then compare them.
    sender->process().signal(SIGTERM);
    CHECK(sender->process().wait_exit(60s) == 0);
    sender.reset();
    logs = {&backend_log, &d.process()};
    const std::string dropped_series =
        R"(metrics_governor_series_dropped_total{reason="cardinality_limit",rule="capped"})";
    json capped;
    std::string page;
    // Quiet: every accepted point was either delivered or dropped by the limit, nothing queued.
    const bool settled = eventually(
        [&] {
            page = daemon_metrics(d);
            capped = json::parse(
                mg::test::http_get(d.stats_port(), "/api/v1/cardinality?metric=e2e_capped").body);
            const double in = metric_value(
                page, R"(metrics_governor_datapoints_received_total{protocol="remote_write_v1"})");
            const double sent = metric_value(page, "metrics_governor_datapoints_sent_total");
            const double dropped = capped["data"]["metric"]["droppedDatapoints"].get<double>();
            return metric_value(page, "metrics_governor_queue_bytes") == 0 && in > 0 &&
                   in == sent + dropped;
        },
        30s, logs);
    INFO(page);
    CHECK(settled);
    const double dropped_metric = metric_value(page, dropped_series);
    const double dropped_api = capped["data"]["metric"]["droppedSeries"].get<double>();
    CHECK(dropped_metric > 0);
    CHECK(dropped_metric == dropped_api);
    // Every scrape brings the same k_capped - k_limit over-limit series, and each is dropped.
    CHECK(std::fmod(dropped_metric, k_capped - k_limit) == 0);
    CHECK(metric_value(page, R"(metrics_governor_metric_cardinality{metric_name="e2e_capped"})") ==
          k_limit);
    CHECK(metric_value(page, R"(metrics_governor_metric_cardinality{metric_name="e2e_free"})") ==
          k_free);
    CHECK(page.find("metrics_governor_export_dropped_series_total{") == std::string::npos);
}

}  // namespace

TEST_CASE(
    "prometheus -> metrics-governor -> prometheus: exactly the series within the limit arrive",
    "[e2e]") {
    prometheus_peer backend("backend", k_backend_config, {"--web.enable-remote-write-receiver"});
    governed_scrape_path(backend.port(), false, backend.process());
}

TEST_CASE(
    "prometheus -> metrics-governor -> victoria-metrics: exactly the series within the limit "
    "arrive",
    "[e2e]") {
    reserved_port port;
    victoria_peer backend(port);
    governed_scrape_path(backend.port(), true, backend.process());
}

namespace {

// Every series the backend has for {job="e2e"}, each as its label set in JSON (keys sorted).
std::set<std::string> backend_label_sets(unsigned short port, bool victoria) {
    std::string target = "/api/v1/series?match%5B%5D=" + url_encode("{job=\"e2e\"}");
    if (victoria) {
        try_get(port, "/internal/force_flush");
        target += "&start=" + fixed3(unix_now() - 3600) + "&end=" + fixed3(unix_now() + 60);
    }
    const auto r = try_get(port, target);
    std::set<std::string> out;
    if (!r || r->status != 200) return out;
    const auto j = json::parse(r->body, nullptr, false);
    if (j.is_discarded() || j.value("status", "") != "success") return out;
    for (const auto& s : j["data"]) out.insert(s.dump());
    return out;
}

// The value and the timestamp (seconds) of an instant query's single result, or nullopt.
std::optional<std::pair<double, double>> query_one(unsigned short port, const std::string& q) {
    const auto r = try_get(port, "/api/v1/query?query=" + url_encode(q));
    if (!r || r->status != 200) return std::nullopt;
    const auto j = json::parse(r->body, nullptr, false);
    if (j.is_discarded() || j["data"]["result"].size() != 1) return std::nullopt;
    const auto& v = j["data"]["result"][0]["value"];
    return std::pair{std::stod(v[1].get<std::string>()), v[0].get<double>()};
}

std::string show_lines(const std::set<std::string>& s) {
    std::string out;
    for (const auto& x : s) out += "\n  " + x;
    return out;
}

// OTLP (JSON, then gzip protobuf) sent with curl -> daemon exporting remote write -> a real
// backend: the points are converted (names given Prometheus' unit and `_total` suffixes, names
// and labels sanitized, histograms and summaries expanded into their series), the governor's
// limit (keyed on the OTLP name) and the points that cannot be converted are reported in
// partial_success, and exactly the expected series arrive.
void otlp_path(unsigned short backend_port, bool victoria, child_process& backend_log) {
    temp_dir dir;
    dir.write("limits.yaml",
              "rules:\n  - name: otlp-capped\n    match: {metric_name: e2e_otlp_requests}\n    "
              "max_cardinality: 2\n");
    running_daemon d(
        {"-exporter-endpoint=http://127.0.0.1:" + std::to_string(backend_port) + "/api/v1/write",
         "-limits-config", dir.file("limits.yaml"), "-flush-interval=100ms"});
    std::vector<child_process*> logs{&backend_log, &d.process()};
    const auto url = "http://127.0.0.1:" + std::to_string(d.ingest_port()) + "/v1/metrics";

    // Recent timestamps (a backend refuses samples far in the past), whole milliseconds.
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const std::uint64_t t0 = static_cast<std::uint64_t>(now_ms - 2000) * 1000000ULL;
    const std::uint64_t t1 = t0 + 1000000000ULL;
    const auto pt = [](std::uint64_t t, std::vector<ob::attr> attrs) {
        ob::point p;
        p.attrs = std::move(attrs);
        p.time_ns = t;
        return p;
    };
    const auto number = [&](std::uint64_t t, std::vector<ob::attr> attrs, double v) {
        auto p = pt(t, std::move(attrs));
        p.as_double = v;
        return p;
    };
    const std::vector<ob::attr> resource{{"service.name", "e2e"}, {"service.instance.id", "i-1"}};

    // JSON, uncompressed: a counter with three new series (the third over the limit), a gauge
    // whose name and attribute need sanitizing, and a delta sum (Prometheus cannot store it).
    ob::scope js;
    js.name = "curl";
    js.metrics = {
        {"e2e_otlp_requests",
         ob::metric_kind::sum,
         2,
         true,
         false,
         {number(t0, {{"path", "/a"}}, 1), number(t0, {{"path", "/b"}}, 2),
          number(t0, {{"path", "/c"}}, 3)}},
        {"e2e.otlp.temp",
         ob::metric_kind::gauge,
         2,
         false,
         false,
         {number(t0, {{"room.name", "kitchen"}}, 21.5)},
         "Cel"},
        {"e2e_otlp_delta", ob::metric_kind::sum, 1, true, false, {number(t0, {}, 4)}},
    };
    dir.write("one.json", ob::to_json({ob::resource{resource, {js}}}));
    CHECK(curl_post(dir, url, "one.json", {"Content-Type: application/json"}, "one.resp") == "200");
    const auto one = json::parse(read_file(dir.file("one.resp")), nullptr, false);
    INFO("JSON response: " << read_file(dir.file("one.resp")));
    REQUIRE(!one.is_discarded());
    CHECK(one["partialSuccess"]["rejectedDataPoints"] == "2");  // the limit and the delta sum
    CHECK(one["partialSuccess"]["errorMessage"].get<std::string>().find("delta") !=
          std::string::npos);

    // Protobuf, gzip: /a is known and passes, /d is new and over the limit; a histogram, a
    // summary, and an exponential histogram (not exported: native histograms are off).
    ob::scope ps;
    ps.name = "curl";
    auto hist = pt(t1, {{"route", "/x"}});
    hist.count = 6;
    hist.sum = 4.5;
    hist.bounds = {0.1, 1};
    hist.bucket_counts = {1, 2, 3};
    auto summary = pt(t1, {});
    summary.count = 10;
    summary.sum = 3;
    summary.quantiles = {{0.5, 0.2}, {0.9, 0.7}};
    auto exph = pt(t1, {});
    exph.count = 2;
    exph.sum = 3;
    exph.pos_counts = {2};
    ps.metrics = {
        {"e2e_otlp_requests",
         ob::metric_kind::sum,
         2,
         true,
         false,
         {number(t1, {{"path", "/a"}}, 5), number(t1, {{"path", "/d"}}, 6)}},
        {"e2e_otlp_latency", ob::metric_kind::histogram, 2, false, false, {hist}, "s"},
        {"e2e_otlp_summary", ob::metric_kind::summary, 0, false, false, {summary}},
        {"e2e_otlp_size", ob::metric_kind::exponential_histogram, 2, false, false, {exph}},
    };
    std::string gz;
    REQUIRE(proto::gzip_encode(ob::to_protobuf({ob::resource{resource, {ps}}}), 1, gz).ok());
    dir.write("two.pb.gz", gz);
    CHECK(curl_post(dir, url, "two.pb.gz",
                    {"Content-Type: application/x-protobuf", "Content-Encoding: gzip"},
                    "two.resp") == "200");
    proto::otlp_partial_success partial;
    REQUIRE(proto::decode_otlp_response_protobuf(read_file(dir.file("two.resp")), partial).ok());
    CHECK(partial.rejected_data_points == 2);  // the limit and the exponential histogram
    CHECK(partial.error_message.find("exponential") != std::string::npos);

    // Exactly these series, with exactly these labels (the resource's attributes are labels,
    // sanitized, plus job and instance derived from service.name and service.instance.id; the
    // resource has no other attribute, so there is no target_info). The monotonic sum gets
    // `_total`, the units `Cel` and `s` their words.
    const auto labels = [](const std::string& name, std::map<std::string, std::string> extra) {
        json j = {{"__name__", name},
                  {"instance", "i-1"},
                  {"job", "e2e"},
                  {"otel_scope_name", "curl"},
                  {"service_instance_id", "i-1"},
                  {"service_name", "e2e"}};
        for (const auto& [k, v] : extra) j[k] = v;
        return j.dump();
    };
    const std::set<std::string> want{
        labels("e2e_otlp_requests_total", {{"path", "/a"}}),
        labels("e2e_otlp_requests_total", {{"path", "/b"}}),
        labels("e2e_otlp_temp_celsius", {{"room_name", "kitchen"}}),
        labels("e2e_otlp_latency_seconds_bucket", {{"route", "/x"}, {"le", "0.1"}}),
        labels("e2e_otlp_latency_seconds_bucket", {{"route", "/x"}, {"le", "1"}}),
        labels("e2e_otlp_latency_seconds_bucket", {{"route", "/x"}, {"le", "+Inf"}}),
        labels("e2e_otlp_latency_seconds_sum", {{"route", "/x"}}),
        labels("e2e_otlp_latency_seconds_count", {{"route", "/x"}}),
        labels("e2e_otlp_summary", {{"quantile", "0.5"}}),
        labels("e2e_otlp_summary", {{"quantile", "0.9"}}),
        labels("e2e_otlp_summary_sum", {}),
        labels("e2e_otlp_summary_count", {}),
    };
    std::set<std::string> got;
    const bool arrived = eventually(
        [&] {
            got = backend_label_sets(backend_port, victoria);
            return got == want;
        },
        60s, logs);
    INFO("backend has:" << show_lines(got));
    INFO("expected:" << show_lines(want));
    REQUIRE(arrived);

    // Values and timestamps as sent: buckets are cumulative, ns became ms.
    const auto value = [&](const std::string& q) {
        const auto v = query_one(backend_port, q);
        INFO(q);
        REQUIRE(v.has_value());
        return *v;
    };
    CHECK(value(R"(e2e_otlp_latency_seconds_bucket{le="1"})").first == 3);
    CHECK(value(R"(e2e_otlp_latency_seconds_bucket{le="+Inf"})").first == 6);
    CHECK(value(R"(e2e_otlp_latency_seconds_sum)").first == 4.5);
    CHECK(value(R"(e2e_otlp_summary{quantile="0.9"})").first == 0.7);
    CHECK(value(R"(e2e_otlp_requests_total{path="/a"})").first == 5);
    CHECK(value(R"(e2e_otlp_temp_celsius)").first == 21.5);
    // The sample's own timestamp (VictoriaMetrics' timestamp() gives the evaluation time).
    const double sent_at = static_cast<double>(t0 / 1000000) / 1e3;
    CHECK(std::abs(value(victoria ? "tlast_over_time(e2e_otlp_temp_celsius[10m])"
                                  : "timestamp(e2e_otlp_temp_celsius)")
                       .first -
                   sent_at) < 0.0005);

    // The daemon's accounting, in OTLP data points: received = dropped by the limit +
    // converted + not convertible; and what was sent is what the backend got (13 samples).
    std::string page;
    const bool settled = eventually(
        [&] {
            page = daemon_metrics(d);
            return metric_value(page, "metrics_governor_queue_bytes") == 0 &&
                   metric_value(page, "metrics_governor_datapoints_sent_total") == 13;
        },
        30s, logs);
    INFO(page);
    CHECK(settled);
    CHECK(metric_value(page,
                       R"(metrics_governor_datapoints_received_total{protocol="otlp_json"})") == 5);
    CHECK(metric_value(page,
                       R"(metrics_governor_datapoints_received_total{protocol="otlp_protobuf"})") ==
          5);
    CHECK(
        metric_value(
            page,
            R"(metrics_governor_series_dropped_total{reason="cardinality_limit",rule="otlp-capped"})") ==
        2);
    CHECK(metric_value(page, "metrics_governor_export_converted_datapoints_total") == 6);
    CHECK(
        metric_value(
            page,
            R"(metrics_governor_export_conversion_dropped_datapoints_total{reason="delta_temporality"})") ==
        1);
    CHECK(
        metric_value(
            page,
            R"(metrics_governor_export_conversion_dropped_datapoints_total{reason="exponential_histogram"})") ==
        1);
    CHECK(metric_value(page, "metrics_governor_export_series_sent_total") == 13);
    CHECK(page.find("metrics_governor_export_dropped_series_total{") == std::string::npos);
    // The governor counts under the name the sender used, not the exported one.
    const auto api = json::parse(
        mg::test::http_get(d.stats_port(), "/api/v1/cardinality?metric=e2e_otlp_requests").body);
    CHECK(api["data"]["metric"]["value"] == 2);
    CHECK(api["data"]["metric"]["limit"] == 2);
    CHECK(api["data"]["metric"]["droppedSeries"] == 2);

    // Nothing else arrived meanwhile.
    CHECK(show_lines(backend_label_sets(backend_port, victoria)) == show_lines(want));
}

}  // namespace

TEST_CASE(
    "OTLP JSON and protobuf with curl -> metrics-governor -> prometheus: converted to "
    "remote write, exactly the kept series arrive",
    "[e2e]") {
    prometheus_peer backend("backend", k_backend_config, {"--web.enable-remote-write-receiver"});
    otlp_path(backend.port(), false, backend.process());
}

TEST_CASE(
    "OTLP JSON and protobuf with curl -> metrics-governor -> victoria-metrics: converted "
    "to remote write, exactly the kept series arrive",
    "[e2e]") {
    reserved_port port;
    victoria_peer backend(port);
    otlp_path(backend.port(), true, backend.process());
}

namespace {

// One OTLP exponential histogram point (protobuf) with curl -> a daemon with
// -exporter-native-histograms -> `backend_port`. Returns the daemon (still running) so the
// caller can look at what it did; the point's count is 12 and its sum 100.5.
std::unique_ptr<running_daemon> send_native_histogram(unsigned short backend_port,
                                                      const temp_dir& dir) {
    auto d = std::make_unique<running_daemon>(std::vector<std::string>{
        "-exporter-endpoint=http://127.0.0.1:" + std::to_string(backend_port) + "/api/v1/write",
        "-exporter-native-histograms", "-flush-interval=100ms", "-shutdown-timeout=1s"});
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    ob::point p;
    p.attrs = {{"dir", "in"}};
    p.time_ns = static_cast<std::uint64_t>(now_ms - 1000) * 1000000ULL;
    p.count = 12;
    p.sum = 100.5;
    p.scale = 3;
    p.zero_count = 1;
    p.pos_offset = -2;
    p.pos_counts = {0, 2, 0, 5, 1, 0};
    p.neg_offset = 4;
    p.neg_counts = {3};
    ob::scope sc;
    sc.name = "curl";
    sc.metrics = {
        {"e2e_native_size", ob::metric_kind::exponential_histogram, 2, false, false, {p}}};
    dir.write("hist.pb", ob::to_protobuf({ob::resource{{{"service.name", "e2e"}}, {sc}}}));
    const auto url = "http://127.0.0.1:" + std::to_string(d->ingest_port()) + "/v1/metrics";
    CHECK(curl_post(dir, url, "hist.pb", {"Content-Type: application/x-protobuf"}, "hist.resp") ==
          "200");
    proto::otlp_partial_success partial;
    REQUIRE(proto::decode_otlp_response_protobuf(read_file(dir.file("hist.resp")), partial).ok());
    CHECK(partial.rejected_data_points == 0);
    return d;
}

}  // namespace

// -exporter-native-histograms against a Prometheus that stores native histograms: the OTLP
// exponential histogram arrives as one native histogram with the count and sum sent.
// (No ": " far into a test name: Catch's console reporter indents a wrapped name to it and
// aborts when that is past the line width.)
TEST_CASE(
    "native histograms: OTLP exponential histogram -> metrics-governor with "
    "-exporter-native-histograms -> prometheus with the feature on, count and sum arrive",
    "[e2e]") {
    prometheus_peer backend(
        "backend", k_backend_config,
        {"--web.enable-remote-write-receiver", "--enable-feature=native-histograms"});
    temp_dir dir;
    auto d = send_native_histogram(backend.port(), dir);
    std::vector<child_process*> logs{&backend.process(), &d->process()};
    std::optional<std::pair<double, double>> count;
    const bool arrived = eventually(
        [&] {
            count = query_one(backend.port(), R"(histogram_count(e2e_native_size{dir="in"}))");
            return count.has_value();
        },
        60s, logs);
    INFO("backend log:\n" << backend.process().output());
    REQUIRE(arrived);
    CHECK(count->first == 12);
    const auto sum = query_one(backend.port(), R"(histogram_sum(e2e_native_size{dir="in"}))");
    REQUIRE(sum.has_value());
    CHECK(sum->first == 100.5);
    // A native histogram, not float series: nothing like e2e_native_size_count was made.
    CHECK_FALSE(query_one(backend.port(), "e2e_native_size_count").has_value());

    const auto page = daemon_metrics(*d);
    CHECK(metric_value(page, "metrics_governor_export_converted_datapoints_total") == 1);
    CHECK(metric_value(page, "metrics_governor_datapoints_sent_total") == 1);
    CHECK(page.find("metrics_governor_export_conversion_dropped_datapoints_total{") ==
          std::string::npos);
}

// The trade-off behind the default (docs/export.md): the same request to a Prometheus without
// --enable-feature=native-histograms is answered 500 and retried, so it would hold up every
// later batch.
TEST_CASE(
    "native histograms: OTLP exponential histogram -> metrics-governor with "
    "-exporter-native-histograms -> prometheus without the feature answers 500 and is retried",
    "[e2e]") {
    prometheus_peer backend("backend", k_backend_config, {"--web.enable-remote-write-receiver"});
    temp_dir dir;
    auto d = send_native_histogram(backend.port(), dir);
    std::vector<child_process*> logs{&backend.process(), &d->process()};
    std::string page;
    const bool refused = eventually(
        [&] {
            page = daemon_metrics(*d);
            return metric_value(page, R"(metrics_governor_export_requests_total{code="500"})") >=
                       2 &&
                   metric_value(page, "metrics_governor_export_retries_total") >= 2;
        },
        60s, logs);
    INFO(page);
    CHECK(refused);
    CHECK(metric_value(page, "metrics_governor_datapoints_sent_total") == 0);
    CHECK(metric_value(page, "metrics_governor_queue_bytes") > 0);
}

// The other direction is not converted: remote write for a daemon exporting OTLP is refused
// with 415 and a message saying so, not lost silently. (The backend is never contacted: a
// reserved port where nothing listens.)
TEST_CASE("remote write with curl to a daemon exporting OTLP is refused with 415", "[e2e]") {
    reserved_port nowhere;
    temp_dir dir;
    running_daemon d(
        {"-exporter-protocol=otlp",
         "-exporter-endpoint=http://127.0.0.1:" + std::to_string(nowhere.port()) + "/v1/metrics"});
    std::vector<proto::owned_timeseries> ts(1);
    ts[0].labels = {{"__name__", "e2e_rw"}, {"job", "e2e"}};
    ts[0].samples = {{1.0, 1700000000000}};
    std::string body, snappy;
    proto::encode_remote_write_v1(ts, {}, body);
    proto::snappy_encode(body, snappy);
    dir.write("rw.bin", snappy);
    const auto url = "http://127.0.0.1:" + std::to_string(d.ingest_port()) + "/api/v1/write";
    CHECK(curl_post(dir, url, "rw.bin",
                    {"Content-Type: application/x-protobuf", "Content-Encoding: snappy"},
                    "resp") == "415");
    const auto resp = read_file(dir.file("resp"));
    INFO(resp);
    CHECK(resp.find("-exporter-protocol=otlp") != std::string::npos);
    CHECK(resp.find("not implemented") != std::string::npos);
    CHECK(metric_value(daemon_metrics(d), "metrics_governor_export_series_sent_total") == 0);
}

namespace {

// Sender Prometheus -> daemon -> a backend Prometheus that is not there yet. After several scrapes
// were accepted (and failed to export), the backend starts on the port the daemon was given; then
// every raw sample the sender scraped up to that moment must be in the backend, value and
// timestamp, and the daemon must have dropped nothing.
void outage_path(int shards) {
    constexpr int k_series = 10;
    static_target target(gauge_lines("e2e_load", k_series));
    reserved_port
        backend_port;  // held, not listening: connections are refused until the backend starts
    running_daemon d({"-exporter-endpoint=http://127.0.0.1:" + std::to_string(backend_port.port()) +
                          "/api/v1/write",
                      "-flush-interval=100ms", "-exporter-retry-backoff-max=500ms",
                      "-exporter-min-shards=" + std::to_string(shards),
                      "-exporter-max-shards=" + std::to_string(shards)});
    prometheus_peer sender("sender", sender_config(target.port(), d.ingest_port()), {});
    std::vector<child_process*> logs{&sender.process(), &d.process()};

    // The daemon accepts several scrapes and keeps failing to connect to the missing backend.
    const double per_scrape = k_series + static_cast<double>(k_scrape_series.size());
    std::string page;
    {
        const bool buffered = eventually(
            [&] {
                page = daemon_metrics(d);
                return metric_value(
                           page,
                           R"(metrics_governor_datapoints_received_total{protocol="remote_write_v1"})") >=
                           3 * per_scrape &&
                       metric_value(
                           page, R"(metrics_governor_export_errors_total{reason="connect"})") >= 1;
            },
            60s, logs);
        INFO(page);
        REQUIRE(buffered);
        CHECK(metric_value(page, "metrics_governor_datapoints_sent_total") == 0);
        CHECK(metric_value(page, "metrics_governor_queue_bytes") > 0);
    }

    // The backend comes up on the port the daemon was given.
    const double backend_start = unix_now();
    prometheus_peer backend("backend", k_backend_config, {"--web.enable-remote-write-receiver"},
                            backend_port.port());
    backend_port.release();
    logs.push_back(&backend.process());
    // Every sample scraped up to t1 is compared (each series has a sample from every scrape before
    // the backend started, and one or two after).
    const double t1 = unix_now();

    // The raw samples of every series of the job, on each Prometheus, up to t1.
    const auto samples = [&](unsigned short port) {
        std::map<std::string, std::string> out;
        const auto r = try_get(port, "/api/v1/query?query=" + url_encode("{job=\"e2e\"}[10m]") +
                                         "&time=" + fixed3(t1));
        if (!r || r->status != 200) return out;
        const auto j = json::parse(r->body, nullptr, false);
        if (j.is_discarded() || j.value("status", "") != "success") return out;
        for (const auto& s : j["data"]["result"]) out[s["metric"].dump()] = s["values"].dump();
        return out;
    };
    // The sender has stored every scrape up to t1 once its newest `up` sample is later than t1.
    const auto sender_past_t1 = [&] {
        const auto r = try_get(sender.port(),
                               "/api/v1/query?query=" + url_encode("timestamp(up{job=\"e2e\"})"));
        if (!r || r->status != 200) return false;
        const auto j = json::parse(r->body, nullptr, false);
        if (j.is_discarded() || j["data"]["result"].empty()) return false;
        return std::stod(j["data"]["result"][0]["value"][1].get<std::string>()) > t1;
    };
    std::map<std::string, std::string> scraped, arrived;
    bool lost = false;  // the daemon gave up on data: no need to wait for it
    const bool settled = eventually(
        [&] {
            lost = daemon_metrics(d).find("metrics_governor_export_dropped_series_total{") !=
                   std::string::npos;
            if (!sender_past_t1()) return lost;
            scraped = samples(sender.port());
            arrived = samples(backend.port());
            return lost || (!scraped.empty() && scraped == arrived);
        },
        60s, logs);
    scraped = samples(sender.port());
    arrived = samples(backend.port());
    const bool same = !scraped.empty() && scraped == arrived;
    std::string diff;
    for (const auto& [k, v] : scraped) {
        auto it = arrived.find(k);
        if (it == arrived.end())
            diff += "missing " + k + "\n";
        else if (it->second != v)
            diff += "differs " + k + ": sent " + v + " got " + it->second + "\n";
    }
    page = daemon_metrics(d);
    INFO(diff);
    INFO("backend log:\n" << backend.process().output());
    INFO("daemon log:\n" << d.process().output());
    INFO("daemon metrics:\n" << page);
    CHECK(settled);
    CHECK_FALSE(lost);
    CHECK(same);
    CHECK(scraped.size() == k_series + k_scrape_series.size());
    CHECK(page.find("metrics_governor_export_dropped_series_total{") == std::string::npos);
    CHECK(metric_value(page, "metrics_governor_datapoints_sent_total") > 0);

    // The outage was real: each series has samples scraped while the backend was down.
    for (const auto& [k, v] : scraped) {
        int before = 0;
        for (const auto& sample : json::parse(v))
            before += sample[0].get<double>() < backend_start ? 1 : 0;
        INFO(k);
        CHECK(before >= 3);
    }
}

}  // namespace

// With one shard a batch retried during an outage is delivered before any later one, so
// Prometheus sees every series' samples in order. With several shards each series still travels
// one lane with one request in flight, retries included: Prometheus must never answer 400 "out of
// order sample" after the outage (it did, with several plain connections, before the lanes).
TEST_CASE("backend down then up, one shard: every sample prometheus scraped arrives", "[e2e]") {
    outage_path(1);
}

TEST_CASE("backend down then up, four shards: every sample arrives, none out of order", "[e2e]") {
    outage_path(4);
}

// loadgen -> daemon -> 50 ms of added round trip -> Prometheus. One shard carries about one
// request per round trip; the load sends more, so the daemon must add shards (and merge requests)
// to keep up: every sample accepted arrives, none is refused as out of order, the queue stays
// bounded and no sender gets a 429.
TEST_CASE("a backend 50 ms away: the shards keep up, nothing lost, nothing out of order", "[e2e]") {
    prometheus_peer backend("backend", k_backend_config, {"--web.enable-remote-write-receiver"});
    mg::test::delay_proxy far(backend.port(), 25ms);  // 25 ms each way
    running_daemon d(
        {"-exporter-endpoint=http://127.0.0.1:" + std::to_string(far.port()) + "/api/v1/write",
         "-flush-interval=100ms"});
    std::vector<child_process*> logs{&backend.process(), &d.process()};
    constexpr int k_series = 2000;
    constexpr int k_cycles = 60;
    // 10 requests a cycle, 50 requests/s: 10000 samples/s for 12 s, against ~20 round trips/s.
    child_process load(
        peer_command(MG_LOADGEN_PATH,
                     {"-url=http://127.0.0.1:" + std::to_string(d.ingest_port()) + "/api/v1/write",
                      "-series=" + std::to_string(k_series), "-metrics=10", "-labels=4",
                      "-series-per-request=200", "-cycles=" + std::to_string(k_cycles), "-rate=50",
                      "-timestamps=now", "-concurrency=2", "-report=json"}));
    double max_queue = 0;
    const auto rc = [&] {
        for (;;) {
            if (auto code = load.wait_exit(200ms)) return code;
            max_queue = std::max(max_queue,
                                 metric_value(daemon_metrics(d), "metrics_governor_queue_bytes"));
            for (auto* p : logs) drain(*p);
        }
    }();
    INFO("loadgen:\n" << load.output());
    REQUIRE(rc == 0);  // every request answered 2xx: no 429, no 5xx
    const auto report = json::parse(load.output().substr(load.output().find('{')));
    const double sent = report["samples_ok"].get<double>();
    CHECK(sent == static_cast<double>(k_series) * k_cycles);

    // Everything accepted reaches Prometheus.
    const auto stored = [&] {
        const auto v =
            query_one(backend.port(), "sum(count_over_time({__name__=~\"loadgen_.*\"}[1h]))");
        return v ? v->first : 0.0;
    };
    const bool all = eventually([&] { return stored() == sent; }, 120s, logs);
    const auto page = daemon_metrics(d);
    INFO("daemon metrics:\n" << page);
    INFO("stored " << stored() << " of " << sent);
    CHECK(all);
    CHECK(metric_value(page, R"(metrics_governor_export_errors_total{reason="http_4xx"})") == 0);
    CHECK(page.find("metrics_governor_export_dropped_series_total{") == std::string::npos);
    const auto backend_page = try_get(backend.port(), "/metrics");
    REQUIRE(backend_page);
    CHECK(mg::test::family_sum(backend_page->body, "prometheus_tsdb_out_of_order_samples_total") ==
          0);
    // It took more than one shard, and the backlog stayed far from the queue's budget.
    CHECK(metric_value(page, R"(metrics_governor_export_reshards_total{direction="up"})") >= 1);
    CHECK(max_queue < 0.25 * metric_value(page, "metrics_governor_queue_max_bytes"));
}
