// Hostile HTTP against the real daemon: slow headers and bodies, oversized headers and bodies,
// decompression bombs, invalid snappy, truncated and overlong protobuf fields, deeply nested JSON,
// invalid UTF-8, too many labels, huge label values and thousands of idle connections. Each case
// checks the answer (the status code, or that the connection was closed), that the refusal was
// counted on /metrics by the right amount, and that the daemon still serves a good request on a
// fresh connection afterwards. The decoders' own unit tests (tests/unit/protocol) cover the
// byte-level cases in depth; here the point is the daemon as a whole.
//
// Raw POSIX sockets drive the cases no well-behaved client can produce (trickling bytes,
// unfinished requests, connections that never send anything).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "protocol/compression.h"
#include "protocol/otlp_builder.h"
#include "protocol/remote_write_builder.h"
#include "support/daemon.h"
#include "support/http_client.h"
#include "support/proc_status.h"
#include "support/raw_socket.h"
#include "support/remote_write_client.h"

using namespace std::chrono_literals;
using mg::test::k_memory_slack;
using mg::test::k_prw_headers;
using mg::test::proc_status_kib;
using mg::test::prw_body;
using mg::test::running_daemon;
namespace bhttp = boost::beast::http;
namespace proto = mg::protocol;
using mg::test::raw_socket;
using steady = std::chrono::steady_clock;

namespace {

constexpr std::size_t k_body_limit = 1 << 20;  // -receiver-max-request-body-size below

// Small limits so each case is quick. Info level: the tests read the daemon's output only up to
// "started", and a quiet daemon cannot fill the pipe however many connections come and go.
std::vector<std::string> daemon_args(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"-log-level=info", "-http-max-header-size=2KiB",
                                  "-receiver-max-request-body-size=1MiB"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

// The value of one series on a /metrics page ("name{labels}" exactly as rendered), if present.
std::optional<double> metric_value(const std::string& page, const std::string& series) {
    for (std::size_t at = page.find(series); at != std::string::npos;
         at = page.find(series, at + 1)) {
        const bool line_start = at == 0 || page[at - 1] == '\n';
        const auto after = at + series.size();
        if (!line_start || after >= page.size() || page[after] != ' ') continue;
        return std::stod(page.substr(after + 1, page.find('\n', after) - after - 1));
    }
    return std::nullopt;
}

std::optional<double> scrape(running_daemon& d, const std::string& series) {
    return metric_value(mg::test::http_get(d.stats_port(), "/metrics").body, series);
}

// Scrapes until `series` has `want`, or the deadline; returns the last value seen.
std::optional<double> await_metric(running_daemon& d, const std::string& series, double want,
                                   std::chrono::milliseconds timeout = 10s) {
    const auto deadline = steady::now() + timeout;
    auto v = scrape(d, series);
    while (v != want && steady::now() < deadline) {
        std::this_thread::sleep_for(20ms);  // polling interval of the awaited condition
        v = scrape(d, series);
    }
    return v;
}

std::string closed_total(const std::string& reason, const std::string& listener = "ingest") {
    return R"(metrics_governor_http_connections_closed_total{listener=")" + listener +
           R"(",reason=")" + reason + R"("})";
}

std::string requests_total(const std::string& protocol, int code) {
    return R"(metrics_governor_requests_total{code=")" + std::to_string(code) + R"(",protocol=")" +
           protocol + R"("})";
}

const std::string k_open_ingest = R"(metrics_governor_http_open_connections{listener="ingest"})";

proto::owned_timeseries series(const std::string& name, const std::string& id) {
    proto::owned_timeseries ts;
    ts.labels = {{"__name__", name}, {"id", id}};
    ts.samples = {{1, 1700000000000}};
    return ts;
}

// The daemon still answers: a good remote write on a fresh connection, and the stats listener.
void check_still_serving(running_daemon& d) {
    mg::test::http_client c("127.0.0.1", d.ingest_port());
    CHECK(c.request(bhttp::verb::post, "/api/v1/write", prw_body({series("alive", "1")}),
                    k_prw_headers)
              .status == 204);
    CHECK(mg::test::http_get(d.stats_port(), "/ready").status == 200);
}

