#include "loadgen/series_set.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

using mg::loadgen::series_set;
using mg::loadgen::series_shape;

namespace {

// Every series of the current cycle as "name{label=value,...}".
std::vector<std::string> identities(const series_set& set) {
    std::vector<std::string> out;
    std::string value;
    for (std::uint64_t slot = 0; slot < set.size(); ++slot) {
        std::string s = set.metric_name(set.metric_of(slot)) + "{";
        for (std::uint32_t l = 0; l < set.label_names().size(); ++l) {
            set.label_value(set.id_of(slot), l, value);
            s += set.label_names()[l] + "=" + value + ",";
        }
        out.push_back(s + "}");
    }
    return out;
}

std::set<std::uint64_t> ids(const series_set& set) {
    std::set<std::uint64_t> out;
    for (std::uint64_t slot = 0; slot < set.size(); ++slot) out.insert(set.id_of(slot));
    return out;
}

}  // namespace

TEST_CASE("the same seed gives the same series cycle after cycle, another seed other ones",
          "[series_set]") {
    const series_shape shape{.series = 500, .metrics = 7, .labels = 9, .churn = 0.2, .seed = 42};
    series_set a(shape), b(shape);
    auto other_shape = shape;
    other_shape.seed = 43;
    series_set c(other_shape);
    for (int cycle = 0; cycle < 4; ++cycle) {
        INFO("cycle " << cycle);
        const auto ia = identities(a);
        CHECK(ia == identities(b));
        const auto ic = identities(c);
        // Another seed changes the label values of (nearly) every series, not just a few.
        std::size_t same = 0;
        for (std::size_t i = 0; i < ia.size(); ++i) same += ia[i] == ic[i] ? 1 : 0;
        CHECK(same < ia.size() / 10);
        a.advance();
        b.advance();
        c.advance();
    }
}

TEST_CASE("each cycle has exactly N distinct series", "[series_set]") {
    series_set set({.series = 2000, .metrics = 10, .labels = 6, .churn = 0.1, .seed = 1});
    for (int cycle = 0; cycle < 5; ++cycle) {
        const auto all = identities(set);
        CHECK(std::set<std::string>(all.begin(), all.end()).size() == 2000);
        CHECK(ids(set).size() == 2000);
        set.advance();
    }
}

TEST_CASE("churn replaces exactly round(F x N) series per cycle with never-seen ones",
          "[series_set]") {
    struct param {
        std::uint64_t n;
        double churn;
        std::uint64_t expected;
    };
    const auto p = GENERATE(param{2000, 0.1, 200}, param{7, 0.5, 4}, param{1000, 0.0005, 1},
                            param{1000, 0.0004, 0}, param{100, 1.0, 100}, param{100, 0.0, 0},
                            param{3, 0.33, 1});
    INFO("n=" << p.n << " churn=" << p.churn);
    series_set set({.series = p.n, .metrics = 1, .labels = 2, .churn = p.churn, .seed = 9});
    CHECK(set.replaced_per_cycle() == p.expected);
    std::set<std::uint64_t> ever = ids(set);
    for (int cycle = 1; cycle <= 6; ++cycle) {
        const auto before = ids(set);
        const auto replaced = set.advance();
        CHECK(set.cycle() == static_cast<std::uint64_t>(cycle));
        CHECK(replaced.size() == p.expected);
        CHECK(std::set<std::uint64_t>(replaced.begin(), replaced.end()).size() == p.expected);
        const auto after = ids(set);
        CHECK(after.size() == p.n);
        std::vector<std::uint64_t> gone, fresh;
        std::set_difference(before.begin(), before.end(), after.begin(), after.end(),
                            std::back_inserter(gone));
        std::set_difference(after.begin(), after.end(), before.begin(), before.end(),
                            std::back_inserter(fresh));
        CHECK(gone.size() == p.expected);
        CHECK(fresh.size() == p.expected);
        for (const auto id : fresh) CHECK(ever.count(id) == 0);
        ever.insert(after.begin(), after.end());
        CHECK(set.created() == p.n + p.expected * static_cast<std::uint64_t>(cycle));
    }
}

