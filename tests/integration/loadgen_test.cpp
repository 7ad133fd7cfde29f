// The load generator binary (cmd/metrics-governor-loadgen) end to end: against the recording
// fake backend, where every request it sent can be decoded and counted, and against the real
// daemon, whose ingest counters on /metrics must agree with the generator's report. Also the
// failure paths: non-2xx answers and refused connections exit 1 with the report, bad flags exit 2.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "protocol/compression.h"
#include "protocol/otlp.h"
#include "protocol/remote_write.h"
#include "support/daemon.h"
#include "support/fake_backend.h"
#include "support/http_client.h"
#include "support/process.h"

using namespace std::chrono_literals;
using mg::test::child_process;
using mg::test::fake_backend;
using mg::test::recorded_request;
using mg::test::running_daemon;
namespace proto = mg::protocol;

namespace {

struct loadgen_run {
    int exit_code = -1;
    std::string output;     // stdout and stderr together
    nlohmann::json report;  // null when the output holds no JSON report
};

loadgen_run run_loadgen(std::vector<std::string> args) {
    args.insert(args.begin(), MG_LOADGEN_PATH);
    child_process p(args);
    const auto code = p.wait_exit(120s);
    INFO(p.output());
    REQUIRE(code.has_value());
    loadgen_run run;
    run.exit_code = *code;
    run.output = p.output();
    // With -report=json stdout is one JSON object; stderr is empty unless the run failed to start.
    const auto open = run.output.find('{');
    const auto close = run.output.rfind('}');
    if (open != std::string::npos && close != std::string::npos && close > open) {
        run.report =
            nlohmann::json::parse(run.output.substr(open, close - open + 1), nullptr, false);
        if (run.report.is_discarded()) run.report = nullptr;
    }
    return run;
}

std::uint64_t u64(const nlohmann::json& j, const char* key) {
    return j.at(key).get<std::uint64_t>();
}

// The value of one sample line ("name{labels} value") of a /metrics scrape; -1 when absent.
double scraped(const std::string& metrics, const std::string& series) {
    std::istringstream lines(metrics);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    }
    return -1;
}

// Every series of every remote-write request the backend recorded, as its series_id label.
std::vector<std::string> series_ids(const std::vector<recorded_request>& reqs,
                                    std::size_t& labels_per_series) {
    std::vector<std::string> ids;
    labels_per_series = 0;
    for (const auto& r : reqs) {
        std::string raw;
        REQUIRE(proto::snappy_decode(r.body, 1 << 28, raw).ok());
        proto::series_batch b;
        REQUIRE(proto::decode_remote_write_v1(raw, b).ok());
        for (std::size_t i = 0; i < b.size(); ++i) {
            labels_per_series = std::max(labels_per_series, b[i].labels.size());
            for (const auto& l : b[i].labels) {
                if (l.name == "series_id") ids.emplace_back(l.value);
            }
        }
    }
    return ids;
}

void check_latency_order(const nlohmann::json& report) {
    const auto& l = report.at("latency_ms");
    CHECK(l.at("p50").get<double>() > 0);
    CHECK(l.at("p50").get<double>() <= l.at("p90").get<double>());
    CHECK(l.at("p90").get<double>() <= l.at("p99").get<double>());
    CHECK(l.at("p99").get<double>() <= l.at("max").get<double>());
}

// A port on which connections are refused for as long as the socket lives: bound, not listening.
class refused_port {
  public:
    refused_port() {
        fd_ = socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = 0;
        REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        socklen_t len = sizeof a;
        REQUIRE(getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
        port_ = ntohs(a.sin_port);
    }
    ~refused_port() { close(fd_); }
    refused_port(const refused_port&) = delete;
    refused_port& operator=(const refused_port&) = delete;
    unsigned short port() const { return port_; }

  private:
    int fd_ = -1;
    unsigned short port_ = 0;
};

}  // namespace

