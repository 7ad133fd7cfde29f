#include "ui/cardinality_history.h"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

namespace ui = mg::ui;
namespace lim = mg::limits;

namespace {

lim::metric_summary metric(std::string name, std::uint64_t active, std::uint64_t card_drops = 0,
                           std::uint64_t label_drops = 0) {
    lim::metric_summary m;
    m.name = std::move(name);
    m.active_series = active;
    m.dropped_by_reason[static_cast<std::size_t>(lim::drop_reason::cardinality_limit)] = card_drops;
    m.dropped_by_reason[static_cast<std::size_t>(lim::drop_reason::label_limit)] = label_drops;
    return m;
}

ui::history_input sample(std::int64_t ms, std::vector<lim::metric_summary> metrics,
                         std::uint64_t kept = 0, std::uint64_t dropped = 0) {
    ui::history_input in;
    in.unix_ms = ms;
    for (const auto& m : metrics) in.total_series += m.active_series;
    in.kept_total = kept;
    in.dropped_total[static_cast<std::size_t>(lim::drop_reason::cardinality_limit)] = dropped;
    in.metrics = std::move(metrics);
    return in;
}

}  // namespace

TEST_CASE("history: totals oldest first, rates from consecutive samples", "[ui][history]") {
    ui::cardinality_history h({std::chrono::seconds(15), 3, 10});
    CHECK(h.totals().empty());
    CHECK(h.top(5).empty());
    h.record(sample(1000, {metric("a", 5)}, 100, 0));
    h.record(sample(11000, {metric("a", 7)}, 300, 50));
    const auto t = h.totals();
    REQUIRE(t.size() == 2);
    CHECK(t[0].unix_ms == 1000);
    CHECK(t[0].kept_per_second == 0);  // the first sample has no rate
    CHECK(t[1].total_series == 7);
    CHECK(t[1].kept_per_second == Approx(20));
    CHECK(t[1].dropped_per_second[static_cast<std::size_t>(lim::drop_reason::cardinality_limit)] ==
          Approx(5));
}

TEST_CASE("history: the ring keeps the newest `slots` samples", "[ui][history]") {
    ui::cardinality_history h({std::chrono::seconds(1), 3, 10});
    for (int i = 0; i < 5; ++i) h.record(sample(i * 1000, {metric("a", 10 + i)}));
    CHECK(h.samples() == 3);
    const auto t = h.totals();
    REQUIRE(t.size() == 3);
    CHECK(t[0].unix_ms == 2000);
    CHECK(t[2].unix_ms == 4000);
    const auto a = h.metric("a");
    REQUIRE(a);
    CHECK(a->active_series == std::vector<std::int64_t>{12, 13, 14});
}

TEST_CASE("history: metrics aligned with the samples, drops as deltas by reason", "[ui][history]") {
    ui::cardinality_history h({std::chrono::seconds(15), 4, 2});
    h.record(sample(0, {metric("a", 5, 0), metric("b", 3)}));
    h.record(sample(1, {metric("a", 8, 4, 1), metric("c", 6, 2)}));
    h.record(sample(2, {metric("c", 9, 7), metric("a", 8, 10, 1), metric("dropped-by-top-n", 1)}));
    const auto top = h.top(5);
    REQUIRE(top.size() == 2);  // top_n is 2: the third metric of a sample is not kept
    CHECK(top[0].name == "c");
    CHECK(top[0].active_series == std::vector<std::int64_t>{-1, 6, 9});
    // A metric new to the ring gets its drops so far in its first interval.
    CHECK(top[0].dropped[0] == std::vector<std::int64_t>{0, 2, 5});
    CHECK(top[1].name == "a");
    CHECK(top[1].dropped[0] == std::vector<std::int64_t>{0, 4, 6});
    CHECK(top[1].dropped[1] == std::vector<std::int64_t>{0, 1, 0});
    CHECK(h.top(1).size() == 1);
    CHECK_FALSE(h.metric("dropped-by-top-n"));
    const auto b = h.metric("b");
    REQUIRE(b);
    CHECK(b->active_series == std::vector<std::int64_t>{3, -1, -1});
}

TEST_CASE("history: a metric's name is let go when its last sample leaves the ring",
          "[ui][history]") {
    ui::cardinality_history h({std::chrono::seconds(1), 2, 10});
    h.record(sample(0, {metric("gone", 1)}));
    h.record(sample(1, {metric("kept", 1)}));
    CHECK(h.metric("gone"));
    h.record(sample(2, {metric("kept", 2)}));
    CHECK_FALSE(h.metric("gone"));
    // Its id is reused, and the rows still come out under the right names.
    h.record(sample(3, {metric("new", 3), metric("kept", 2)}));
    CHECK(h.top(5).front().name == "new");
    CHECK(h.metric("kept")->active_series == std::vector<std::int64_t>{2, 2});
}

TEST_CASE("history: memory of a full default ring (240 samples of the top 1000 metrics)",
          "[ui][history][memory]") {
    ui::cardinality_history h({});
    CHECK(h.options().slots == 240);
    CHECK(h.options().top_n == 1000);
    std::vector<lim::metric_summary> metrics;
    for (int i = 0; i < 1000; ++i)
        metrics.push_back(metric("http_server_request_duration_seconds_bucket_" + std::to_string(i),
                                 static_cast<std::uint64_t>(100000 - i), 3));
    for (int s = 0; s < 240; ++s) h.record(sample(s * 15000, metrics));
    const auto bytes = h.memory_bytes();
    // 240 * 1000 points of 24 bytes (5.76 MB) and 1000 names: docs/api.md says "about 6 MB".
    INFO("memory_bytes: " << bytes);
    CHECK(bytes >= 240u * 1000u * 24u);
    CHECK(bytes <= 6u * 1024u * 1024u);
    // Further samples replace the oldest: the memory stays where it is.
    for (int s = 0; s < 10; ++s) h.record(sample((240 + s) * 15000, metrics));
    CHECK(h.memory_bytes() == bytes);
}

