// The export queue's budget, batches, lanes and epochs (src/export/queue.h), on a fake clock:
// the flush interval, busy time and every wait's deadline move only when a test advances the
// time, so no test sleeps and none depends on how fast the machine is.
#include "export/queue.h"

#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "common/clock.h"

namespace ex = mg::exporter;
using namespace std::chrono_literals;

namespace {

ex::payload make(std::uint32_t series, std::size_t bytes, bool compressed = false) {
    ex::payload p;
    // Compressed: a forwarded gzip OTLP body (a forwarded snappy remote-write body joins any
    // batch: see the test of its own below).
    if (compressed) p.format = ex::payload_format::otlp_protobuf;
    p.series = series;
    p.points = series;
    p.body.assign(bytes, 'x');
    p.compressed = compressed;
    return p;
}

using wait = ex::export_queue::wait_result;

// The next batch, which must be ready now: the fake time does not move while next_batch looks,
// so a wake_by of now makes it answer without waiting.
ex::taken_batch take(ex::export_queue& q, const mg::clock& clock, std::uint64_t batch_size,
                     std::chrono::nanoseconds flush) {
    ex::taken_batch b;
    REQUIRE(q.next_batch(b, batch_size, flush, clock.monotonic_now()) == wait::batch);
    return b;
}

// No batch can start now (a lane busy, an epoch barrier): next_batch reaches its wake_by.
bool none_ready(ex::export_queue& q, const mg::clock& clock, std::uint64_t batch_size) {
    ex::taken_batch none;
    return q.next_batch(none, batch_size, 0ns, clock.monotonic_now()) == wait::timeout;
}

}  // namespace

TEST_CASE("try_push refuses past the byte budget and never blocks", "[export][queue]") {
    mg::fake_clock clock;
    const auto cost = make(1, 100).cost();
    ex::export_queue q(clock, cost * 3);
    for (int i = 0; i < 3; ++i) {
        auto p = make(1, 100);
        CHECK(q.try_push(p));
    }
    auto p = make(1, 100);
    CHECK_FALSE(q.try_push(p));
    CHECK(p.body.size() == 100);  // untouched on failure
    CHECK(q.bytes() == cost * 3);
    CHECK(q.queued_payloads() == 3);

    const auto b = take(q, clock, 100, 0ns);
    CHECK(b.items.size() == 3);
    // Taken but not released: still in the budget (in flight).
    CHECK_FALSE(q.try_push(p));
    q.release(b);
    CHECK(q.bytes() == 0);
    CHECK(q.try_push(p));
}

TEST_CASE("a payload larger than the budget fits into an empty queue", "[export][queue]") {
    mg::fake_clock clock;
    ex::export_queue q(clock, 10);
    auto big = make(1, 1000);
    CHECK(q.try_push(big));
    auto small = make(1, 1);
    CHECK_FALSE(q.try_push(small));
}

TEST_CASE("batches merge up to batch_size series - standalone payloads go alone",
          "[export][queue]") {
    mg::fake_clock clock;
    ex::export_queue q(clock, 1 << 20);
    for (std::uint32_t s : {3U, 3U, 3U, 3U}) {
        auto p = make(s, 10);
        q.try_push(p);
    }
    auto raw = make(5, 10, true);
    q.try_push(raw);
    auto tail = make(2, 10);
    q.try_push(tail);

    auto b = take(q, clock, 7, 1h);  // 3+3 fit, a third would be 9 > 7
    CHECK(b.items.size() == 2);
    q.release(b);
    b = take(q, clock, 7, 1h);  // 3+3 again; the raw payload (another format) stops the run
    CHECK(b.items.size() == 2);
    q.release(b);
    b = take(q, clock, 7, 1h);
    REQUIRE(b.items.size() == 1);
    CHECK(b.items[0].compressed);
    q.release(b);

    // The last one is alone and not full: it waits for the flush interval (or flush_now).
    auto fut = std::async(std::launch::async, [&] {
        ex::taken_batch o;
        const bool ok = q.next_batch(o, 7, 1h) == wait::batch;
        return ok ? o.items.size() : std::size_t{0};
    });
    REQUIRE(clock.await_waiters(1));  // waiting, for the interval's end
    clock.advance(59min);
    REQUIRE(clock.await_waiters(1));  // still waiting
    CHECK(fut.wait_for(0s) == std::future_status::timeout);
    q.flush_now();
    REQUIRE(fut.wait_for(30s) == std::future_status::ready);  // a bound on a hang only
    CHECK(fut.get() == 1);
}