// Sends one byte every 100ms (a slowloris client) until the daemon closes the connection or
// `give_up` passes; returns how long it took, or nullopt if it stayed open.
std::optional<steady::duration> trickle_until_closed(raw_socket& s,
                                                     std::chrono::milliseconds give_up,
                                                     const std::function<void()>& meanwhile = {}) {
    const auto t0 = steady::now();
    bool ran = false;
    while (steady::now() - t0 < give_up) {
        if (!s.send("a")) return steady::now() - t0;
        if (s.wait_closed(100ms)) return steady::now() - t0;
        if (meanwhile && !ran) {
            ran = true;
            meanwhile();
        }
    }
    return std::nullopt;
}

std::string post_head(const std::string& target, const std::string& content_type,
                      const std::string& extra = {}) {
    return "POST " + target + " HTTP/1.1\r\nHost: mg\r\nContent-Type: " + content_type + "\r\n" +
           extra;
}

}  // namespace

TEST_CASE("slow headers are cut at the read timeout and counted while others are served",
          "[hostile]") {
    running_daemon d(daemon_args({"-http-read-timeout=500ms"}));
    REQUIRE(scrape(d, closed_total("read_timeout")) == 0);

    raw_socket slow(d.ingest_port());
    REQUIRE(slow.send(post_head("/api/v1/write", "application/x-protobuf") + "X-Slow: "));
    const auto took = trickle_until_closed(slow, 10s, [&] { check_still_serving(d); });
    REQUIRE(took.has_value());
    CHECK(*took >= 400ms);  // the read timeout, not something else, closed it
    CHECK(*took < 5s);
    CHECK(slow.received().empty());  // closed without an answer: there is no request to answer
    CHECK(await_metric(d, closed_total("read_timeout"), 1) == 1);
    check_still_serving(d);
}

TEST_CASE("a slow body is cut at the read timeout and counted", "[hostile]") {
    running_daemon d(daemon_args({"-http-read-timeout=500ms"}));
    raw_socket slow(d.ingest_port());
    // The whole header block at once, then the body at one byte per 100ms: the timeout bounds
    // the whole request, not each read.
    REQUIRE(slow.send(
        post_head("/api/v1/write", "application/x-protobuf", "Content-Length: 1000\r\n\r\n")));
    const auto took = trickle_until_closed(slow, 10s, [&] { check_still_serving(d); });
    REQUIRE(took.has_value());
    CHECK(*took >= 400ms);
    CHECK(*took < 5s);
    CHECK(await_metric(d, closed_total("read_timeout"), 1) == 1);
    CHECK(scrape(d, requests_total("remote_write_v1", 204)) == 1);  // only the good request
    check_still_serving(d);
}

TEST_CASE("oversized headers get 431, are counted, and close the connection", "[hostile]") {
    running_daemon d(daemon_args());
    {
        raw_socket s(d.ingest_port());  // one huge header
        REQUIRE(s.send(post_head("/api/v1/write", "application/x-protobuf") +
                       "X-Big: " + std::string(4096, 'a') + "\r\n\r\n"));
        CHECK(s.wait_closed(10s));
        CHECK(s.status() == 431);
    }
    {
        raw_socket s(d.ingest_port());  // many small ones
        std::string headers;
        for (int i = 0; i < 500; ++i) headers += "X-H" + std::to_string(i) + ": v\r\n";
        REQUIRE(s.send(post_head("/api/v1/write", "application/x-protobuf") + headers + "\r\n"));
        CHECK(s.wait_closed(10s));
        CHECK(s.status() == 431);
    }
    CHECK(await_metric(d, closed_total("header_too_large"), 2) == 2);
    CHECK(scrape(d, closed_total("header_too_large", "stats")) == 0);
    check_still_serving(d);
}

