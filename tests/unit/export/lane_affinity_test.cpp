// The lane map (src/export/lane_affinity.h) and the epochs around it (lane_epochs.h): a series
// takes its request's lane when first seen and keeps it; a request whose series agree is on one
// lane, one whose series disagree is split; concurrent threads agree on every series' lane; the
// bound; a new epoch starts an empty map only once the old epoch's tickets are released.
#include "export/lane_affinity.h"

#include <catch2/catch.hpp>
#include <future>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "export/lane_epochs.h"
#include "export/queue.h"

namespace ex = mg::exporter;
using namespace std::chrono_literals;

namespace {

// Identities that differ in their upper bits (the map keys on bits 16..63).
std::vector<std::uint64_t> ids(std::uint64_t first, std::size_t n) {
    std::vector<std::uint64_t> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back((first + i) * 0x9E3779B97F4A7C15ULL);
    return out;
}

std::vector<std::uint64_t> join(std::vector<std::uint64_t> a, const std::vector<std::uint64_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

struct assigned {
    std::uint32_t one;
    std::vector<std::uint32_t> lanes;
};

assigned assign(ex::lane_affinity& m, const std::vector<std::uint64_t>& request) {
    assigned a;
    a.lanes.assign(request.size(), 12345);
    a.one = m.assign(request, a.lanes);
    return a;
}

}  // namespace

TEST_CASE("lane map: new series take one lane per request, the least loaded",
          "[export][lane_affinity]") {
    ex::lane_affinity m(4, 1);
    const auto a = assign(m, ids(0, 10));
    REQUIRE(a.one != ex::lane_affinity::k_several);
    for (const auto l : a.lanes) CHECK(l == a.one);
    CHECK(m.size() == 10);
    // Each further new request takes a lane nobody uses yet while there is one.
    std::set<std::uint32_t> used{a.one};
    for (std::uint64_t r = 1; r < 4; ++r) {
        const auto b = assign(m, ids(r * 100, 10));
        REQUIRE(b.one != ex::lane_affinity::k_several);
        CHECK(used.insert(b.one).second);
    }
    CHECK(used.size() == 4);
    // The same request again: the same lane, nothing new stored.
    CHECK(assign(m, ids(0, 10)).one == a.one);
    CHECK(m.size() == 40);
    CHECK_FALSE(m.full());
}

TEST_CASE("lane map: new series join the lane their request's known series agree on",
          "[export][lane_affinity]") {
    ex::lane_affinity m(8, 1);
    const auto known = assign(m, ids(0, 5));
    assign(m, ids(1000, 5));  // another lane is used meanwhile: "least loaded" would differ
    const auto grown = assign(m, join(ids(0, 5), ids(500, 7)));
    CHECK(grown.one == known.one);
    // The new ones are mapped there: alone they come back on that lane.
    CHECK(assign(m, ids(500, 7)).one == known.one);
}

TEST_CASE("lane map: a request whose series disagree is split, each series on its lane",
          "[export][lane_affinity]") {
    ex::lane_affinity m(4, 1);
    const auto a = assign(m, ids(0, 5));
    const auto b = assign(m, ids(100, 5));
    REQUIRE(a.one != b.one);
    const auto mixed_ids = join(join(ids(0, 5), ids(100, 5)), ids(200, 3));
    const auto mixed = assign(m, mixed_ids);
    CHECK(mixed.one == ex::lane_affinity::k_several);
    for (std::size_t i = 0; i < 5; ++i) CHECK(mixed.lanes[i] == a.one);
    for (std::size_t i = 5; i < 10; ++i) CHECK(mixed.lanes[i] == b.one);
    // Its new series went with the first known series' lane, and stay there.
    for (std::size_t i = 10; i < 13; ++i) CHECK(mixed.lanes[i] == a.one);
    CHECK(assign(m, ids(200, 3)).one == a.one);
    // The original requests are still whole on their lanes.
    CHECK(assign(m, ids(0, 5)).one == a.one);
    CHECK(assign(m, ids(100, 5)).one == b.one);
}

TEST_CASE("lane map: one shard stores nothing", "[export][lane_affinity]") {
    ex::lane_affinity m(1, 1);
    const auto a = assign(m, ids(0, 100));
    CHECK(a.one == 0);
    for (const auto l : a.lanes) CHECK(l == 0);
    CHECK(m.size() == 0);
}

TEST_CASE("lane map: past its bound new series go by hash and are not stored",
          "[export][lane_affinity]") {
    ex::lane_affinity m(4, 1, 8);
    const auto first = assign(m, ids(0, 8));
    CHECK(m.full());
    CHECK(m.size() == 8);
    const auto late = ids(100, 50);
    const auto a = assign(m, late);
    for (std::size_t i = 0; i < late.size(); ++i) CHECK(a.lanes[i] == late[i] % 4);
    CHECK(m.size() == 8);
    // Stable: asked again (alone or with mapped series), the same lanes.
    const auto again = assign(m, join(late, ids(0, 8)));
    for (std::size_t i = 0; i < late.size(); ++i) CHECK(again.lanes[i] == late[i] % 4);
    for (std::size_t i = late.size(); i < again.lanes.size(); ++i)
        CHECK(again.lanes[i] == first.one);
}

TEST_CASE("lane map: a bound reached within one request stores up to it",
          "[export][lane_affinity]") {
    ex::lane_affinity m(4, 1, 5);
    const auto request = ids(0, 12);
    const auto a = assign(m, request);
    CHECK(m.full());
    CHECK(m.size() == 5);
    const auto b = assign(m, request);
    CHECK(a.lanes == b.lanes);  // no series changed lanes
}

TEST_CASE("lane map: the table grows past its first size and keeps every lane",
          "[export][lane_affinity]") {
    ex::lane_affinity m(16, 1);
    std::map<std::uint64_t, std::uint32_t> want;
    for (std::uint64_t r = 0; r < 100; ++r) {
        const auto request = ids(r * 1000, 100);  // 10000 series: several doublings
        const auto a = assign(m, request);
        for (std::size_t i = 0; i < request.size(); ++i) want[request[i]] = a.lanes[i];
    }
    CHECK(m.size() == 10000);
    for (std::uint64_t r = 0; r < 100; ++r) {
        const auto request = ids(r * 1000, 100);
        const auto a = assign(m, request);
        for (std::size_t i = 0; i < request.size(); ++i) CHECK(a.lanes[i] == want[request[i]]);
    }
}

TEST_CASE("lane map: concurrent threads agree on every series' lane", "[export][lane_affinity]") {
    ex::lane_affinity m(8, 1);
    constexpr int k_threads = 4;
    constexpr int k_requests = 300;
    const auto pool = ids(0, 2000);
    // Each thread records (series, lane) for every series of every request it sent; checked on
    // the test thread afterwards.
    std::vector<std::vector<std::pair<std::uint64_t, std::uint32_t>>> seen(k_threads);
    std::vector<int> bad_one(k_threads, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < k_threads; ++t) {
        threads.emplace_back([&, t] {
            std::mt19937 rng(static_cast<unsigned>(t));
            for (int r = 0; r < k_requests; ++r) {
                // Overlapping random windows of the pool: new series race with other threads.
                const std::size_t lo = rng() % (pool.size() - 100);
                std::vector<std::uint64_t> request(pool.begin() + lo,
                                                   pool.begin() + lo + 1 + rng() % 100);
                std::vector<std::uint32_t> lanes(request.size());
                const auto one = m.assign(request, lanes);
                for (std::size_t i = 0; i < request.size(); ++i) {
                    seen[t].emplace_back(request[i], lanes[i]);
                    if (one != ex::lane_affinity::k_several && lanes[i] != one) ++bad_one[t];
                }
            }
        });
    }
    for (auto& th : threads) th.join();
    std::map<std::uint64_t, std::set<std::uint32_t>> lanes_of;
    for (const auto& s : seen)
        for (const auto& [id, lane] : s) lanes_of[id].insert(lane);
    CHECK(lanes_of.size() > 1000);
    for (const auto& [id, lanes] : lanes_of) {
        INFO(id);
        CHECK(lanes.size() == 1);
        CHECK(*lanes.begin() < 8);
    }
    for (const auto b : bad_one) CHECK(b == 0);  // "one lane" always meant every series on it
}

TEST_CASE("lane epochs: a new epoch starts an empty map once the old epoch's tickets are released",
          "[export][lane_affinity][shards]") {
    mg::fake_clock clock;
    ex::export_queue q(clock, 1 << 20, 8, 4);
    ex::lane_epochs epochs(q);
    const auto first_epoch = q.shards().epoch;
    auto held = std::make_unique<ex::lane_epochs::ticket>(epochs.enter());
    CHECK(held->epoch() == first_epoch);
    CHECK(held->shards() == 4);
    std::vector<std::uint32_t> old_lanes(10);
    held->lanes().assign(ids(0, 10), old_lanes);
    CHECK(epochs.mapped_series() == 10);
    auto advanced = std::async(std::launch::async, [&] { epochs.advance(2); });
    // The queue's epoch moves at once: the next tickets are of the new one...
    auto fresh = [&] {
        for (;;) {
            auto t = epochs.enter();
            if (t.epoch() != first_epoch) return t.epoch();
            std::this_thread::yield();
        }
    }();
    CHECK(fresh == first_epoch + 1);
    CHECK(q.shards().epoch == first_epoch + 1);
    CHECK(q.shards().shards == 2);
    // ...but advance() waits for the ticket of the old epoch (a push may still use it).
    CHECK(advanced.wait_for(50ms) == std::future_status::timeout);
    held.reset();
    advanced.get();
    auto t = epochs.enter();
    CHECK(t.shards() == 2);
    CHECK(epochs.mapped_series() == 0);  // cleared at the epoch
    std::vector<std::uint32_t> lanes(10);
    CHECK(t.lanes().assign(ids(0, 10), lanes) < 2);
}

TEST_CASE("lane epochs: renew keeps the shard count, counts, and empties the map",
          "[export][lane_affinity][shards]") {
    mg::fake_clock clock;
    ex::export_queue q(clock, 1 << 20, 8, 4);
    ex::lane_epochs epochs(q, 3);
    {
        auto t = epochs.enter();
        std::vector<std::uint32_t> lanes(5);
        t.lanes().assign(ids(0, 5), lanes);
    }
    CHECK(epochs.map_full());
    const auto before = q.shards().epoch;
    epochs.renew();
    CHECK(q.shards().epoch == before + 1);
    CHECK(q.shards().shards == 4);
    CHECK_FALSE(epochs.map_full());
    CHECK(epochs.mapped_series() == 0);
    CHECK(epochs.renewals() == 1);
}