TEST_CASE("the flush interval releases a partial batch", "[export][queue]") {
    mg::fake_clock clock;
    ex::export_queue q(clock, 1 << 20);
    auto p = make(1, 10);
    q.try_push(p);
    ex::taken_batch b;
    auto result = wait::closed;
    mg::clock::time_point taken_at{};
    std::thread batcher([&] {
        result = q.next_batch(b, 1000, 50ms);
        taken_at = clock.monotonic_now();
    });
    // The interval counts from the enqueue: a millisecond short of it, the batch still waits.
    const auto pushed = clock.monotonic_now();
    REQUIRE(clock.await_waiters(1));
    clock.advance(49ms);
    REQUIRE(clock.await_waiters(1));
    clock.advance(1ms);
    batcher.join();
    CHECK(result == wait::batch);
    CHECK(taken_at - pushed == 50ms);
    CHECK(b.items.size() == 1);
}

TEST_CASE("a sender's whole request (prompt) goes when its lane is free, with what waits behind it",
          "[export][queue]") {
    mg::fake_clock clock;
    ex::export_queue q(clock, 1 << 20);
    auto plain = make(1, 10);
    q.try_push(plain);
    ex::taken_batch none;
    // Not prompt: it waits for a fuller batch until the flush interval (an hour here).
    CHECK(q.next_batch(none, 1000, 1h, clock.monotonic_now()) == wait::timeout);

    ex::export_queue r(clock, 1 << 20);
    auto first = make(2, 10);
    first.prompt = true;
    auto second = make(3, 10);
    r.try_push(first);
    r.try_push(second);
    const auto b = take(r, clock, 1000, 1h);  // at once, not after the hour
    REQUIRE(b.items.size() == 2);
    CHECK(b.items[0].series == 2);
    CHECK(b.items[1].series == 3);
}

TEST_CASE("next_batch returns timeout at wake_by when nothing is ready", "[export][queue]") {
    mg::fake_clock clock;
    ex::export_queue q(clock, 1 << 20);
    auto p = make(1, 10);
    q.try_push(p);  // not due for an hour
    const auto wake_by = clock.monotonic_now() + 100ms;
    ex::taken_batch b;
    auto result = wait::batch;
    std::thread batcher([&] { result = q.next_batch(b, 1000, 1h, wake_by); });
    REQUIRE(clock.await_waiters(1));
    clock.advance(100ms);
    batcher.join();
    CHECK(result == wait::timeout);
    CHECK(b.items.empty());
    CHECK(q.queued_payloads() == 1);
}

TEST_CASE("close hands out the rest - abort returns it - wait_empty follows release",
          "[export][queue]") {
    mg::fake_clock clock;
    ex::export_queue q(clock, 1 << 20);
    auto a = make(1, 10);
    auto b = make(1, 10);
    q.try_push(a);
    q.close();
    CHECK_FALSE(q.try_push(b));
    const auto taken = take(q, clock, 1000, 1h);  // closed: no waiting for the interval
    ex::taken_batch none;
    CHECK(q.next_batch(none, 1000, 1h) == wait::closed);
    // In flight until released: the wait reaches its deadline.
    bool emptied = true;
    std::thread drain([&] { emptied = q.wait_empty(clock.monotonic_now() + 10ms); });
    REQUIRE(clock.await_waiters(1));
    clock.advance(10ms);
    drain.join();
    CHECK_FALSE(emptied);
    // A release ends the wait without any time passing.
    drain = std::thread([&] { emptied = q.wait_empty(clock.monotonic_now() + 1s); });
    REQUIRE(clock.await_waiters(1));
    q.release(taken);
    drain.join();
    CHECK(emptied);
    CHECK(q.wait_empty(clock.monotonic_now()));

    ex::export_queue r(clock, 1 << 20);
    auto c = make(2, 10);
    r.try_push(c);
    auto left = r.abort();
    REQUIRE(left.size() == 1);
    CHECK(left[0].series == 2);
    CHECK(r.bytes() == 0);
    CHECK(r.next_batch(none, 1000, 1h) == wait::closed);
}