TEST_CASE("oversized bodies get 413 before they are read, and are counted", "[hostile]") {
    running_daemon d(daemon_args());
    {
        // Refused on Content-Length alone: the daemon answers without waiting for the body.
        raw_socket s(d.ingest_port());
        REQUIRE(
            s.send(post_head("/api/v1/write", "application/x-protobuf",
                             "Content-Length: " + std::to_string(2 * k_body_limit) + "\r\n\r\n")));
        CHECK(s.read_status() == 413);
        CHECK(s.wait_closed(10s));
    }
    {
        // A sender that writes its whole (over-limit) body before reading, as remote-write
        // senders do: the daemon drains what it will not read, so the 413 arrives rather than a
        // reset the sender would retry.
        raw_socket s(d.ingest_port());
        const std::string body(k_body_limit + 1, 'x');
        REQUIRE(s.send(post_head("/api/v1/write", "application/x-protobuf",
                                 "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n") +
                       body));
        CHECK(s.read_status() == 413);
        CHECK(s.wait_closed(10s));
    }
    {
        // A chunked body has no length up front: it is cut where it passes the limit. The daemon
        // closes with the client's bytes unread, so the 413 may be lost to a reset; either way
        // the connection is closed.
        raw_socket s(d.ingest_port());
        REQUIRE(s.send(post_head("/api/v1/write", "application/x-protobuf",
                                 "Transfer-Encoding: chunked\r\n\r\n")));
        const std::string chunk = "10000\r\n" + std::string(0x10000, 'x') + "\r\n";
        for (std::size_t sent = 0; sent < 3 * k_body_limit && s.send(chunk); sent += 0x10000) {
        }
        CHECK(s.wait_closed(10s));
        CHECK((s.status() == 413 || s.received().empty()));
    }
    CHECK(await_metric(d, closed_total("body_too_large"), 3) == 3);
    check_still_serving(d);
}

TEST_CASE("decompression bombs get 413 without the daemon's memory growing past the bound",
          "[hostile]") {
    running_daemon d(daemon_args());
    const auto pid = d.process().pid();
    check_still_serving(d);  // warm up: thread-local buffers, first series
    const auto hwm_before = proc_status_kib(pid, "VmHWM");

    // Snappy: 16MiB of zeros in well under the 1MiB body limit. The declared size is checked
    // before anything is allocated.
    std::string snappy_bomb;
    proto::snappy_encode(std::string(16 << 20, '\0'), snappy_bomb);
    REQUIRE(snappy_bomb.size() < k_body_limit);
    mg::test::http_client c("127.0.0.1", d.ingest_port());
    auto r = c.request(bhttp::verb::post, "/api/v1/write", snappy_bomb, k_prw_headers);
    CHECK(r.status == 413);
    CHECK(r.body.find("snappy") != std::string::npos);

    // gzip: 32 members of 16MiB of zeros each, 512MiB in all, in about 0.5MB. gzip declares no
    // trustworthy size: the inflater must stop at the limit.
    std::string member, gzip_bomb;
    REQUIRE(proto::gzip_encode(std::string(16 << 20, '\0'), 9, member).ok());
    for (int i = 0; i < 32; ++i) gzip_bomb += member;
    REQUIRE(gzip_bomb.size() < k_body_limit);
    r = c.request(bhttp::verb::post, "/v1/metrics", gzip_bomb,
                  {{"Content-Type", "application/x-protobuf"}, {"Content-Encoding", "gzip"}});
    CHECK(r.status == 413);
    CHECK(r.body.find("gzip") != std::string::npos);
    // The same bomb as OTLP JSON.
    r = c.request(bhttp::verb::post, "/v1/metrics", gzip_bomb,
                  {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}});
    CHECK(r.status == 413);

    // The bound is a few MiB (the body and at most 1MiB of output per request); 512MiB would
    // show if the output were not bounded.
    const auto hwm_after = proc_status_kib(pid, "VmHWM");
    INFO("VmHWM before " << hwm_before << " KiB, after " << hwm_after << " KiB");
    CHECK(hwm_after - hwm_before < k_memory_slack * 32 * 1024);

    CHECK(scrape(d, requests_total("remote_write_v1", 413)) == 1);
    CHECK(scrape(d, requests_total("otlp_protobuf", 413)) == 1);
    CHECK(scrape(d, requests_total("otlp_json", 413)) == 1);
    CHECK(scrape(d, closed_total("body_too_large")) == 0);  // within the raw body limit
    check_still_serving(d);
}

