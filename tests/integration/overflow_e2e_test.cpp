// Overflow instead of loss (issue 21), end to end with real Prometheus servers: a sender
// `prometheus` scrapes a target whose counters grow 1/s per series and remote-writes to
// metrics-governor, whose limits file folds every series past 100 per metric (action overflow)
// into overflow series; a backend `prometheus` (--web.enable-remote-write-receiver) receives what
// the daemon forwards. PromQL at the backend then shows the totals unchanged across the limit:
// sum(rate(...[1m])) is what the target's series really do (within 2%), per histogram bucket too,
// and a gauge's sum is the sum over every series, while each metric holds 100 series plus its
// overflow series.
//
// The target computes its page at each scrape: values from the time since it started, stamped
// with the time they were computed (an explicit timestamp, which Prometheus honours), so a value
// and its sample time agree however late a busy machine runs the page after the scrape began. The
// peers are started and killed by the test (support/prometheus_peer.h); data reaches the backend
// asynchronously, so its query API is polled with a bounded deadline. The run lasts about 80 s:
// rate()'s window must be full of overflow samples (-overflow-interval=2s), and the checks look
// 10 s back, where every sample has arrived.
//
// Native histograms: the test itself remote-writes native histograms of two schemas (rounds a
// second apart in sample time, sent at once) past a limit of 10 series; the backend
// (--enable-feature=native-histograms) holds the 10 and one overflow histogram whose count, sum
// and bucket fraction are the folded series' increases, the finer schema's buckets merged into the
// coarser one's. The same with OTLP exponential histograms (scales 0 and 1): the overflow series
// goes through the exporter's own OTLP conversion (-exporter-native-histograms) like the
// senders' points, with their unit, so under the same suffixed name.
#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "http/server.h"
#include "shared/otlp_builder.h"
#include "shared/temp_dir.h"
#include "support/daemon.h"
#include "support/http_client.h"
#include "support/metrics_page.h"
#include "support/process.h"
#include "support/prometheus_peer.h"
#include "support/remote_write_client.h"
#include "support/scrape_target.h"

using namespace std::chrono_literals;
using mg::test::child_process;
using mg::test::eventually;
using mg::test::prometheus_peer;
using mg::test::query_by_label;
using mg::test::running_daemon;
using mg::test::temp_dir;

namespace {

constexpr int k_counters = 1000;   // e2e_requests_total{id}: each +1/s
constexpr int k_histograms = 200;  // e2e_latency_seconds{id}: buckets +1, +2, +3 /s; sum +0.5/s
constexpr int k_gauges = 300;      // e2e_inflight{id}: 1 each
constexpr int k_limit = 100;

const std::string k_limits_yaml = R"yaml(rules:
  - name: requests
    match:
      metric_name: e2e_requests_total
    max_cardinality: 100
    action: overflow
  - name: latency
    match:
      metric_name: "e2e_latency_seconds_(bucket|count|sum)"
    max_cardinality: 100
    action: overflow
    keep_labels: [le]
  - name: inflight
    match:
      metric_name: e2e_inflight
    max_cardinality: 100
    action: overflow
    overflow_aggregation: sum
)yaml";

// The scrape target: every series' value follows the time since the target started, from a large
// offset (a folded series' absolute value must not reach the overflow series), and carries the
// time it was computed at as its timestamp. Without it the sample would be stamped when the scrape
// began, and a page run late on a loaded machine (by up to a second) would bend rate() over the
// window's first and last samples by a few per cent.
class growing_target {
  public:
    growing_target()
        : start_(std::chrono::system_clock::now()),
          target_([this] { return page(); }, "overflow-target") {}
    unsigned short port() const { return target_.port(); }