TEST_CASE("lanes: one batch in flight per lane, other lanes go meanwhile",
          "[export][queue][shards]") {
    mg::fake_clock clock;
    ex::export_queue q(clock, 1 << 20, 4, 4);
    const auto epoch = q.shards().epoch;
    auto a1 = make(1, 10);
    auto a2 = make(1, 10, true);  // standalone: a batch of its own
    auto b1 = make(1, 10);
    q.try_push(a1, {0, epoch});
    q.try_push(a2, {0, epoch});
    q.try_push(b1, {2, epoch});
    const auto first = take(q, clock, 100, 0ns);
    const auto second = take(q, clock, 100, 0ns);
    CHECK(first.where.lane != second.where.lane);  // lane 0's second batch waits for its first
    CHECK(none_ready(q, clock, 100));
    CHECK(q.usage().busy_lanes == 2);
    q.release(first.where.lane == 0 ? first : second);
    const auto third = take(q, clock, 100, 0ns);
    CHECK(third.where.lane == 0);
    REQUIRE(third.items.size() == 1);
    CHECK(third.items[0].compressed);
}

TEST_CASE("resharding: nothing of a new epoch starts before the old epoch is delivered",
          "[export][queue][shards]") {
    mg::fake_clock clock;
    ex::export_queue q(clock, 1 << 20, 8, 2);
    const auto old = q.shards();
    CHECK(old.shards == 2);
    auto a = make(1, 10);
    q.try_push(a, old.lane(1));  // lane 1 of 2
    q.set_shards(4);
    const auto now = q.shards();
    CHECK(now.shards == 4);
    CHECK(now.epoch == old.epoch + 1);
    auto b = make(1, 10);
    q.try_push(b, now.lane(2));
    const auto first = take(q, clock, 100, 0ns);
    CHECK(first.where.epoch == old.epoch);
    // Lane 2 is idle, but its payload belongs to the new epoch: it waits for the old one.
    CHECK(none_ready(q, clock, 100));
    // A payload split before the reshard and pushed late still goes first in its lane.
    auto late = make(1, 10);
    q.try_push(late, {2, old.epoch});
    q.release(first);
    const auto second = take(q, clock, 100, 0ns);
    CHECK(second.where.epoch == old.epoch);
    CHECK(second.where.lane == 2);
    q.release(second);
    const auto third = take(q, clock, 100, 0ns);
    CHECK(third.where.epoch == now.epoch);
    q.release(third);
    CHECK(q.bytes() == 0);
}

TEST_CASE("reservations: held room refuses others, a reserved push is never refused",
          "[export][queue]") {
    mg::fake_clock clock;
    const auto cost = make(1, 100).cost();
    ex::export_queue q(clock, cost * 2);
    REQUIRE(q.try_reserve(cost * 2));
    auto other = make(1, 100);
    CHECK_FALSE(q.try_push(other));  // the room is promised to the reserving request
    CHECK_FALSE(q.try_reserve(cost));
    std::vector<std::pair<ex::payload, ex::lane_ref>> group;
    group.emplace_back(make(1, 100), ex::lane_ref{0, q.shards().epoch});
    group.emplace_back(make(1, 100), ex::lane_ref{0, q.shards().epoch});
    group.emplace_back(make(1, 100), ex::lane_ref{0, q.shards().epoch});  // more than reserved
    std::uint64_t reserved = cost * 2;
    CHECK(q.try_push_group(group, reserved));
    CHECK(reserved == 0);
    CHECK(q.bytes() == cost * 3);  // the excess over the reservation is bounded by the request
    CHECK(q.queued_payloads() == 3);
    // What a request does not use goes back.
    ex::export_queue r(clock, cost * 4);
    REQUIRE(r.try_reserve(cost * 3));
    r.unreserve(cost * 3);
    CHECK(r.bytes() == 0);
    // A closed queue grants no reservation.
    r.close();
    CHECK_FALSE(r.try_reserve(1));
}

TEST_CASE("usage: busy time follows the lanes' batches in flight", "[export][queue][shards]") {
    mg::fake_clock clock;
    ex::export_queue q(clock, 1 << 20, 2, 2);
    auto a = make(1, 10);
    q.try_push(a, {0, q.shards().epoch});
    CHECK(q.usage().waiting_payloads == 1);
    const auto b = take(q, clock, 100, 0ns);
    CHECK(q.usage().waiting_payloads == 0);
    clock.advance(15ms);
    CHECK(q.usage().busy == 15ms);  // in flight: counted up to now
    CHECK(q.usage().busy_lanes == 1);
    clock.advance(5ms);
    q.release(b);
    clock.advance(1h);  // idle time is not busy time
    const auto u = q.usage();
    CHECK(u.busy_lanes == 0);
    CHECK(u.busy == 20ms);
}