TEST_CASE("invalid snappy gets 400 naming snappy, and is counted", "[hostile]") {
    running_daemon d(daemon_args());
    mg::test::http_client c("127.0.0.1", d.ingest_port());
    const std::vector<std::pair<std::string, std::string>> bodies{
        {"not a snappy header", std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11)},
        // Declares 100 bytes, then copies from 1000 bytes back, before the start of the output.
        {"copy before the start", std::string("\x64\x0e\xe8\x03", 4)},
        // Declares 1MB from 4 bytes: impossible for snappy, refused before allocating.
        {"impossible declared size", std::string("\xc0\x84\x3d\x00", 4)},
        // A valid block cut short.
        {"truncated block", prw_body({series("m", "1")}).substr(0, 10)},
    };
    for (const auto& [what, body] : bodies) {
        INFO(what);
        const auto r = c.request(bhttp::verb::post, "/api/v1/write", body, k_prw_headers);
        CHECK(r.status == 400);
        CHECK(r.body.find("snappy") != std::string::npos);
        CHECK(r.body.find("snappy: snappy") == std::string::npos);  // said once
    }
    CHECK(scrape(d, requests_total("remote_write_v1", 400)) == 4);
    check_still_serving(d);
}

TEST_CASE("truncated and overlong protobuf fields get 400 and are counted", "[hostile]") {
    running_daemon d(daemon_args());
    mg::test::http_client c("127.0.0.1", d.ingest_port());
    std::string good;
    proto::encode_remote_write_v1(std::vector{series("m", "1")}, {}, good);
    const std::vector<std::pair<std::string, std::string>> messages{
        {"truncated", good.substr(0, good.size() - 3)},
        // Field 1 (timeseries) declaring 268435455 bytes, followed by 3.
        {"length past the end", std::string("\x0a\xff\xff\xff\x7f", 5) + "abc"},
        // A varint length of 11 bytes: longer than any 64-bit varint.
        {"overlong varint", "\x0a" + std::string(10, '\x80') + "\x01"},
        // A 2-byte message holding a field that declares 5 bytes: past the end of its parent.
        {"length past the parent", std::string("\x0a\x02\x0a\x05", 4) + "abcde"},
    };
    for (const auto& [what, raw] : messages) {
        INFO(what);
        std::string body;
        proto::snappy_encode(raw, body);
        CHECK(c.request(bhttp::verb::post, "/api/v1/write", body, k_prw_headers).status == 400);
        CHECK(c.request(bhttp::verb::post, "/v1/metrics", raw,
                        {{"Content-Type", "application/x-protobuf"}})
                  .status == 400);
    }
    CHECK(scrape(d, requests_total("remote_write_v1", 400)) == 4);
    CHECK(scrape(d, requests_total("otlp_protobuf", 400)) == 4);
    check_still_serving(d);
}