  private:
    std::string page() const {
        const auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(
            std::chrono::system_clock::now());
        const double t = 1000 + std::chrono::duration<double>(now - start_).count();
        const std::string ts = " " + std::to_string(now.time_since_epoch().count()) + "\n";
        std::ostringstream out;
        out.precision(15);
        out << "# TYPE e2e_requests_total counter\n";
        for (int i = 0; i < k_counters; ++i)
            out << "e2e_requests_total{id=\"" << i << "\"} " << t << ts;
        out << "# TYPE e2e_latency_seconds histogram\n";
        for (int i = 0; i < k_histograms; ++i) {
            const std::string id = "id=\"" + std::to_string(i) + "\"";
            out << "e2e_latency_seconds_bucket{" << id << ",le=\"0.1\"} " << t << ts;
            out << "e2e_latency_seconds_bucket{" << id << ",le=\"1\"} " << 2 * t << ts;
            out << "e2e_latency_seconds_bucket{" << id << ",le=\"+Inf\"} " << 3 * t << ts;
            out << "e2e_latency_seconds_sum{" << id << "} " << 0.5 * t << ts;
            out << "e2e_latency_seconds_count{" << id << "} " << 3 * t << ts;
        }
        out << "# TYPE e2e_inflight gauge\n";
        for (int i = 0; i < k_gauges; ++i) out << "e2e_inflight{id=\"" << i << "\"} 1" << ts;
        return out.str();
    }

    std::chrono::system_clock::time_point start_;
    mg::test::scrape_target target_;  // last: serves page(), which reads start_
};

std::string sender_config(unsigned short target_port, unsigned short daemon_port) {
    // One shard, and batches sent by their deadline (never by size: a scrape is 2 300 samples),
    // so a scrape reaches the daemon in one request and an overflow sample never holds part of
    // one.
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
           "      capacity: 100000\n"
           "      max_samples_per_send: 50000\n"
           "      batch_send_deadline: 1s\n"
           "      min_shards: 1\n"
           "      max_shards: 1\n"
           "      min_backoff: 100ms\n"
           "      max_backoff: 1s\n";
}

const std::string k_backend_config = "global:\n  scrape_interval: 1m\n";  // scrapes nothing

// The value of a query without grouping (one result), or NaN.
double scalar_query(unsigned short port, const std::string& query) {
    const auto r = query_by_label(port, query, "");
    return r.size() == 1 ? r.begin()->second : std::nan("");
}

// The one series a query evaluated at `unix_seconds` gives (its "value" or, for a range
// selector, its "values"); null when the query fails or gives none or several.
nlohmann::json single_result_at(unsigned short port, const std::string& query,
                                double unix_seconds) {
    char at[32];
    std::snprintf(at, sizeof at, "%.3f", unix_seconds);
    const auto r = mg::test::try_get(
        port, "/api/v1/query?query=" + mg::test::url_encode(query) + "&time=" + at);
    if (!r || r->status != 200) return nullptr;
    const auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (j.is_discarded() || j["data"]["result"].size() != 1) return nullptr;
    return j["data"]["result"][0];
}

// scalar_query evaluated at `unix_seconds`: rate() at a time whose samples have all arrived, so
// that the pipeline's delay (scrape, two remote-write queues, the overflow interval) does not
// cut the extrapolation at the window's end short, for the forwarded and the overflow series
// alike.
double scalar_query_at(unsigned short port, const std::string& query, double unix_seconds) {
    const auto series = single_result_at(port, query, unix_seconds);
    return series.is_null() ? std::nan("") : std::stod(series["value"][1].get<std::string>());
}

// The sample times (unix seconds) of the one series `selector` names, over `range` up to
// `unix_seconds`; empty when the query fails or names more than one series.
std::vector<double> sample_times(unsigned short port, const std::string& selector,
                                 const std::string& range, double unix_seconds) {
    const auto series = single_result_at(port, selector + "[" + range + "]", unix_seconds);
    std::vector<double> times;
    if (!series.is_null())
        for (const auto& v : series["values"]) times.push_back(v[0].get<double>());
    return times;
}