TEST_CASE(
    "forwarded remote-write bodies join what waits in their lane: 8 with a near backend, up to "
    "batch_size with long round trips",
    "[export][queue]") {
    mg::fake_clock clock;
    ex::export_queue q(clock, 1 << 20);
    const auto push_forwarded = [&] {
        auto raw = make(10, 100);
        raw.compressed = true;  // snappy, as a sender posted it
        q.try_push(raw);
    };
    // Alone, a forwarded body goes at once (no waiting for a fuller batch).
    push_forwarded();
    auto b = take(q, clock, 1000, 1h);
    CHECK(b.items.size() == 1);
    // Behind the busy lane: 20 bodies and a plain payload (a request split over lanes).
    for (int i = 0; i < 20; ++i) {
        push_forwarded();
        if (i == 5) {
            auto plain = make(10, 100);
            q.try_push(plain);
        }
    }
    CHECK(none_ready(q, clock, 1000));
    q.release(b);
    // A near backend (merging off): what waited goes together, at once, up to 8 forwarded bodies
    // (the plain payload in between joins too and does not count).
    b = take(q, clock, 1000, 1h);
    CHECK(b.items.size() == 9);
    CHECK(b.bytes == 9 * make(10, 100).cost());
    q.release(b);
    q.set_merge_forwarded(true);  // round trips became long
    // Up to batch_size series, without waiting for a backlog: joining snappy blocks costs a copy
    // (snappy_concat.h).
    b = take(q, clock, 100, 1h);
    CHECK(b.items.size() == 10);
    q.release(b);
    b = take(q, clock, 100, 1h);
    CHECK(b.items.size() == 2);  // the rest, at once
    q.release(b);
    CHECK(q.queued_payloads() == 0);
}

ex::payload forwarded_body(std::uint32_t series) {
    auto raw = make(series, 100);
    raw.compressed = true;  // snappy, as a sender posted it
    return raw;
}

TEST_CASE("forward linger: a forwarded body waits in its free lane for others to join it",
          "[export][queue]") {
    mg::fake_clock clock;
    ex::export_queue q(clock, 1 << 20);
    q.set_forward_linger(5ms);
    auto first = forwarded_body(10);
    q.try_push(first);
    CHECK(none_ready(q, clock, 1000));  // not before the linger (none_ready: no flush wait)
    clock.advance(3ms);
    auto second = forwarded_body(10);
    q.try_push(second);
    CHECK(none_ready(q, clock, 1000));  // the linger counts from the oldest
    clock.advance(2ms);
    auto b = take(q, clock, 1000, 1h);
    CHECK(b.items.size() == 2);
    q.release(b);

    // Eight forwarded bodies fill a request with a near backend: they go without waiting.
    for (int i = 0; i < 9; ++i) {
        auto raw = forwarded_body(10);
        q.try_push(raw);
    }
    b = take(q, clock, 1000, 1h);
    CHECK(b.items.size() == 8);
    q.release(b);
    CHECK(none_ready(q, clock, 1000));  // the ninth lingers
    clock.advance(5ms);
    CHECK(take(q, clock, 1000, 1h).items.size() == 1);

    // Without a linger a forwarded body goes at once.
    ex::export_queue now_q(clock, 1 << 20);
    auto lone = forwarded_body(10);
    now_q.try_push(lone);
    CHECK(take(now_q, clock, 1000, 1h).items.size() == 1);
}

// Runs next_batch on its own thread (the batcher), with wake_by far away: the batch comes only
// if a push or the time wakes it. done() waits a bounded real time for it; on failure the queue
// is flushed so the thread ends and the test reports instead of hanging.
struct batcher_thread {
    ex::export_queue& q;
    ex::taken_batch b;
    std::future<wait> result;
    batcher_thread(ex::export_queue& queue, std::uint64_t batch_size,
                   std::chrono::nanoseconds flush)
        : q(queue) {
        result = std::async(std::launch::async, [this, batch_size, flush] {
            return q.next_batch(b, batch_size, flush);
        });
    }
    bool done() {
        if (result.wait_for(30s) == std::future_status::ready) return result.get() == wait::batch;
        q.flush_now();
        result.wait();
        return false;
    }
};

