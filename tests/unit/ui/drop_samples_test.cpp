#include "ui/drop_samples.h"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "limits/limits_file.h"

namespace ui = mg::ui;
namespace lim = mg::limits;

namespace {

void drop(ui::drop_samples& d, std::string_view metric, std::string_view value) {
    std::array<mg::cardinality::label_view, 1> labels{{{"id", value}}};
    d.on_drop({metric, {}, labels}, lim::drop_reason::cardinality_limit);
}

}  // namespace

TEST_CASE("truncate_utf8 cuts between characters and marks the cut", "[ui][drop_samples]") {
    CHECK(ui::truncate_utf8("short", 8) == "short");
    CHECK(ui::truncate_utf8("abcdefghij", 4) == "abcd\u2026");
    // "é" is two bytes: a cut in its middle backs off to before it.
    CHECK(ui::truncate_utf8("ab\xc3\xa9", 3) == "ab\u2026");
}

TEST_CASE("drop_samples: a bounded ring, newest first, by metric", "[ui][drop_samples]") {
    mg::fake_clock clock;
    ui::drop_samples d(3, clock, std::chrono::nanoseconds(0));
    drop(d, "a", "1");
    drop(d, "b", "2");
    drop(d, "a", "3");
    drop(d, "a", std::string(100, 'x'));
    const auto all = d.recent("", 10);
    REQUIRE(all.size() == 3);  // the capacity
    CHECK(all[0].labels[0].second ==
          std::string(ui::drop_samples::k_max_value_bytes, 'x') + "\u2026");
    CHECK(all[1].labels[0].second == "3");
    CHECK(all[2].metric == "b");
    const auto a = d.recent("a", 10);
    REQUIRE(a.size() == 2);
    CHECK(a[0].reason == lim::drop_reason::cardinality_limit);
    CHECK(d.recent("a", 1).size() == 1);
    CHECK(d.recent("none", 10).empty());
}

TEST_CASE("drop_samples: at most k_max_labels labels, the rest marked", "[ui][drop_samples]") {
    mg::fake_clock clock;
    ui::drop_samples d(2, clock, std::chrono::nanoseconds(0));
    std::vector<std::string> names;
    for (int i = 0; i < 20; ++i) names.push_back("l" + std::to_string(100 + i));
    std::vector<mg::cardinality::label_view> labels;
    for (const auto& n : names) labels.push_back({n, "v"});
    d.on_drop({"m", {}, labels}, lim::drop_reason::label_limit);
    const auto got = d.recent("m", 1);
    REQUIRE(got.size() == 1);
    CHECK(got[0].labels.size() == ui::drop_samples::k_max_labels);
    CHECK(got[0].labels_cut);
}

TEST_CASE("the governor tells its drop observer about every series it drops, by reason",
          "[ui][drop_samples]") {
    mg::fake_clock clock;
    lim::governor g(lim::governor_options{}, clock, nullptr);
    auto f = lim::parse_limits_yaml(
        "rules:\n  - name: cap\n    match:\n      metric_name: boom\n    max_cardinality: 2\n",
        "t");
    REQUIRE(f.ok());
    g.set_limits(std::make_shared<lim::limits_file>(std::move(*f)));
    auto samples = std::make_shared<ui::drop_samples>(10, clock, std::chrono::nanoseconds(0));
    g.set_drop_observer(samples);
    std::vector<std::string> values{"1", "2", "3", "4", "5"};
    std::vector<std::array<mg::cardinality::label_view, 1>> labels(values.size());
    std::vector<lim::series_ref> refs;
    for (std::size_t i = 0; i < values.size(); ++i) {
        labels[i][0] = {"id", values[i]};
        refs.push_back({"boom", {}, labels[i]});
    }
    std::vector<lim::decision> out(refs.size());
    const auto summary = g.decide(refs, out);
    CHECK(summary.dropped_series == 3);
    const auto got = samples->recent("boom", 10);
    REQUIRE(got.size() == 3);
    CHECK(got[0].labels[0].second == "5");
    CHECK(got[0].reason == lim::drop_reason::cardinality_limit);
    const auto m = g.metric("boom");
    REQUIRE(m);
    CHECK(m->dropped_by_reason[static_cast<std::size_t>(lim::drop_reason::cardinality_limit)] == 3);
}

TEST_CASE("drop_samples keeps at most one series per min_gap", "[ui][drop_samples]") {
    mg::fake_clock clock;
    ui::drop_samples d(10, clock, std::chrono::milliseconds(5));
    drop(d, "a", "1");
    drop(d, "a", "2");  // within the gap: not kept
    clock.advance(std::chrono::milliseconds(4));
    drop(d, "a", "3");
    CHECK(d.recent("a", 10).size() == 1);
    clock.advance(std::chrono::milliseconds(1));
    drop(d, "a", "4");
    const auto got = d.recent("a", 10);
    REQUIRE(got.size() == 2);
    CHECK(got[0].labels[0].second == "4");
    CHECK(got[1].labels[0].second == "1");
}

TEST_CASE("drop_samples: concurrent drops and reads (run under TSan in CI)", "[ui][drop_samples]") {
    mg::fake_clock clock;
    ui::drop_samples d(64, clock, std::chrono::nanoseconds(0));
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&d, &go, t] {
            while (!go.load()) std::this_thread::yield();
            const auto value = std::to_string(t);
            for (int i = 0; i < 5000; ++i) drop(d, "m" + value, value);
        });
    }
    go = true;
    std::size_t most = 0;
    for (int i = 0; i < 200; ++i) most = std::max(most, d.recent("", 1000).size());
    for (auto& t : threads) t.join();
    CHECK(most <= 64);
    const auto all = d.recent("", 1000);
    CHECK(all.size() <= 64);
    CHECK_FALSE(all.empty());
    for (const auto& s : all) CHECK(s.metric == "m" + s.labels[0].second);
}

TEST_CASE("drop_samples: by tenant", "[ui][drop_samples][tenants]") {
    mg::fake_clock clock;
    ui::drop_samples d(10, clock, std::chrono::nanoseconds(0));
    const std::array<mg::cardinality::label_view, 1> labels{{{"id", "1"}}};
    const std::string long_tenant(300, 't');
    for (std::string_view tenant :
         {std::string_view(), std::string_view("team-a"), std::string_view(long_tenant)}) {
        d.on_drop({"m", tenant, labels}, lim::drop_reason::cardinality_limit);
    }
    CHECK(d.recent("m", 10).size() == 3);  // every tenant
    REQUIRE(d.recent("m", 10, "").size() == 1);
    CHECK(d.recent("m", 10, "")[0].tenant.empty());
    REQUIRE(d.recent("m", 10, "team-a").size() == 1);
    CHECK(d.recent("m", 10, "team-a")[0].tenant == "team-a");
    // A tenant longer than what is kept is found by its full name.
    CHECK(d.recent("m", 10, long_tenant).size() == 1);
    CHECK(d.recent("m", 10, "team-b").empty());
}