double unix_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// How far behind now the PromQL checks look (longer than the pipeline's delay on a quiet machine;
// the test also waits until every series has arrived past it).
constexpr double k_look_back_s = 10;

bool within(double got, double want, double fraction) {
    return std::isfinite(got) && std::abs(got - want) <= fraction * want;
}

// The histogram tests' checks at the backend: the overflow histogram `metric` of 10 kept series
// and 30 folded ones (15 of schema 0 observing 3 a round, 15 of schema 1 observing 2; 5 rounds
// of increases), once its count has arrived: count and sum exact, a fifth of the observations at
// or below 1 (only the even series' bucket 0; an odd series' bucket 1 at schema 1, (1, 2^0.5],
// counted in (0.5, 1] would make it more), 11 series, nothing lost. Returns the daemon's page.
std::string check_overflow_histogram(const prometheus_peer& backend, const running_daemon& d,
                                     const std::string& metric,
                                     const std::vector<child_process*>& logs) {
    const std::string overflow = metric + "{overflow=\"true\"}";
    const double want_count = 5 * (15 * 3 + 15 * 2);
    const bool arrived = eventually(
        [&] {
            return scalar_query(backend.port(), "histogram_count(" + overflow + ")") == want_count;
        },
        60s, logs);
    INFO("daemon metrics:\n" << mg::test::http_get(d.stats_port(), "/metrics").body);
    REQUIRE(arrived);
    CHECK(scalar_query(backend.port(), "histogram_sum(" + overflow + ")") == want_count);
    CHECK(scalar_query(backend.port(), "histogram_fraction(0, 1, " + overflow + ")") ==
          Approx(0.2));
    CHECK(scalar_query(backend.port(), "count(" + metric + ")") == 11);
    auto page = mg::test::http_get(d.stats_port(), "/metrics").body;
    CHECK(
        mg::test::sample_value(page, "metrics_governor_overflow_points_lost_total").value_or(-1) ==
        0);
    return page;
}

}  // namespace

