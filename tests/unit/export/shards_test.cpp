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

// Series "s<i>" (i from `first`) with one sample of value `round` at time round seconds.
std::unique_ptr<rw_request> round_of(std::size_t series, int round, std::size_t first = 0) {
    std::vector<pr::owned_timeseries> ts;
    for (std::size_t i = first; i < first + series; ++i) {
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
    // A series in two requests answered at the same time would be on two lanes (a lane has one
    // request in flight): counted here, checked on the test thread.
    std::mutex mu;
    std::multiset<std::string> in_flight;
    std::atomic<int> overlaps{0};
    raw_backend backend(nullptr, [&](const mg::http::request& req, std::size_t) {
        std::string plain;
        const auto& body = req.body();
        if (!pr::snappy_decode(pr::bytes_view(body.data(), body.size()), 1 << 30, plain).ok())
            return ex::test::reply(req, 400);
        const auto got = samples_of(plain);
        {
            std::lock_guard lock(mu);
            for (const auto& [name, value] : got) {
                if (in_flight.count(name) != 0) ++overlaps;
            }
            for (const auto& [name, value] : got) in_flight.insert(name);
        }
        inflight.enter();
        std::this_thread::sleep_for(100ms);  // a distant backend: lanes overlap in this time
        inflight.leave();
        std::lock_guard lock(mu);
        for (const auto& [name, value] : got) in_flight.erase(in_flight.find(name));
        return ex::test::reply(req, 204);
    });
    prometheus::Registry reg;
    auto e = make_exporter(
        sharded("http://127.0.0.1:" + std::to_string(backend.port()) + "/api/v1/write", 4, 4), reg);
    CHECK(e->shards() == 4);
    for (int round = 1; round <= 3; ++round) {
        // Four senders' requests of 100 series each, and in the last round one request that
        // carries series of all four (split over their lanes).
        if (round == 3) {
            auto r = round_of(400, round);
            REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
            continue;
        }
        for (std::size_t k = 0; k < 4; ++k) {
            auto r = round_of(100, round, k * 100);
            REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
        }
    }
    // The batcher publishes the map's size on its tick.
    CHECK(
        eventually([&] { return metric(reg, "metrics_governor_export_lane_map_series") == 400; }));
    REQUIRE(drain_for(*e).complete);
    std::map<std::string, std::vector<double>> got;
    for (const auto& req : backend.log().all()) {
        upstream u(req);
        for (const auto& [name, value] : samples_of(u.plain)) got[name].push_back(value);
    }
    CHECK(got.size() == 400);
    for (const auto& [name, values] : got) CHECK(values == std::vector<double>{1, 2, 3});
    CHECK(overlaps == 0);
    CHECK(inflight.peak >= 2);
    CHECK(e->stats().lane_map_series == 400);
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
        // Three senders of 20 series (three lanes, some requests forwarded as they came), and
        // every fourth round one request with all 60 (split over the three lanes).
        if (round % 4 == 0) {
            auto r = round_of(60, round);
            REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
            continue;
        }
        for (std::size_t k = 0; k < 3; ++k) {
            auto r = round_of(20, round, k * 20);
            if (round % 2 == 0) {
                REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
                continue;
            }
            std::string body = r->snappy();
            REQUIRE(e->submit_raw(std::move(body), r->batch, ex::body_encoding::snappy, 20, 20) ==
                    ex::submit_status::accepted);
        }
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

TEST_CASE("shards: a full lane map starts a new epoch, and every series stays in order",
          "[export][shards]") {
    std::mutex mu;
    std::map<std::string, std::vector<double>> delivered;
    std::atomic<std::size_t> n{0};
    raw_backend backend(nullptr, [&](const mg::http::request& req, std::size_t) {
        if (n++ % 4 == 0) return ex::test::reply(req, 503);  // retries across the epochs
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
    c.batch_size = 20;
    ex::exporter_deps deps;
    deps.lane_map_max_series = 50;  // 80 series: full within every epoch's first round
    auto e = make_exporter(c, reg, queue_of(), std::move(deps));
    constexpr int k_rounds = 30;
    for (int round = 1; round <= k_rounds; ++round) {
        // Read before the round: a renewal on a tick in the middle of it counts (the new map
        // then holds only the round's later series, not full, and none follows until more come).
        const auto renewed = e->stats().lane_map_renewals;
        for (std::size_t k = 0; k < 4; ++k) {
            auto r = round_of(20, round, k * 20);
            std::string body = r->snappy();
            auto st = e->submit_raw(std::move(body), r->batch, ex::body_encoding::snappy, 20, 20);
            if (st == ex::submit_status::not_raw) st = e->submit(r->batch, r->keep_all());
            REQUIRE(st == ex::submit_status::accepted);
        }
        // The batcher renews the map on its tick (100 ms): let a few pass over the rounds.
        if (round % 10 == 0) {
            REQUIRE(eventually([&] { return e->stats().lane_map_renewals > renewed; }));
        }
    }
    REQUIRE(drain_for(*e, 20s).complete);
    CHECK(e->stats().lane_map_renewals >= 3);
    CHECK(metric(reg, "metrics_governor_export_lane_map_renewals_total") ==
          static_cast<double>(e->stats().lane_map_renewals));
    CHECK(e->stats().reshards == 0);
    REQUIRE(delivered.size() == 80);
    std::vector<double> want;
    for (int round = 1; round <= k_rounds; ++round) want.push_back(round);
    for (const auto& [name, values] : delivered) {
        INFO(name);
        CHECK(values == want);
    }
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

TEST_CASE("shards: growing under a slow backend, forwarded requests keep every series in order",
          "[export][shards]") {
    std::mutex mu;
    std::map<std::string, std::vector<double>> delivered;
    std::atomic<std::size_t> n{0};
    raw_backend backend(nullptr, [&](const mg::http::request& req, std::size_t) {
        std::this_thread::sleep_for(50ms);  // 50 ms away
        if (n++ % 5 == 0) return ex::test::reply(req, 503);
        std::string plain;
        const auto& body = req.body();
        if (!pr::snappy_decode(pr::bytes_view(body.data(), body.size()), 1 << 30, plain).ok())
            return ex::test::reply(req, 400);
        std::lock_guard lock(mu);
        for (const auto& [name, value] : samples_of(plain)) delivered[name].push_back(value);
        return ex::test::reply(req, 204);
    });
    prometheus::Registry reg;
    auto c = sharded("http://127.0.0.1:" + std::to_string(backend.port()) + "/api/v1/write", 1, 8);
    c.batch_size = 50;
    auto e = make_exporter(c, reg);
    const auto until = std::chrono::steady_clock::now() + 30s;
    int round = 0;
    int after = 0;  // rounds sent once the shards grew: they arrive raw on the new lanes
    while (after < 20 && std::chrono::steady_clock::now() < until) {
        ++round;
        for (std::size_t k = 0; k < 4; ++k) {
            auto r = round_of(25, round, k * 25);
            std::string body = r->snappy();
            auto st = e->submit_raw(std::move(body), r->batch, ex::body_encoding::snappy, 25, 25);
            if (st == ex::submit_status::not_raw) st = e->submit(r->batch, r->keep_all());
            REQUIRE(st == ex::submit_status::accepted);
        }
        if (e->shards() > 1) ++after;
        std::this_thread::sleep_for(10ms);  // the load's pace
    }
    CHECK(e->stats().reshards >= 1);
    REQUIRE(drain_for(*e, 30s).complete);
    REQUIRE(delivered.size() == 100);
    std::vector<double> want;
    for (int i = 1; i <= round; ++i) want.push_back(i);
    for (const auto& [name, values] : delivered) {
        INFO(name);
        CHECK(values == want);  // once each, in order, across the reshards and the 503s
    }
    check_accounting(e->stats());
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
        std::string body = r->snappy();
        // With its series the request goes raw on any shard count (sticky lanes); the shard
        // count is checked below.
        CHECK(e->submit_raw(std::move(body), r->batch, ex::body_encoding::snappy, 10, 10) ==
              ex::submit_status::accepted);
        std::this_thread::sleep_for(10ms);
    }
    CHECK(e->shards() == 1);
    CHECK(e->stats().reshards == 0);
    REQUIRE(drain_for(*e).complete);
}

TEST_CASE(
    "shards: with several, a stable request goes as it came on its lane, a mixed one is "
    "split",
    "[export][shards]") {
    fake_backend backend;
    prometheus::Registry reg;
    auto c = sharded(backend.url(), 2, 2);
    c.flush_interval = std::chrono::hours(1);
    auto e = make_exporter(c, reg);
    auto a = round_of(10, 1);
    auto b = round_of(10, 1, 10);
    const std::string body_a = a->snappy(), body_b = b->snappy();
    CHECK(e->can_forward_raw(a->batch, a->keep_all(), {}));
    // Without its series the exporter cannot tell the lane: not raw.
    CHECK(e->submit_raw(body_a, pr::source_protocol::remote_write_v1, ex::body_encoding::snappy, 10,
                        10) == ex::submit_status::not_raw);
    CHECK(e->stats().submitted_series == 0);
    // Two senders' requests: each whole on a lane of its own, byte for byte.
    REQUIRE(e->submit_raw(body_a, a->batch, ex::body_encoding::snappy, 10, 10) ==
            ex::submit_status::accepted);
    REQUIRE(e->submit_raw(body_b, b->batch, ex::body_encoding::snappy, 10, 10) ==
            ex::submit_status::accepted);
    REQUIRE(backend.log().wait(2, 5s));
    std::set<std::string> bodies;
    for (const auto& req : backend.log().all()) bodies.insert(req.body());
    CHECK(bodies == std::set<std::string>{body_a, body_b});
    // Then one request with series of both: not raw; submit() splits it, each series to its lane.
    auto mixed = round_of(20, 2);
    std::string body_mixed = mixed->snappy();
    CHECK(e->submit_raw(body_mixed, mixed->batch, ex::body_encoding::snappy, 20, 20) ==
          ex::submit_status::not_raw);
    CHECK(e->stats().submitted_series == 20);
    ex::submit_details details;
    REQUIRE(e->submit(mixed->batch, mixed->keep_all(), {}, details) == ex::submit_status::accepted);
    // Its parts go at once (flush interval 1 h), as a forwarded body would.
    REQUIRE(backend.log().wait(4, 5s));
    const auto reqs = backend.log().all();
    std::set<std::string> names_a, names_b;
    for (std::size_t i = 2; i < reqs.size(); ++i) {
        upstream u(reqs[i]);
        std::set<std::string> names;
        for (std::size_t k = 0; k < u.batch.size(); ++k)
            names.insert(std::string(u.batch[k].metric_name));
        // Each part is the series of one of the two first requests.
        CHECK(names.size() == 10);
        (*names.begin() == "s0" ? names_a : names_b) = names;
    }
    CHECK(names_a ==
          std::set<std::string>{"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9"});
    CHECK(names_b.count("s10") == 1);
    CHECK(names_b.size() == 10);
    REQUIRE(drain_for(*e).complete);
    check_accounting(e->stats());
}

TEST_CASE("shards: a whole request split over lanes goes at once, not after the flush interval",
          "[export][shards]") {
    fake_backend backend;
    prometheus::Registry reg;
    auto c = sharded(backend.url(), 2, 2);
    c.flush_interval = std::chrono::hours(1);
    auto e = make_exporter(c, reg);
    // Two senders' series on the two lanes first, then a request with both: split in two.
    for (std::size_t k = 0; k < 2; ++k) {
        auto r = round_of(20, 1, k * 20);
        REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
    }
    REQUIRE(backend.log().wait(2, 5s));
    auto r = round_of(40, 2);
    REQUIRE(e->submit(r->batch, r->keep_all()) == ex::submit_status::accepted);
    // One shard would have forwarded it as it came: its parts do not wait for a fuller batch.
    REQUIRE(backend.log().wait(4, 5s));
    std::size_t received = 0;
    for (const auto& req : backend.log().all()) received += upstream(req).batch.size();
    CHECK(received == 80);
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
        std::string body = r->snappy();
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