TEST_CASE("loadgen against the fake backend: the report matches what the backend received",
          "[loadgen]") {
    fake_backend backend;
    const std::vector<std::string> args{"-url=" + backend.url(),
                                        "-series=2000",
                                        "-metrics=10",
                                        "-labels=6",
                                        "-series-per-request=500",
                                        "-cycles=2",
                                        "-churn=0.1",
                                        "-concurrency=2",
                                        "-report=json",
                                        "-seed=7"};
    const auto run = run_loadgen(args);
    INFO(run.output);
    REQUIRE(run.exit_code == 0);
    REQUIRE(run.report.is_object());
    const auto& r = run.report;
    CHECK(u64(r, "requests") == 8);
    CHECK(u64(r, "requests_ok") == 8);
    CHECK(u64(r, "requests_failed") == 0);
    CHECK(u64(r, "requests_per_cycle") == 4);
    CHECK(u64(r, "cycles") == 2);
    CHECK(u64(r, "samples") == 4000);
    CHECK(u64(r, "samples_ok") == 4000);
    CHECK(u64(r, "series_sent") == 4000);
    CHECK(u64(r, "series_created") == 2200);
    CHECK(r.at("responses").at("2xx") == 8);
    CHECK(r.at("responses").at("network") == 0);
    CHECK(r.at("status_codes").at("204") == 8);
    CHECK(u64(r, "connections_opened") == 2);  // keep-alive: one per connection for the run
    CHECK(r.at("samples_per_second").get<double>() > 0);
    check_latency_order(r);

    // The backend recorded each request before answering it, so all 8 are there already.
    const auto reqs = backend.requests();
    REQUIRE(reqs.size() == 8);
    std::uint64_t bytes = 0;
    for (const auto& q : reqs) {
        CHECK(q.target == "/api/v1/write");
        CHECK(q.content_type == "application/x-protobuf");
        CHECK(q.content_encoding == "snappy");
        bytes += q.body.size();
    }
    CHECK(u64(r, "bytes") == bytes);
    std::size_t labels = 0;
    const auto ids = series_ids(reqs, labels);
    CHECK(ids.size() == 4000);
    CHECK(std::set<std::string>(ids.begin(), ids.end()).size() ==
          2200);  // 2000 + 10% new in cycle 1
    CHECK(labels == 6);

    SECTION("the same seed sends the same bodies, another seed other ones") {
        fake_backend again, other;
        auto same_args = args;
        same_args[0] = "-url=" + again.url();
        REQUIRE(run_loadgen(same_args).exit_code == 0);
        auto other_args = args;
        other_args[0] = "-url=" + other.url();
        other_args.back() = "-seed=8";
        REQUIRE(run_loadgen(other_args).exit_code == 0);
        // The two connections interleave at the receiver, so compare the bodies as sets.
        const auto bodies = [](const std::vector<recorded_request>& rs) {
            std::multiset<std::string> out;
            for (const auto& q : rs) out.insert(q.body);
            return out;
        };
        CHECK(bodies(again.requests()) == bodies(reqs));
        const auto a = bodies(reqs);
        const auto b = bodies(other.requests());
        REQUIRE(b.size() == 8);
        std::vector<std::string> common;
        std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(common));
        CHECK(common.empty());
    }
}

TEST_CASE("loadgen against the daemon: the daemon's received counters match the report",
          "[loadgen]") {
    running_daemon d;
    const std::string base = "http://127.0.0.1:" + std::to_string(d.ingest_port());

    const auto prw =
        run_loadgen({"-url=" + base + "/api/v1/write", "-series=2000", "-metrics=20", "-labels=8",
                     "-cycles=2", "-churn=0.1", "-concurrency=2", "-report=json"});
    INFO(prw.output);
    REQUIRE(prw.exit_code == 0);
    REQUIRE(prw.report.is_object());
    CHECK(u64(prw.report, "requests") == 4);  // 2 cycles of 2 requests of 1000 series
    CHECK(u64(prw.report, "samples_ok") == 4000);
    check_latency_order(prw.report);

    // OTLP without a path in the URL goes to /v1/metrics; 2 points per series.
    const auto otlp = run_loadgen({"-url=" + base, "-protocol=otlp", "-series=1500", "-metrics=3",
                                   "-labels=4", "-samples-per-series=2", "-series-per-request=400",
                                   "-cycles=2", "-concurrency=3", "-report=json"});
    INFO(otlp.output);
    REQUIRE(otlp.exit_code == 0);
    REQUIRE(otlp.report.is_object());
    CHECK(u64(otlp.report, "requests") == 8);
    CHECK(u64(otlp.report, "samples_ok") == 6000);

    // The daemon counts a request before it answers, and the generator exited after reading
    // every answer, so the counters are final.
    const auto metrics = mg::test::http_get(d.stats_port(), "/metrics").body;
    INFO(metrics.substr(0, 4000));
    CHECK(scraped(metrics,
                  R"(metrics_governor_requests_total{code="204",protocol="remote_write_v1"})") ==
          static_cast<double>(u64(prw.report, "requests")));
    CHECK(scraped(metrics,
                  R"(metrics_governor_datapoints_received_total{protocol="remote_write_v1"})") ==
          static_cast<double>(u64(prw.report, "samples_ok")));
    CHECK(
        scraped(metrics, R"(metrics_governor_series_received_total{protocol="remote_write_v1"})") ==
        static_cast<double>(u64(prw.report, "series_sent")));
    CHECK(scraped(metrics,
                  R"(metrics_governor_requests_total{code="200",protocol="otlp_protobuf"})") ==
          static_cast<double>(u64(otlp.report, "requests")));
    CHECK(scraped(metrics,
                  R"(metrics_governor_datapoints_received_total{protocol="otlp_protobuf"})") ==
          static_cast<double>(u64(otlp.report, "samples_ok")));
}