TEST_CASE(
    "overflow with a real prometheus backend: sum(rate()) unchanged across the limit for a "
    "counter and a classic histogram, a gauge's sum kept, 100 series plus the overflow series",
    "[e2e][overflow]") {
    prometheus_peer backend("backend", k_backend_config, {"--web.enable-remote-write-receiver"});
    growing_target target;
    temp_dir dir;
    dir.write("limits.yaml", k_limits_yaml);
    running_daemon d(
        {"-exporter-endpoint=http://127.0.0.1:" + std::to_string(backend.port()) + "/api/v1/write",
         "-limits-config", dir.file("limits.yaml"), "-flush-interval=100ms",
         "-overflow-interval=2s"});
    prometheus_peer sender("sender", sender_config(target.port(), d.ingest_port()), {});
    std::vector<child_process*> logs{&sender.process(), &backend.process(), &d.process()};

    // rate()'s whole window, k_look_back_s ago, holds overflow samples: the overflow series began
    // more than a minute before (33 samples 2 s apart span 64 s), so the window is full and
    // rate() extrapolates it to both ends.
    double at = 0;
    const bool full_window = eventually(
        [&] {
            at = unix_now() - k_look_back_s;
            return scalar_query_at(backend.port(),
                                   "count_over_time(e2e_requests_total{overflow=\"true\"}[70s])",
                                   at) >= 33;
        },
        150s, logs);
    INFO("daemon metrics:\n" << mg::test::http_get(d.stats_port(), "/metrics").body);
    REQUIRE(full_window);
    // Every sample up to `at` has arrived once the backend holds a newer one of every series the
    // checks read (each series' path is ordered): on a busy machine the pipeline's delay can pass
    // k_look_back_s, and a rate() over a window whose end has not arrived comes out low.
    const bool arrived = eventually(
        [&] {
            for (const char* q :
                 {"min(timestamp(e2e_requests_total))",
                  "min(timestamp(e2e_latency_seconds_bucket))",
                  "min(timestamp(e2e_latency_seconds_count))",
                  "min(timestamp(e2e_latency_seconds_sum))", "min(timestamp(e2e_inflight))"}) {
                if (!(scalar_query(backend.port(), q) > at + 2)) return false;
            }
            return true;
        },
        60s, logs);
    REQUIRE(arrived);

    // Exactly: over a window whose ends are two samples of the overflow series (about a minute
    // apart), rate() has nothing to extrapolate, and the kept series have samples at the same
    // two scrapes. Each overflow sample holds every increase folded up to its time, and no part
    // of a later request (the daemon's fold gate), so the sum is the target's rate to rounding.
    const auto exact = [&](const std::string& metric, const std::string& overflow_series,
                           double want) {
        const auto times = sample_times(backend.port(), overflow_series, "70s", at);
        std::ostringstream spacing;
        for (std::size_t i = 1; i < times.size(); ++i) spacing << times[i] - times[i - 1] << " ";
        INFO(overflow_series << "'s samples, seconds apart: " << spacing.str());
        REQUIRE(times.size() >= 2);
        const double end = times.back();
        // The first sample at most a minute before the last (the times are in order).
        const double start = *std::lower_bound(times.begin(), times.end(), end - 60);
        // One millisecond more, so the window holds the start sample whether its left edge is
        // open (Prometheus 3) or closed (2.x).
        const auto range_ms = std::llround((end - start) * 1000) + 1;
        const std::string query = "sum(rate(" + metric + "[" + std::to_string(range_ms) + "ms]))";
        const double got = scalar_query_at(backend.port(), query, end);
        INFO(query << " at " << std::fixed << end << " = " << got << ", want " << want
                   << " within 0.5%");
        CHECK(within(got, want, 0.005));
    };
    exact("e2e_requests_total", "e2e_requests_total{overflow=\"true\"}", k_counters);
    exact("e2e_latency_seconds_bucket{le=\"0.1\"}",
          "e2e_latency_seconds_bucket{le=\"0.1\",overflow=\"true\"}", k_histograms);
    exact("e2e_latency_seconds_bucket{le=\"1\"}",
          "e2e_latency_seconds_bucket{le=\"1\",overflow=\"true\"}", 2 * k_histograms);
    exact("e2e_latency_seconds_bucket{le=\"+Inf\"}",
          "e2e_latency_seconds_bucket{le=\"+Inf\",overflow=\"true\"}", 3 * k_histograms);
    exact("e2e_latency_seconds_count", "e2e_latency_seconds_count{overflow=\"true\"}",
          3 * k_histograms);
    exact("e2e_latency_seconds_sum", "e2e_latency_seconds_sum{overflow=\"true\"}",
          0.5 * k_histograms);

    // As a dashboard asks it: rate()[1m] at any time. Prometheus extrapolates a window's ends;
    // when the first (or last) sample lies more than 1.1 average intervals inside, it
    // extrapolates half an interval only. The overflow series' samples are stamped with the
    // scrapes they hold, which arrive one or two to a request, so they lie 1 to 3 s apart, and an
    // end can come out up to about 2 s short (of 60 s, on the 90% of the rate that is folded):
    // within 2% mostly, within 4% always but for both ends short at once.
    const auto settles = [&](const std::string& query, double want) {
        const double got = scalar_query_at(backend.port(), query, at);
        INFO(query << " = " << got << ", want " << want << " within 4%");
        CHECK(within(got, want, 0.04));
    };
    settles("sum(rate(e2e_requests_total[1m]))", k_counters);
    settles("sum(rate(e2e_latency_seconds_bucket{le=\"+Inf\"}[1m]))", 3 * k_histograms);
    settles("sum(e2e_inflight)", k_gauges);

    // The backend holds the limit's series plus one overflow series per kept label set.
    CHECK(scalar_query(backend.port(), "count(e2e_requests_total)") == k_limit + 1);
    CHECK(scalar_query(backend.port(), "count(e2e_requests_total{overflow=\"true\"})") == 1);
    CHECK(scalar_query(backend.port(), "count(e2e_latency_seconds_bucket)") == k_limit + 3);
    CHECK(query_by_label(backend.port(), "e2e_latency_seconds_bucket{overflow=\"true\"}", "le")
              .size() == 3);
    CHECK(scalar_query(backend.port(), "count(e2e_inflight)") == k_limit + 1);
    CHECK(scalar_query(backend.port(), "e2e_inflight{overflow=\"true\"}") == k_gauges - k_limit);

    // And the daemon says what it did.
    const auto page = mg::test::http_get(d.stats_port(), "/metrics").body;
    CHECK(mg::test::sample_value(page, "metrics_governor_overflow_series").value_or(0) == 7);
    CHECK(mg::test::sample_value(page, "metrics_governor_overflow_tracked_series").value_or(0) ==
          (k_counters - k_limit) + (5 * k_histograms - 3 * k_limit) + (k_gauges - k_limit));
    CHECK(
        mg::test::sample_value(page, "metrics_governor_overflow_series_emitted_total").value_or(0) >
        0);
    CHECK(mg::test::sample_value(page, "metrics_governor_overflow_evictions_total").value_or(-1) ==
          0);
    CHECK(
        mg::test::sample_value(
            page,
            R"(metrics_governor_series_dropped_total{reason="cardinality_limit",rule="requests"})")
            .value_or(0) == 0);
}