TEST_CASE("churn picks different slots each cycle, not the same ones again", "[series_set]") {
    series_set set({.series = 1000, .metrics = 1, .labels = 1, .churn = 0.1, .seed = 3});
    const auto first = set.advance();
    const std::set<std::uint64_t> a(first.begin(), first.end());
    const auto second = set.advance();
    const std::set<std::uint64_t> b(second.begin(), second.end());
    std::vector<std::uint64_t> common;
    std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(common));
    // Two independent uniform picks of 100 out of 1000 share about 10 slots.
    CHECK(common.size() < 40);
}

TEST_CASE("series carry exactly the labels asked for, sorted, one of them the series id",
          "[series_set]") {
    const auto labels = GENERATE(1U, 2U, 8U, 17U, 30U, 100U);
    INFO("labels=" << labels);
    series_set set({.series = 300, .metrics = 3, .labels = labels, .churn = 0, .seed = 5});
    const auto& names = set.label_names();
    REQUIRE(names.size() == labels);
    CHECK(std::is_sorted(names.begin(), names.end()));
    CHECK(std::set<std::string>(names.begin(), names.end()).size() == labels);
    const auto id_label = std::find(names.begin(), names.end(), "series_id");
    REQUIRE(id_label != names.end());
    for (const auto& n : names) CHECK(n > "__name__");  // __name__ stays first on the wire
    std::string value;
    for (std::uint64_t slot = 0; slot < set.size(); ++slot) {
        for (std::uint32_t l = 0; l < labels; ++l) {
            set.label_value(set.id_of(slot), l, value);
            CHECK_FALSE(value.empty());
        }
        set.label_value(set.id_of(slot), static_cast<std::uint32_t>(id_label - names.begin()),
                        value);
        CHECK(value == std::to_string(set.id_of(slot)));
    }
}

TEST_CASE("label values look like real ones", "[series_set]") {
    series_set set({.series = 50, .metrics = 1, .labels = 8, .churn = 0, .seed = 1});
    const auto& names = set.label_names();
    const auto index = [&](const std::string& n) {
        return static_cast<std::uint32_t>(std::find(names.begin(), names.end(), n) - names.begin());
    };
    std::string instance, pod;
    set.label_value(7, index("instance"), instance);
    set.label_value(7, index("pod"), pod);
    CHECK(instance.rfind("10.", 0) == 0);
    CHECK(instance.find(':') != std::string::npos);
    CHECK(std::count(pod.begin(), pod.end(), '-') >= 2);
}

TEST_CASE("series are spread evenly over the metric names", "[series_set]") {
    const auto [n, m] = GENERATE(std::pair<std::uint64_t, std::uint32_t>{2000, 10},
                                 std::pair<std::uint64_t, std::uint32_t>{1001, 7},
                                 std::pair<std::uint64_t, std::uint32_t>{13, 13},
                                 std::pair<std::uint64_t, std::uint32_t>{100, 30});
    series_set set({.series = n, .metrics = m, .labels = 1, .churn = 0, .seed = 1});
    std::vector<std::uint64_t> per_metric(m, 0);
    for (std::uint64_t slot = 0; slot < n; ++slot) {
        ++per_metric[set.metric_of(slot)];
        // Slots of one metric are contiguous.
        if (slot > 0) CHECK(set.metric_of(slot) >= set.metric_of(slot - 1));
    }
    const auto [lo, hi] = std::minmax_element(per_metric.begin(), per_metric.end());
    CHECK(*lo >= 1);
    CHECK(*hi - *lo <= 1);
    std::set<std::string> names;
    for (std::uint32_t i = 0; i < m; ++i) names.insert(set.metric_name(i));
    CHECK(names.size() == m);
    for (const auto& name : names) CHECK(name.rfind("loadgen_", 0) == 0);
}

TEST_CASE("a shape out of range is refused", "[series_set]") {
    CHECK_THROWS_AS(series_set({.series = 0, .metrics = 1, .labels = 1}), std::invalid_argument);
    CHECK_THROWS_AS(series_set({.series = 5, .metrics = 6, .labels = 1}), std::invalid_argument);
    CHECK_THROWS_AS(series_set({.series = 5, .metrics = 1, .labels = 0}), std::invalid_argument);
    CHECK_THROWS_AS(series_set({.series = 5, .metrics = 1, .labels = 1, .churn = 1.5}),
                    std::invalid_argument);
}
