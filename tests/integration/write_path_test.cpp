// The write path under pressure, through the real binary: a request refused with 429 admits none
// of its series (the limit is not spent on data the backend never got), the in-flight byte budget
// answers 429 before a body is read, and connections trickling a request at the connection limit
// cannot lock out a sender that completes its requests.

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "persistence_helpers.h"
#include "support/daemon.h"
#include "support/fake_backend.h"
#include "support/http_client.h"
#include "support/metrics_page.h"
#include "support/raw_socket.h"
#include "support/remote_write_client.h"

using namespace std::chrono_literals;
using namespace persistence_helpers;
using mg::test::raw_socket;
using mg::test::running_daemon;
using mg::test::temp_dir;
using steady = std::chrono::steady_clock;

namespace {

std::string head(std::uint64_t content_length) {
    return "POST /api/v1/write HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-protobuf\r\n"
           "Content-Encoding: snappy\r\nContent-Length: " +
           std::to_string(content_length) + "\r\n\r\n";
}

double scrape(const running_daemon& d, const std::string& series) {
    return mg::test::sample_value(mg::test::http_get(d.stats_port(), "/metrics").body, series)
        .value_or(-1);
}

bool await(const std::function<bool()>& pred, std::chrono::seconds timeout = 20s) {
    const auto deadline = steady::now() + timeout;
    while (!pred()) {
        if (steady::now() >= deadline) return false;
        std::this_thread::sleep_for(
            20ms);  // polling interval of a condition another process makes true
    }
    return true;
}

std::string closed_total(const std::string& reason) {
    return R"(metrics_governor_http_connections_closed_total{listener="ingest",reason=")" + reason +
           R"("})";
}

}  // namespace

TEST_CASE("a request refused with 429 admits none of its series", "[write_path]") {
    mg::test::fake_backend backend;
    backend.set_status(503);  // nothing leaves: the queue fills
    temp_dir dir;
    dir.write(
        "limits.yaml",
        "rules:\n  - name: capped\n    match: {metric_name: capped}\n    max_cardinality: 100\n");
    running_daemon d({"-exporter-endpoint=" + backend.url(), "-flush-interval=20ms",
                      "-queue-max-bytes=1MiB", "-exporter-retry-backoff-base=10ms",
                      "-exporter-retry-backoff-max=50ms", "-limits-config",
                      dir.file("limits.yaml")});
    // Fill the queue with another metric until the daemon answers 429.
    int status = 0;
    for (int i = 0; i < 200 && status != 429; ++i)
        status = post(d, body("filler", i * 2000, (i + 1) * 2000));
    REQUIRE(status == 429);
    // Then with requests a little smaller than the one below (a shorter name), until those are
    // refused too: the capped request cannot fit either.
    status = 0;
    // (Their snappy bodies are small: each takes little room, so it takes a few hundred.)
    for (int i = 0; i < 5000 && status != 429; ++i)
        status = post(d, body("fill", i * 100, (i + 1) * 100));
    REQUIRE(status == 429);
    // 100 new series of the capped metric: refused, so none of them may count against its limit.
    CHECK(post(d, body("capped", 0, 100)) == 429);
    CHECK(scrape(d, R"(metrics_governor_metric_cardinality{metric_name="capped"})") <= 0);

    // The backend comes back; once the queue drained, 100 *other* new series fit the limit. The
    // drain of ~1 MiB of small requests takes a few seconds, half a minute and more in a TSan
    // build on a busy machine.
    backend.set_status(204);
    REQUIRE(await([&] { return scrape(d, "metrics_governor_queue_bytes") == 0; }, 500s));
    CHECK(post(d, body("capped", 1000, 1100)) == 204);
    REQUIRE(backend.wait_until(
        [](const auto& reqs) { return mg::test::received_ids(reqs, "capped").size() == 100; }));
    const auto ids = mg::test::received_ids(backend.requests(), "capped");
    CHECK(ids.count("1000") == 1);
    CHECK(ids.count("0") == 0);
    CHECK(
        scrape(
            d,
            R"(metrics_governor_series_dropped_total{reason="cardinality_limit",rule="capped"})") ==
        0);
}

TEST_CASE("the in-flight byte budget answers 429 before a body is read", "[write_path]") {
    mg::test::fake_backend backend;
    running_daemon d({"-exporter-endpoint=" + backend.url(), "-receiver-max-inflight-bytes=1MiB",
                      "-receiver-max-request-body-size=4MiB"});
    CHECK(scrape(d, R"(metrics_governor_http_inflight_limit_bytes{listener="ingest"})") == 1048576);
    // A sender declares 700 KB and sends only part of it: the budget holds its 700 KB.
    raw_socket slow(d.ingest_port());
    REQUIRE(slow.send(head(700000) + std::string(1000, 'x')));
    REQUIRE(await([&] {
        return scrape(d, R"(metrics_governor_http_inflight_bytes{listener="ingest"})") == 700000;
    }));
    // Another 700 KB does not fit: 429 with Retry-After, before any of its body was sent.
    raw_socket second(d.ingest_port());
    REQUIRE(second.send(head(700000)));
    CHECK(second.read_status() == 429);
    const auto answer = second.received();
    INFO(answer);
    CHECK(answer.find("Retry-After: 1") != std::string::npos);
    CHECK(scrape(d, closed_total("inflight_bytes")) == 1);
    // A small request still fits beside the held one.
    CHECK(post(d, body("small", 0, 10)) == 204);
    // The slow sender finishes (its body is garbage: 400), and the budget is whole again.
    REQUIRE(slow.send(std::string(700000 - 1000, 'x')));
    CHECK(slow.read_status() == 400);
    REQUIRE(await([&] {
        return scrape(d, R"(metrics_governor_http_inflight_bytes{listener="ingest"})") == 0;
    }));
    CHECK(post(d, body("after", 0, 10)) == 204);
}

TEST_CASE("connections trickling a request at the limit do not lock out a sender that completes",
          "[write_path]") {
    mg::test::fake_backend backend;
    running_daemon d({"-exporter-endpoint=" + backend.url(), "-receiver-max-connections=30",
                      "-http-read-timeout=5m", "-http-idle-timeout=10m"});
    std::vector<std::unique_ptr<raw_socket>> slow;
    for (int i = 0; i < 30; ++i) {
        slow.push_back(std::make_unique<raw_socket>(d.ingest_port()));
        REQUIRE(
            slow.back()->send("POST /api/v1/write HTTP/1.1\r\nHost: t\r\n"));  // and never the rest
    }
    REQUIRE(await([&] {
        return scrape(d, R"(metrics_governor_http_open_connections{listener="ingest"})") == 30;
    }));
    std::this_thread::sleep_for(1100ms);  // their age: past the 1 s before a reader may be evicted
    // The well-behaved sender gets its answers, request after request.
    for (int i = 0; i < 5; ++i) CHECK(post(d, body("good", i * 10, i * 10 + 10)) == 204);
    CHECK(scrape(d, closed_total("evicted")) >= 1);
    CHECK(scrape(d, closed_total("max_connections")) == 0);
    CHECK(scrape(d, R"(metrics_governor_http_open_connections{listener="ingest"})") <= 30);
}