TEST_CASE(
    "overflow with a real prometheus backend: native histograms of two schemas fold bucket by "
    "bucket into one overflow histogram",
    "[e2e][overflow][histogram]") {
    prometheus_peer backend(
        "backend", k_backend_config,
        {"--web.enable-remote-write-receiver", "--enable-feature=native-histograms"});
    temp_dir dir;
    dir.write("limits.yaml", R"yaml(rules:
  - name: native
    match:
      metric_name: e2e_native_seconds
    max_cardinality: 10
    action: overflow
)yaml");
    running_daemon d(
        {"-exporter-endpoint=http://127.0.0.1:" + std::to_string(backend.port()) + "/api/v1/write",
         "-limits-config", dir.file("limits.yaml"), "-flush-interval=100ms",
         "-overflow-interval=1s"});
    std::vector<child_process*> logs{&backend.process(), &d.process()};

    // 40 series; ids 0-9 are admitted, 10-39 folded. Per round, an even id at schema 0 observes
    // once in (0.5, 1] (bucket 0) and twice in (1, 2] (bucket 1); an odd id at schema 1 once in
    // (1, 2^0.5] and once in (2^0.5, 2] (buckets 1 and 2), both within bucket 1 of schema 0. Every
    // observation adds 1 to the sum. Large starting counts: a folded series' first sample adds
    // nothing.
    constexpr int k_series = 40, k_rounds = 6;
    const std::int64_t base_ms = mg::test::unix_now_ms() - 60000;
    const auto request = [&](int round) {
        std::vector<mg::protocol::owned_timeseries> req;
        for (int i = 0; i < k_series; ++i) {
            mg::protocol::owned_timeseries t;
            t.labels = {{"__name__", "e2e_native_seconds"}, {"id", std::to_string(i)}};
            mg::protocol::owned_histogram h;
            h.timestamp_ms = base_ms + 1000 * round;
            h.zero_threshold = 0.001;
            const std::int64_t r = 1000 + round;
            if (i % 2 == 0) {
                h.positive_spans = {{0, 2}};
                h.positive_deltas = {r, r};  // buckets 0 and 1: r and 2r
                h.count = static_cast<std::uint64_t>(3 * r);
            } else {
                h.schema = 1;
                h.positive_spans = {{1, 2}};
                h.positive_deltas = {r, 0};  // buckets 1 and 2: r each
                h.count = static_cast<std::uint64_t>(2 * r);
            }
            h.sum = static_cast<double>(h.count);
            t.histograms = {h};
            req.push_back(std::move(t));
        }
        return mg::test::prw_body(req);
    };
    mg::test::http_client c("127.0.0.1", d.ingest_port());
    for (int round = 0; round < k_rounds; ++round) {
        const auto res = c.request(boost::beast::http::verb::post, "/api/v1/write", request(round),
                                   mg::test::k_prw_headers);
        REQUIRE(res.status == 204);
    }

    const auto page = check_overflow_histogram(backend, d, "e2e_native_seconds", logs);
    CHECK(mg::test::sample_value(page, "metrics_governor_overflow_tracked_series").value_or(0) ==
          k_series - 10);
}

