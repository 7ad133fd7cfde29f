// Sharded export (issue 15): a series always travels one lane, several requests are in flight at
// once, retries never reorder a series, the shard count follows a slow backend and stays at one
// for a fast one, and reservations make admission and acceptance one decision.
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <thread>

#include "export/exporter.h"
#include "export/shard_split.h"
#include "exporter_fixture.h"
#include "fake_backend.h"
#include "protocol/remote_write_builder.h"
#include "protocol/wire.h"

using namespace exporter_fixture;

namespace {

// Series "s<i>" with one sample of value `round` at time round seconds.
std::unique_ptr<rw_request> round_of(std::size_t series, int round) {
    std::vector<pr::owned_timeseries> ts;
    for (std::size_t i = 0; i < series; ++i) {
        pr::owned_timeseries t;
        t.labels = {{"__name__", "s" + std::to_string(i)}, {"job", "test"}};
        t.samples = {{static_cast<double>(round), 1000LL * round}};
        ts.push_back(std::move(t));
    }
    auto r = std::make_unique<rw_request>();
    pr::encode_remote_write_v1(ts, {}, r->body);
    REQUIRE(
        pr::decode_remote_write_v1(pr::bytes_view(r->body.data(), r->body.size()), r->batch).ok());
    return r;
}

// (metric name, sample value) of every sample of a remote write 1.0 WriteRequest, read with the
// wire reader: WriteRequest.timeseries = 1; TimeSeries.labels = 1, .samples = 2; Label.name = 1,
// .value = 2; Sample.value = 1 (double).
std::vector<std::pair<std::string, double>> samples_of(std::string_view plain) {
    std::vector<std::pair<std::string, double>> out;
    pr::wire_reader req(plain);
    for (pr::wire_field ts; req.next(ts);) {
        if (ts.number != 1) continue;
        std::string name;
        std::vector<double> values;
        pr::wire_reader series(ts.bytes);
        for (pr::wire_field f; series.next(f);) {
            pr::wire_reader inner(f.bytes);
            if (f.number == 1) {
                std::string k, v;
                for (pr::wire_field l; inner.next(l);)
                    (l.number == 1 ? k : v) = std::string(l.bytes);
                if (k == "__name__") name = v;
            } else if (f.number == 2) {
                for (pr::wire_field x; inner.next(x);)
                    if (x.number == 1) values.push_back(x.as_double());
            }
        }
        for (double v : values) out.emplace_back(name, v);
    }
    return out;
}

// Counts requests being answered at once (the raw backend serves each connection on a thread).
struct concurrency {
    std::atomic<int> now{0};
    std::atomic<int> peak{0};
    void enter() {
        const int n = ++now;
        int p = peak.load();
        while (n > p && !peak.compare_exchange_weak(p, n)) {
        }
    }
    void leave() { --now; }
};

ex::exporter_options sharded(const std::string& url, int min_shards, int max_shards) {
    auto c = config_for(url);
    c.min_shards = min_shards;
    c.max_shards = max_shards;
    return c;
}

}  // namespace

TEST_CASE("shards: a series always travels its lane, and lanes are in flight at once",
          "[export][shards]") {
    concurrency inflight;
    raw_backend backend(nullptr, [&](const mg::http::request& req, std::size_t) {
        inflight.enter();
        std::this_thread::sleep_for(100ms);  // a distant backend: lanes overlap in this time
        inflight.leave();
        return ex::test::reply(req, 204);
    });
    prometheus::Registry reg;
    auto e = make_exporter(
        sharded("http://127.0.0.1:" + std::to_string(backend.port()) + "/api/v1/write", 4, 4), reg);
    CHECK(e->shards() == 4);
    for (int round = 1; round <= 3; ++round) {
        auto r = round_of(400, round);
        REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
    }
    REQUIRE(drain_for(*e).complete);
    std::map<std::string, std::set<std::uint32_t>> lanes_of;
    std::size_t received = 0;
    for (const auto& req : backend.log().all()) {
        upstream u(req);
        std::set<std::uint64_t> lanes;
        for (std::size_t i = 0; i < u.batch.size(); ++i) {
            const auto lane = static_cast<std::uint32_t>(ex::series_identity(u.batch[i]) % 4);
            lanes.insert(lane);
            lanes_of[std::string(u.batch[i].metric_name)].insert(lane);
            ++received;
        }
        CHECK(lanes.size() == 1);  // one request, one lane
    }
    CHECK(received == 1200);
    CHECK(lanes_of.size() == 400);
    for (const auto& [name, lanes] : lanes_of) CHECK(lanes.size() == 1);
    CHECK(inflight.peak >= 2);
    check_accounting(e->stats());
}