TEST_CASE("deeply nested JSON and protobuf attribute values get 400, not a stack overflow",
          "[hostile]") {
    running_daemon d(daemon_args());
    mg::test::http_client c("127.0.0.1", d.ingest_port());
    const std::vector<std::string> bodies{
        std::string(100000, '['),
        R"({"resourceMetrics":)" + std::string(100000, '['),
        [] {
            std::string s;
            for (int i = 0; i < 50000; ++i) s += R"({"a":)";
            return s;
        }(),
    };
    for (const auto& body : bodies) {
        REQUIRE(body.size() < k_body_limit);
        const auto r = c.request(bhttp::verb::post, "/v1/metrics", body,
                                 {{"Content-Type", "application/json"}});
        CHECK(r.status == 400);
        CHECK(r.body.find("nested") != std::string::npos);
    }
    CHECK(scrape(d, requests_total("otlp_json", 400)) == 3);

    // The protobuf form: an attribute value of arrays nested 5000 deep.
    auto deep = proto::otlp_any_value::str("bottom");
    for (int i = 0; i < 5000; ++i) {
        proto::otlp_any_value outer;
        outer.k = proto::otlp_any_value::kind::array;
        outer.array.push_back(std::move(deep));
        deep = std::move(outer);
    }
    proto::otlp_resource res;
    proto::otlp_scope scope;
    proto::otlp_metric metric;
    metric.name = "deep";
    proto::otlp_point p;
    p.attributes = {{"deep", std::move(deep)}};
    p.value = 1;
    p.time_unix_nano = 1700000000000000000ULL;
    metric.points.push_back(std::move(p));
    scope.metrics.push_back(std::move(metric));
    res.scopes.push_back(std::move(scope));
    std::string pb;
    proto::encode_otlp_protobuf(std::vector{std::move(res)}, pb);
    const auto r = c.request(bhttp::verb::post, "/v1/metrics", pb,
                             {{"Content-Type", "application/x-protobuf"}});
    CHECK(r.status == 400);
    CHECK(r.body.find("nested") != std::string::npos);
    CHECK(scrape(d, requests_total("otlp_protobuf", 400)) == 1);
    check_still_serving(d);
}

TEST_CASE("invalid UTF-8 in labels, metric names and JSON gets 400 and is counted", "[hostile]") {
    running_daemon d(daemon_args());
    mg::test::http_client c("127.0.0.1", d.ingest_port());

    auto bad_value = series("m", "1");
    bad_value.labels.push_back({"path", "\xff\xfe"});
    auto r = c.request(bhttp::verb::post, "/api/v1/write", prw_body({bad_value}), k_prw_headers);
    CHECK(r.status == 400);
    CHECK(r.body.find("UTF-8") != std::string::npos);
    // An overlong encoding of '/' (C0 AF) is invalid too.
    r = c.request(bhttp::verb::post, "/api/v1/write", prw_body({series("m\xc0\xaf", "1")}),
                  k_prw_headers);
    CHECK(r.status == 400);

    proto::otlp_resource res;
    proto::otlp_scope scope;
    proto::otlp_metric metric;
    metric.name = "bad\xed\xa0\x80";  // a UTF-16 surrogate, invalid in UTF-8
    proto::otlp_point p;
    p.value = 1;
    p.time_unix_nano = 1700000000000000000ULL;
    metric.points.push_back(p);
    scope.metrics.push_back(metric);
    res.scopes.push_back(scope);
    std::string pb;
    proto::encode_otlp_protobuf(std::vector{res}, pb);
    r = c.request(bhttp::verb::post, "/v1/metrics", pb,
                  {{"Content-Type", "application/x-protobuf"}});
    CHECK(r.status == 400);
    CHECK(r.body.find("UTF-8") != std::string::npos);

    const std::string json =
        "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"bad\xff\",\"gauge\":"
        "{\"dataPoints\":[{\"asDouble\":1,\"timeUnixNano\":\"1700000000000000000\"}]}}]}]}]}";
    r = c.request(bhttp::verb::post, "/v1/metrics", json, {{"Content-Type", "application/json"}});
    CHECK(r.status == 400);

    CHECK(scrape(d, requests_total("remote_write_v1", 400)) == 2);
    CHECK(scrape(d, requests_total("otlp_protobuf", 400)) == 1);
    CHECK(scrape(d, requests_total("otlp_json", 400)) == 1);
    check_still_serving(d);
}