TEST_CASE(
    "overflow with a real prometheus backend: OTLP exponential histograms fold into one overflow "
    "histogram through the exporter's conversion",
    "[e2e][overflow][histogram]") {
    prometheus_peer backend(
        "backend", k_backend_config,
        {"--web.enable-remote-write-receiver", "--enable-feature=native-histograms"});
    temp_dir dir;
    dir.write("limits.yaml", R"yaml(rules:
  - name: exponential
    match:
      metric_name: e2e_otlp_latency
    max_cardinality: 10
    action: overflow
)yaml");
    running_daemon d(
        {"-exporter-endpoint=http://127.0.0.1:" + std::to_string(backend.port()) + "/api/v1/write",
         "-exporter-native-histograms", "-limits-config", dir.file("limits.yaml"),
         "-flush-interval=100ms", "-overflow-interval=1s"});
    std::vector<child_process*> logs{&backend.process(), &d.process()};

    // As the remote-write test above, in OTLP's indexing (bucket k covers (base^k, base^(k+1)]):
    // an even id at scale 0 once in (0.5, 1] (k = -1) and twice in (1, 2] (k = 0); an odd id at
    // scale 1 once in (1, 2^0.5] (k = 0) and once in (2^0.5, 2] (k = 1).
    namespace ob = mg::test::otlp;
    constexpr int k_series = 40, k_rounds = 6;
    const auto base_ns = static_cast<std::uint64_t>(mg::test::unix_now_ms() - 60000) * 1000000ULL;
    const auto request = [&](int round) {
        std::vector<ob::point> points;
        const std::uint64_t r = 1000 + static_cast<std::uint64_t>(round);
        for (int i = 0; i < k_series; ++i) {
            ob::point p;
            p.attrs = {{"id", std::to_string(i)}};
            p.time_ns = base_ns + 1000000000ULL * static_cast<std::uint64_t>(round);
            p.zero_threshold = 0.001;
            if (i % 2 == 0) {
                p.pos_offset = -1;
                p.pos_counts = {r, 2 * r};
                p.count = 3 * r;
            } else {
                p.scale = 1;
                p.pos_offset = 0;
                p.pos_counts = {r, r};
                p.count = 2 * r;
            }
            p.sum = static_cast<double>(p.count);
            points.push_back(std::move(p));
        }
        ob::scope sc;
        // With its unit: the conversion names the senders' series e2e_otlp_latency_seconds, and
        // the overflow series carries the unit to get the same name (count() below is 11).
        sc.metrics = {{"e2e_otlp_latency", ob::metric_kind::exponential_histogram, 2, false, false,
                       points, "s"}};
        return ob::to_protobuf({ob::resource{{}, {sc}}});
    };
    mg::test::http_client c("127.0.0.1", d.ingest_port());
    for (int round = 0; round < k_rounds; ++round) {
        const auto res = c.request(boost::beast::http::verb::post, "/v1/metrics", request(round),
                                   {{"Content-Type", "application/x-protobuf"}});
        REQUIRE(res.status == 200);
    }

    check_overflow_histogram(backend, d, "e2e_otlp_latency_seconds", logs);
}
