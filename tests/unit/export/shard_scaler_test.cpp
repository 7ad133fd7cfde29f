// The shard scaler's decisions from lane usage (src/export/shard_scaler.h), on made-up figures:
// ticks of one second for round numbers (the exporter ticks every 100 ms).
#include "export/shard_scaler.h"

#include <catch2/catch.hpp>

namespace ex = mg::exporter;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

// Feeds one tick in which the lanes were busy `busy` over `batches` finished batches carrying
// `bytes`, with `waiting` payloads queued at the end.
struct feeder {
    ex::shard_scaler scaler;
    ex::lane_usage u;
    steady::time_point now{};
    std::uint32_t shards = 1;
    explicit feeder(ex::shard_scaler_options o) : scaler(o) {
        shards = scaler.on_tick(o.min_shards, u, now);
    }
    std::uint32_t tick(std::chrono::nanoseconds busy, std::uint64_t batches, std::size_t waiting,
                       std::uint64_t bytes = 0, bool older_epochs = false) {
        now += 1s;
        u.busy += busy;
        u.batches += batches;
        u.bytes_done += bytes;
        u.waiting_payloads = waiting;
        u.older_epochs = older_epochs;
        shards = scaler.on_tick(shards, u, now);
        return shards;
    }
    // A backend 50 ms away: every lane busy all the tick, 20 batches each of `per_batch` bytes.
    std::uint32_t far(std::uint64_t per_batch = 1000, bool older_epochs = false) {
        return tick(shards * 1s, shards * 20, 40, shards * 20 * per_batch, older_epochs);
    }
};

ex::shard_scaler_options quick() {
    ex::shard_scaler_options o;
    o.max_shards = 8;
    o.eval_ticks = 2;
    o.settle_ticks = 1;
    o.holdoff_ticks = 5;
    return o;
}

}  // namespace

TEST_CASE("scaler: busy lanes, waiting data and long round trips double the shards while it pays",
          "[export][scaler]") {
    feeder f(quick());
    CHECK(f.far() == 1);  // waited once: not yet
    CHECK(f.far() == 2);  // twice, 50 ms per batch: up
    CHECK(f.scaler.last_reason() == ex::scale_reason::up);
    CHECK(f.scaler.latency_bound());
    CHECK(f.far(1000, true) == 2);         // behind the barrier: not judged yet
    for (int i = 0; i < 30; ++i) f.far();  // each doubling delivers twice as much: kept
    CHECK(f.shards == 8);                  // never past max
}

TEST_CASE("scaler: a doubling that delivers no more goes back and is not tried again for a while",
          "[export][scaler]") {
    feeder f(quick());
    f.far();
    REQUIRE(f.far() == 2);
    // Two lanes, but together they deliver what one did (the CPU, not the round trip, sets the
    // pace): the same bytes per tick as before.
    CHECK(f.tick(2s, 20, 40, 20000) == 2);  // measured: one of the two ticks of the evaluation
    CHECK(f.tick(2s, 20, 40, 20000) == 1);  // judged: no gain
    CHECK(f.scaler.last_reason() == ex::scale_reason::no_gain);
    for (int i = 0; i < 4; ++i) CHECK(f.far() == 1);  // held off
    for (int i = 0; i < 4 && f.shards == 1; ++i) f.far();
    CHECK(f.shards == 2);  // tried again after the hold-off
}

TEST_CASE("scaler: a backlog many round trips deep goes straight to the shards it asks for",
          "[export][scaler]") {
    feeder f(quick());
    // One lane delivers 20 KB per second (20 batches of 1 KB, 50 ms each) while 20 KB/s come in
    // and 100 KB wait: draining that within the second (backlog_drain) takes 5 more lanes' worth.
    const auto flood_tick = [&] {
        f.u.bytes_in += 20000;
        f.u.waiting_bytes = 100000;
        return f.far();
    };
    CHECK(flood_tick() == 1);
    CHECK(flood_tick() == 6);  // ceil(1 s / 20000 B x (20000 B/s + 100000 B / 1 s)), not 2
    CHECK(f.scaler.last_reason() == ex::scale_reason::up);

    // Asking for more than max: max.
    feeder g(quick());
    g.u.waiting_bytes = 10'000'000;
    g.far();
    CHECK(g.far() == 8);
}

TEST_CASE("scaler: a busy lane with short round trips stays at one shard", "[export][scaler]") {
    feeder f(quick());
    // A flood the CPU forwards as fast as it can: the lane always busy, data always waiting, but
    // each batch takes 1 ms: more shards would not help.
    for (int i = 0; i < 10; ++i) CHECK(f.tick(990ms, 990, 50, 990000) == 1);
    CHECK_FALSE(f.scaler.latency_bound());
}

TEST_CASE("scaler: idle lanes with nothing waiting halve the shards after the calm ticks",
          "[export][scaler]") {
    auto o = quick();
    o.min_shards = 2;
    o.max_shards = 16;
    o.calm_ticks = 3;
    feeder f(o);
    f.shards = 8;
    CHECK(f.tick(100ms, 2, 0) == 8);
    CHECK(f.tick(100ms, 2, 0) == 8);
    CHECK(f.tick(100ms, 2, 0) == 4);  // third calm tick
    CHECK(f.scaler.last_reason() == ex::scale_reason::down);
    CHECK(f.tick(100ms, 2, 5) == 4);  // settling
    // Data waiting breaks the calm.
    CHECK(f.tick(100ms, 2, 5) == 4);
    CHECK(f.tick(100ms, 2, 0) == 4);
    CHECK(f.tick(100ms, 2, 0) == 4);
    CHECK(f.tick(100ms, 2, 0) == 2);
    for (int i = 0; i < 10; ++i) f.tick(0ms, 0, 0);
    CHECK(f.shards == 2);  // never under min
}