TEST_CASE("too many labels and huge label values drop the series, counted, and keep the rest",
          "[hostile]") {
    running_daemon d(daemon_args({"-max-labels-per-series=10", "-max-label-value-len=1024"}));
    mg::test::http_client c("127.0.0.1", d.ingest_port());

    auto wide = series("wide", "1");  // 20000 labels
    for (int i = 0; i < 20000; ++i) {
        char name[16];
        std::snprintf(name, sizeof name, "l%05d", i);
        wide.labels.push_back({name, "v"});
    }
    auto huge = series("huge", "1");  // one 512KiB label value
    huge.labels.push_back({"blob", std::string(512 * 1024, 'x')});
    const auto body = prw_body({wide, huge, series("fine", "1")});
    REQUIRE(body.size() < k_body_limit);
    // A deliberate drop is not an error for the sender: 204, and the drops are counted.
    CHECK(c.request(bhttp::verb::post, "/api/v1/write", body, k_prw_headers).status == 204);

    const auto page = mg::test::http_get(d.stats_port(), "/metrics").body;
    CHECK(metric_value(
              page,
              R"(metrics_governor_series_dropped_total{reason="too_many_labels",rule="none"})") ==
          1);
    CHECK(
        metric_value(
            page,
            R"(metrics_governor_series_dropped_total{reason="label_value_too_long",rule="none"})") ==
        1);
    CHECK(metric_value(page, R"(metrics_governor_metric_cardinality{metric_name="fine"})") == 1);
    CHECK_FALSE(metric_value(page, R"(metrics_governor_metric_cardinality{metric_name="wide"})")
                    .has_value());
    CHECK_FALSE(metric_value(page, R"(metrics_governor_metric_cardinality{metric_name="huge"})")
                    .has_value());
    check_still_serving(d);
}

TEST_CASE(
    "thousands of idle connections: the daemon holds exactly its limit, counts the rest, keeps "
    "serving",
    "[hostile]") {
    // The test holds 2 x limit sockets and the daemon (a child, inheriting the limit) limit more.
    rlimit fds{};
    REQUIRE(getrlimit(RLIMIT_NOFILE, &fds) == 0);
    if (fds.rlim_cur < 4400) {
        fds.rlim_cur = std::min<rlim_t>(fds.rlim_max, 4400);
        REQUIRE(setrlimit(RLIMIT_NOFILE, &fds) == 0);
    }
    const int limit = static_cast<int>(std::min<rlim_t>(1000, (fds.rlim_cur - 200) / 2));
    REQUIRE(limit >= 100);
    const int total = 2 * limit;
    running_daemon d(daemon_args(
        {"-receiver-max-connections=" + std::to_string(limit), "-http-idle-timeout=10m"}));
    const auto pid = d.process().pid();
    const auto rss_before = proc_status_kib(pid, "VmRSS");

    std::vector<raw_socket> held;
    held.reserve(static_cast<std::size_t>(total));
    for (int i = 0; i < total; ++i) held.emplace_back(d.ingest_port());

    // Past the limit each new connection is either refused as it is accepted or takes the place
    // of one idle for over a second (evicted): either way the daemon holds exactly `limit`.
    auto over_limit = [&d] {
        return scrape(d, closed_total("max_connections")).value_or(0) +
               scrape(d, closed_total("evicted")).value_or(0);
    };
    for (const auto deadline = steady::now() + 20s;
         over_limit() < total - limit && steady::now() < deadline;)
        std::this_thread::sleep_for(20ms);  // polling interval of the awaited condition
    CHECK(over_limit() == total - limit);
    CHECK(await_metric(d, k_open_ingest, limit) == limit);
    // The client side agrees: exactly the excess was closed.
    auto count_closed = [&held] {
        int n = 0;
        for (auto& s : held) n += s.wait_closed(0ms) ? 1 : 0;
        return n;
    };
    int closed = count_closed();
    for (const auto deadline = steady::now() + 10s;
         closed < total - limit && steady::now() < deadline;) {
        std::this_thread::sleep_for(20ms);  // polling interval of the awaited condition
        closed = count_closed();
    }
    CHECK(closed == total - limit);

    const auto rss_held = proc_status_kib(pid, "VmRSS");
    INFO("VmRSS " << rss_before << " KiB before, " << rss_held << " KiB with " << limit
                  << " idle connections");
    CHECK(rss_held - rss_before <
          static_cast<std::uint64_t>(limit) * 32 * k_memory_slack);  // 32KiB each

    // A held connection is served: the daemon is not wedged by the flood.
    auto open_one =
        std::find_if(held.begin(), held.end(), [](raw_socket& s) { return !s.wait_closed(0ms); });
    REQUIRE(open_one != held.end());
    const auto good = prw_body({series("held", "1")});
    REQUIRE(open_one->send(post_head("/api/v1/write", "application/x-protobuf",
                                     "Content-Encoding: snappy\r\nContent-Length: " +
                                         std::to_string(good.size()) + "\r\n\r\n") +
                           good));
    CHECK(open_one->read_status() == 204);

    // A new sender at the limit is not locked out by the idle ones: once they idled a second, the
    // oldest makes room and the newcomer's request is served.
    std::this_thread::sleep_for(1100ms);  // the idle connections' age, the eviction threshold
    {
        const auto evicted_before = scrape(d, closed_total("evicted")).value_or(0);
        raw_socket extra(d.ingest_port());
        REQUIRE(extra.send(post_head("/api/v1/write", "application/x-protobuf",
                                     "Content-Encoding: snappy\r\nContent-Length: " +
                                         std::to_string(good.size()) + "\r\n\r\n") +
                           good));
        CHECK(extra.read_status() == 204);
        CHECK(await_metric(d, closed_total("evicted"), evicted_before + 1) == evicted_before + 1);
    }

    // Room again once some senders go away.
    held.clear();
    CHECK(await_metric(d, k_open_ingest, 0) == 0);
    check_still_serving(d);
}