TEST_CASE("shards: retries never reorder a series", "[export][shards]") {
    std::mutex mu;
    std::map<std::string, std::vector<double>> delivered;  // values in the order answered 2xx
    std::atomic<std::size_t> n{0};
    raw_backend backend(nullptr, [&](const mg::http::request& req, std::size_t) {
        // Every third request fails once: its lane retries it while the other lanes go on.
        if (n++ % 3 == 0) return ex::test::reply(req, 503);
        // No Catch2 assertion here: it runs on the backend's threads (checked on the test thread).
        std::string plain;
        const auto& body = req.body();
        if (!pr::snappy_decode(pr::bytes_view(body.data(), body.size()), 1 << 30, plain).ok())
            return ex::test::reply(req, 400);
        std::lock_guard lock(mu);
        for (const auto& [name, value] : samples_of(plain)) delivered[name].push_back(value);
        return ex::test::reply(req, 204);
    });
    prometheus::Registry reg;
    auto c = sharded("http://127.0.0.1:" + std::to_string(backend.port()) + "/api/v1/write", 4, 4);
    c.batch_size = 20;  // many requests, so retries interleave with later rounds
    auto e = make_exporter(c, reg);
    constexpr int k_rounds = 15;
    for (int round = 1; round <= k_rounds; ++round) {
        auto r = round_of(60, round);
        REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
    }
    REQUIRE(drain_for(*e, 20s).complete);
    REQUIRE(delivered.size() == 60);
    std::vector<double> want;
    for (int round = 1; round <= k_rounds; ++round) want.push_back(round);
    for (const auto& [name, values] : delivered) {
        INFO(name);
        CHECK(values == want);  // every round once, in order, despite the 503s
    }
    CHECK(e->stats().retries > 0);
    check_accounting(e->stats());
}