TEST_CASE("a push wakes the waiting batcher when it makes a batch due sooner or ready",
          "[export][queue]") {
    mg::fake_clock clock;
    SECTION("a forwarded body's linger ends before the batcher's wake-up") {
        ex::export_queue q(clock, 1 << 20);
        q.set_forward_linger(5ms);
        batcher_thread batcher(q, 1000, 1h);
        REQUIRE(clock.await_waiters(1));  // waiting for anything at all
        auto raw = forwarded_body(10);
        q.try_push(raw);
        // Not woken, the batcher would wait for a fake eternity that no advance reaches.
        clock.advance(5ms);
        REQUIRE(batcher.done());
        CHECK(batcher.b.items.size() == 1);
    }
    SECTION("plain payloads fill a batch") {
        ex::export_queue q(clock, 1 << 20);
        batcher_thread batcher(q, 20, 1h);
        REQUIRE(clock.await_waiters(1));
        auto a = make(10, 10);
        q.try_push(a);  // due in an hour: the batcher waits for that now
        auto b = make(10, 10);
        q.try_push(b);  // 20 series: ready, without any advance
        REQUIRE(batcher.done());
        CHECK(batcher.b.items.size() == 2);
    }
}

TEST_CASE("a push behind a batch in flight is taken once that batch is released",
          "[export][queue]") {
    // A push into a busy lane does not wake the batcher (it could not start anything): release()
    // must, or the payload would wait for the next flush interval or tick.
    mg::fake_clock clock;
    ex::export_queue q(clock, 1 << 20);
    auto first = make(1, 10, true);
    q.try_push(first);
    const auto in_flight = take(q, clock, 1000, 1h);
    ex::taken_batch b;
    auto result = wait::closed;
    std::thread batcher([&] { result = q.next_batch(b, 1000, 1h); });
    REQUIRE(clock.await_waiters(1));
    auto second = make(1, 10, true);
    REQUIRE(q.try_push(second));
    q.release(in_flight);
    batcher.join();  // without a wake-up it would wait for a fake hour that never passes
    CHECK(result == wait::batch);
    CHECK(b.items.size() == 1);
}

TEST_CASE(
    "forwarded OTLP bodies go alone, unless round trips are long and their lane has a "
    "backlog",
    "[export][queue]") {
    mg::fake_clock clock;
    ex::export_queue q(clock, 1 << 20);
    for (int i = 0; i < 13; ++i) {
        auto raw = make(10, 100, true);
        q.try_push(raw);
    }
    auto b =
        take(q, clock, 1000, 1h);  // a near backend (merging off): each goes as it came, at once
    CHECK(b.items.size() == 1);
    q.release(b);
    q.set_merge_forwarded(true);  // round trips became long
    b = take(q, clock, 1000,
             1h);  // a backlog (12 waiting): merged up to batch_size, without waiting
    CHECK(b.items.size() == 12);
    for (const auto& p : b.items) CHECK(p.compressed);
    q.release(b);
    // OTLP/JSON never merges.
    for (int i = 0; i < 10; ++i) {
        auto json = make(1, 10);
        json.format = ex::payload_format::otlp_json;
        q.try_push(json);
    }
    b = take(q, clock, 1000, 1h);
    CHECK(b.items.size() == 1);
    q.release(b);
}

TEST_CASE(
    "resplit: the old epoch's waiting payloads move to the new lanes, before the senders' newer "
    "data",
    "[export][queue][shards]") {
    mg::fake_clock clock;
    ex::export_queue q(clock, 1 << 20, 8, 1);
    const auto old = q.shards();
    auto a = make(1, 10);
    auto b = make(1, 10);
    q.try_push(a, old.lane(0));
    q.try_push(b, old.lane(0));
    const auto first =
        take(q, clock, 1, 0ns);  // a, in flight (batch_size 1: one payload per batch)
    q.set_shards(2);
    const auto now = q.shards();
    auto c = make(1, 10);
    c.series = 7;  // the sender's newer data, queued after the reshard
    q.try_push(c, {1, now.epoch});
    auto taken = q.take_waiting();
    REQUIRE(taken.size() == 1);  // b: waiting in the old epoch (a is in flight)
    CHECK(taken[0].where.epoch == old.epoch);
    std::vector<std::pair<ex::payload, ex::lane_ref>> split;
    auto piece = make(1, 4);
    piece.series = 3;
    split.emplace_back(std::move(piece), ex::lane_ref{1, now.epoch});
    q.put_resplit(std::move(split), {}, {{taken[0].where, taken[0].p.cost()}});
    // a still in flight: the barrier holds everything of the new epoch.
    CHECK(none_ready(q, clock, 1));
    q.release(first);
    const auto second = take(q, clock, 1, 0ns);
    CHECK(second.where.lane == 1);
    REQUIRE(second.items.size() == 1);
    CHECK(second.items[0].series == 3);  // the moved piece goes first
    q.release(second);
    const auto third = take(q, clock, 1, 0ns);
    CHECK(third.items[0].series == 7);
    q.release(third);
    CHECK(q.bytes() == 0);
    CHECK(q.queued_payloads() == 0);
}