TEST_CASE("a connection at the limit while all others are young is refused at once", "[hostile]") {
    running_daemon d(daemon_args({"-receiver-max-connections=20", "-http-idle-timeout=10m"}));
    std::vector<raw_socket> held;
    for (int i = 0; i < 20; ++i) held.emplace_back(d.ingest_port());
    REQUIRE(await_metric(d, k_open_ingest, 20) == 20);
    // Younger than the eviction threshold (1 s): nothing to evict, so the newcomer is refused.
    const auto t0 = steady::now();
    raw_socket extra(d.ingest_port());
    CHECK(extra.wait_closed(5s));
    CHECK(steady::now() - t0 < 2s);
    CHECK(scrape(d, closed_total("max_connections")) == 1.0);
    CHECK(scrape(d, closed_total("evicted")) == 0.0);
}

TEST_CASE("a connection limit that cannot fit in the descriptor limit is warned about at startup",
          "[hostile]") {
    const std::string warning = "-receiver-max-connections is unbounded or does not fit";
    {
        running_daemon d(daemon_args({"-receiver-max-connections=0"}));
        CHECK(d.process().output().find(warning) != std::string::npos);
    }
    {
        // The child inherits this process's limits: start it with a low soft limit, which it
        // must raise to the hard one.
        rlimit fds{};
        REQUIRE(getrlimit(RLIMIT_NOFILE, &fds) == 0);
        const rlimit saved = fds;
        fds.rlim_cur = std::min<rlim_t>(fds.rlim_cur, 512);
        REQUIRE(setrlimit(RLIMIT_NOFILE, &fds) == 0);
        std::optional<running_daemon> d;
        try {
            d.emplace(daemon_args({"-receiver-max-connections=100"}));
        } catch (...) {
            setrlimit(RLIMIT_NOFILE, &saved);
            throw;
        }
        REQUIRE(setrlimit(RLIMIT_NOFILE, &saved) == 0);
        CHECK(d->process().output().find(warning) == std::string::npos);
        const auto hard = saved.rlim_max == RLIM_INFINITY
                              ? rlim_t{1} << 20
                              : std::min(saved.rlim_max, rlim_t{1} << 20);
        const auto page = mg::test::http_get(d->stats_port(), "/metrics").body;
        CHECK(metric_value(page, "process_max_fds") == static_cast<double>(hard));
    }
}