TEST_CASE("history: samples recorded while queries read (run under TSan in CI)", "[ui][history]") {
    ui::cardinality_history h({std::chrono::seconds(1), 8, 20});
    std::atomic<bool> done{false};
    std::thread writer([&h, &done] {
        for (int s = 0; s < 400; ++s) {
            std::vector<lim::metric_summary> metrics;
            for (int i = 0; i < 20; ++i)
                metrics.push_back(metric("m" + std::to_string((s + i) % 30),
                                         static_cast<std::uint64_t>(100 - i)));
            h.record(sample(s * 1000, metrics));
        }
        done = true;
    });
    std::size_t reads = 0;
    do {  // at least once, however fast the writer is
        for (const auto& m : h.top(5)) reads += m.active_series.size();
        reads += h.totals().size() + 1;
        if (auto m = h.metric("m3")) reads += m->active_series.size();
    } while (!done.load());
    writer.join();
    CHECK(h.samples() == 8);
    CHECK(h.top(100).size() == 20);
    CHECK(reads > 0);
}

TEST_CASE("history: metrics keyed by (tenant, metric), the top n over every tenant",
          "[ui][history][tenants]") {
    ui::cardinality_history h({std::chrono::seconds(1), 4, 4});
    auto in = sample(1000, {metric("a", 10, 1), metric("b", 2)});
    in.tenant_metrics = {{"t1", metric("a", 5, 3)},
                         {"t1", metric("c", 20)},
                         {"t", metric("x", 4)},
                         {std::string("n\0l", 3), metric("a", 3)},
                         {"t2", metric("a", 1)}};
    h.record(in);
    // Kept: t1/c 20, a 10, t1/a 5, t/x 4; not b (2), n\0l/a (3) nor t2/a (1).
    const auto def = h.top(10);
    REQUIRE(def.size() == 1);
    CHECK(def[0].name == "a");
    CHECK(def[0].tenant.empty());
    CHECK(def[0].active_series == std::vector<std::int64_t>{10});
    const auto t1 = h.top(10, "t1");
    REQUIRE(t1.size() == 2);
    CHECK(t1[0].name == "c");
    CHECK(t1[0].tenant == "t1");
    CHECK(t1[1].name == "a");
    CHECK(t1[1].active_series == std::vector<std::int64_t>{5});
    CHECK(t1[1].dropped[0] == std::vector<std::int64_t>{3});  // not the default tenant's 1
    CHECK(h.top(1, "t1").size() == 1);
    // A tenant named like the start of another has only its own metrics.
    const auto t = h.top(10, "t");
    REQUIRE(t.size() == 1);
    CHECK(t[0].name == "x");
    CHECK(h.top(10, "t2").empty());
    CHECK(h.top(10, "nobody").empty());
    REQUIRE(h.metric("a", "t1"));
    CHECK(h.metric("a", "t1")->active_series == std::vector<std::int64_t>{5});
    CHECK(h.metric("a")->active_series == std::vector<std::int64_t>{10});
    CHECK_FALSE(h.metric("c"));
    CHECK_FALSE(h.metric("a", "t2"));
    CHECK_FALSE(h.metric("a", std::string("n\0l", 3)));

    // The next sample: a tenant's drops are deltas of its own counts.
    auto next = sample(2000, {metric("a", 10, 1)});
    next.tenant_metrics = {{"t1", metric("a", 6, 7)}, {std::string("n\0l", 3), metric("a", 3)}};
    h.record(next);
    const auto a1 = h.metric("a", "t1");
    REQUIRE(a1);
    CHECK(a1->active_series == std::vector<std::int64_t>{5, 6});
    CHECK(a1->dropped[0] == std::vector<std::int64_t>{3, 4});
    const auto odd = h.metric("a", std::string("n\0l", 3));
    REQUIRE(odd);
    CHECK(odd->tenant == std::string("n\0l", 3));
    CHECK(odd->active_series == std::vector<std::int64_t>{-1, 3});
}

TEST_CASE("history: the largest tenants' active series per sample", "[ui][history][tenants]") {
    ui::history_options o{std::chrono::seconds(1), 2, 10};
    o.top_tenants = 2;
    ui::cardinality_history h(o);
    auto in = sample(1000, {});
    in.tenant_series = {{"", 7}, {"t1", 9}, {"t2", 1}};
    h.record(in);
    in = sample(2000, {});
    in.tenant_series = {{"", 7}, {"t1", 0}, {"t2", 3}};
    h.record(in);
    CHECK(h.tenant_series("") == std::vector<std::int64_t>{7, 7});
    CHECK(h.tenant_series("t1") == std::vector<std::int64_t>{9, -1});
    CHECK(h.tenant_series("t2") == std::vector<std::int64_t>{-1, 3});
    CHECK(h.tenant_series("nobody").empty());
    // A tenant named like a metric key is still only a tenant.
    CHECK(h.metric("t1").has_value() == false);
    // Once its last sample leaves the ring, a tenant's name goes too.
    in = sample(3000, {});
    in.tenant_series = {{"", 7}};
    h.record(in);
    h.record(in);
    CHECK(h.tenant_series("t1").empty());
    CHECK(h.tenant_series("t2").empty());
    CHECK(h.tenant_series("") == std::vector<std::int64_t>{7, 7});
}