TEST_CASE("shards: a slow backend with data waiting doubles the shards", "[export][shards]") {
    raw_backend backend(nullptr, [&](const mg::http::request& req, std::size_t) {
        std::this_thread::sleep_for(50ms);  // 50 ms away
        return ex::test::reply(req, 204);
    });
    prometheus::Registry reg;
    auto c = sharded("http://127.0.0.1:" + std::to_string(backend.port()) + "/api/v1/write", 1, 8);
    c.batch_size =
        50;  // one lane carries 100-series requests, 2000 series/s at 50 ms; we send up to 10000/s
    auto e = make_exporter(c, reg);
    CHECK(e->shards() == 1);
    // Generous bounds: under a sanitizer building each request takes a good part of the pace.
    const auto until = std::chrono::steady_clock::now() + 30s;
    int round = 0;
    while (e->shards() == 1 && std::chrono::steady_clock::now() < until) {
        auto r = round_of(100, ++round);
        CHECK(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
        std::this_thread::sleep_for(10ms);  // the load's pace
    }
    CHECK(e->shards() >= 2);
    CHECK(e->stats().reshards >= 1);
    CHECK(metric(reg, "metrics_governor_export_shards") >= 2);
    CHECK(metric(reg, "metrics_governor_export_reshards_total", {{"direction", "up"}}) >= 1);
    REQUIRE(drain_for(*e, 20s).complete);
    const auto s = e->stats();
    CHECK(s.sent_series == s.submitted_series);
    check_accounting(s);
}

TEST_CASE("shards: a fast backend keeps one shard and the raw path", "[export][shards]") {
    fake_backend backend;
    prometheus::Registry reg;
    auto e = make_exporter(sharded(backend.url(), 1, 8), reg);
    auto r = round_of(10, 1);
    // Three scaler ticks of steady load against a backend that answers at once.
    const auto until = std::chrono::steady_clock::now() + 3500ms;
    while (std::chrono::steady_clock::now() < until) {
        CHECK(e->can_forward_raw(r->batch, r->keep_all(), {}));
        std::string body;
        pr::snappy_encode(r->body, body);
        CHECK(e->submit_raw(std::move(body), pr::source_protocol::remote_write_v1,
                            ex::body_encoding::snappy, 10, 10) == ex::submit_status::accepted);
        std::this_thread::sleep_for(10ms);
    }
    CHECK(e->shards() == 1);
    CHECK(e->stats().reshards == 0);
    REQUIRE(drain_for(*e).complete);
}

TEST_CASE("shards: with more than one, requests are never forwarded as they came",
          "[export][shards]") {
    fake_backend backend;
    prometheus::Registry reg;
    auto e = make_exporter(sharded(backend.url(), 2, 2), reg);
    auto r = round_of(10, 1);
    CHECK_FALSE(e->can_forward_raw(r->batch, r->keep_all(), {}));
    std::string body;
    pr::snappy_encode(r->body, body);
    CHECK(e->submit_raw(std::move(body), pr::source_protocol::remote_write_v1,
                        ex::body_encoding::snappy, 10, 10) == ex::submit_status::not_raw);
    CHECK(e->stats().submitted_series == 0);
    REQUIRE(drain_for(*e).complete);
}

TEST_CASE("shards: a whole request split over lanes goes at once, not after the flush interval",
          "[export][shards]") {
    fake_backend backend;
    prometheus::Registry reg;
    auto c = sharded(backend.url(), 2, 2);
    c.flush_interval = std::chrono::hours(1);
    auto e = make_exporter(c, reg);
    auto r = round_of(40, 1);  // 40 series: both lanes get some
    REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
    // One shard would have forwarded it as it came: its parts do not wait for a fuller batch.
    REQUIRE(backend.log().wait(2, 5s));
    std::size_t received = 0;
    for (const auto& req : backend.log().all()) received += upstream(req).batch.size();
    CHECK(received == 40);
    REQUIRE(drain_for(*e).complete);
}

TEST_CASE("shards: min above max is a configuration error naming both flags", "[export][shards]") {
    prometheus::Registry reg;
    auto c = sharded("http://127.0.0.1:1/api/v1/write", 4, 2);
    auto e = ex::exporter::create(c, reg);
    REQUIRE_FALSE(e.ok());
    CHECK_THAT(e.error_message(), Catch::Contains("-exporter-min-shards"));
    CHECK_THAT(e.error_message(), Catch::Contains("-exporter-max-shards"));
}

TEST_CASE("reservations: room held before admission, a reserved submit is never refused",
          "[export][shards]") {
    raw_backend backend(nullptr, [&](const mg::http::request& req, std::size_t) {
        return ex::test::reply(req, 503);  // never delivers: the queue only fills
    });
    prometheus::Registry reg;
    auto e = make_exporter(
        config_for("http://127.0.0.1:" + std::to_string(backend.port()) + "/api/v1/write"), reg,
        queue_of(1024 * 1024));
    auto big = round_of(2000, 1);
    ex::reservation room;
    REQUIRE(e->reserve(big->body.size() + 4096, room) == ex::submit_status::accepted);
    CHECK(room.held());
    // Room promised to one request is not given to another.
    ex::reservation other;
    auto filler = round_of(3000, 1);
    CHECK(e->reserve(1024 * 1024, other) == ex::submit_status::queue_full);
    ex::submit_details details;
    CHECK(e->submit(big->batch, big->keep_all(), {}, details, &room) ==
          ex::submit_status::accepted);
    // The queue is now (nearly) full: without a reservation the next is refused, before any
    // series of it could be admitted by a caller that reserves first.
    CHECK(e->reserve(1024 * 1024, other) == ex::submit_status::queue_full);
    CHECK_FALSE(other.held());
    const auto before = e->queue_bytes();
    {
        ex::reservation unused;
        REQUIRE(e->reserve(16, unused) == ex::submit_status::accepted);
        CHECK(e->queue_bytes() == before + 16);
    }
    CHECK(e->queue_bytes() == before);  // released unused
    drain_for(*e, 100ms);
    ex::reservation after;
    CHECK(e->reserve(16, after) == ex::submit_status::closed);
}

TEST_CASE("with long round trips a backlog of forwarded bodies is merged, every series once",
          "[export][shards]") {
    raw_backend backend(nullptr, [&](const mg::http::request& req, std::size_t) {
        std::this_thread::sleep_for(
            50ms);  // 50 ms away: a backlog forms, the scaler sees the round trips
        return ex::test::reply(req, 204);
    });
    prometheus::Registry reg;
    auto e = make_exporter(
        sharded("http://127.0.0.1:" + std::to_string(backend.port()) + "/api/v1/write", 1, 1), reg);
    constexpr int k_requests = 80;  // alone, 4 s of round trips; merged after the first tick (1 s)
    for (int i = 0; i < k_requests; ++i) {
        auto r = round_of(20, i + 1);
        std::string body;
        pr::snappy_encode(r->body, body);
        REQUIRE(e->submit_raw(std::move(body), pr::source_protocol::remote_write_v1,
                              ex::body_encoding::snappy, 20, 20) == ex::submit_status::accepted);
    }
    REQUIRE(drain_for(*e).complete);
    const auto reqs = backend.log().all();
    CHECK(reqs.size() < static_cast<std::size_t>(k_requests));  // merged while the first was slow
    std::map<std::string, std::vector<double>> got;
    for (const auto& req : reqs) {
        upstream u(req);
        for (const auto& [name, value] : samples_of(u.plain)) got[name].push_back(value);
    }
    REQUIRE(got.size() == 20);
    std::vector<double> want;
    for (int i = 1; i <= k_requests; ++i) want.push_back(i);
    for (const auto& [name, values] : got) CHECK(values == want);  // once each, in order
    check_accounting(e->stats());
}