TEST_CASE("loadgen counts 5xx and 429 answers by class, does not retry, and exits 1", "[loadgen]") {
    fake_backend backend;
    const int status = GENERATE(503, 429, 400);
    backend.set_status(status);
    const auto run = run_loadgen({"-url=" + backend.url(), "-series=300", "-series-per-request=100",
                                  "-cycles=2", "-concurrency=2", "-report=json"});
    INFO(run.output);
    CHECK(run.exit_code == 1);
    REQUIRE(run.report.is_object());
    CHECK(u64(run.report, "requests") == 6);
    CHECK(u64(run.report, "requests_ok") == 0);
    CHECK(u64(run.report, "requests_failed") == 6);
    CHECK(u64(run.report, "samples_ok") == 0);
    const std::string cls = status == 429 ? "429" : status == 503 ? "5xx" : "4xx";
    CHECK(run.report.at("responses").at(cls) == 6);
    CHECK(run.report.at("responses").at("2xx") == 0);
    CHECK(run.report.at("status_codes").at(std::to_string(status)) == 6);
    CHECK(backend.requests().size() == 6);  // no retries
}

TEST_CASE("loadgen counts refused connections as network errors and exits 1", "[loadgen]") {
    refused_port port;
    const auto run =
        run_loadgen({"-url=http://127.0.0.1:" + std::to_string(port.port()) + "/api/v1/write",
                     "-series=100", "-series-per-request=50", "-cycles=2", "-report=text"});
    INFO(run.output);
    CHECK(run.exit_code == 1);
    CHECK(run.output.find("requests      4 sent, 0 ok, 4 failed") != std::string::npos);
    CHECK(run.output.find("network=4") != std::string::npos);
    // And says what the first was.
    CHECK(run.output.find("network error connect: Connection refused (the first)") !=
          std::string::npos);
}

TEST_CASE("loadgen -rate paces the requests and -duration ends the run", "[loadgen]") {
    fake_backend backend;
    // 20 requests per second for 300 ms: requests are due at 0, 50, ..., 250 ms, so the run
    // cannot end before 250 ms and sends at most 6 requests.
    const auto run = run_loadgen({"-url=" + backend.url(), "-series=100", "-series-per-request=10",
                                  "-rate=20", "-duration=300ms", "-report=json"});
    INFO(run.output);
    REQUIRE(run.exit_code == 0);
    REQUIRE(run.report.is_object());
    const auto requests = u64(run.report, "requests");
    CHECK(requests >= 1);
    CHECK(requests <= 6);
    CHECK(backend.requests().size() == requests);
    if (requests == 6) CHECK(run.report.at("elapsed_seconds").get<double>() >= 0.25);
    CHECK(u64(run.report, "cycles") == 0);  // 10 requests per cycle: the first is cut short
}

TEST_CASE("loadgen exits 2 on bad flags, naming the flag and the accepted form", "[loadgen]") {
    auto run = run_loadgen({"-url=http://127.0.0.1:9/api/v1/write", "-series=abc"});
    CHECK(run.exit_code == 2);
    CHECK(run.output.find("-series: \"abc\"") != std::string::npos);
    CHECK(run.output.find("want an integer 1..10000000") != std::string::npos);

    run = run_loadgen({"-series=10"});
    CHECK(run.exit_code == 2);
    CHECK(run.output.find("-url: required") != std::string::npos);

    run = run_loadgen({"-url=http://127.0.0.1:9/", "-churn=2", "-no-such-flag"});
    CHECK(run.exit_code == 2);
    CHECK(run.output.find("-churn:") != std::string::npos);
    CHECK(run.output.find("-no-such-flag: unknown flag") != std::string::npos);

    run = run_loadgen({"-help"});
    CHECK(run.exit_code == 0);
    CHECK(run.output.find("-series-per-request") != std::string::npos);
}

// Not run by ctest (hidden tag): how fast the generator goes against the fake backend, to show
// it is not the bottleneck. First a run short enough to be encoded entirely before the clock
// starts (the send path alone), then a sustained one where later cycles are encoded while
// sending. Run by hand: loadgen_integration_test "[perf]"
TEST_CASE("loadgen throughput against the fake backend", "[.][perf]") {
    for (const char* length : {"-cycles=5", "-duration=10s"}) {
        fake_backend backend;
        const auto run =
            run_loadgen({"-url=" + backend.url(), "-series=200000", "-metrics=50", "-labels=8",
                         length, "-churn=0.05", "-concurrency=2", "-report=text"});
        REQUIRE(run.exit_code == 0);
        WARN(run.output);
    }
}
