// The governor's whole per-series decision (rule selection, series hash, tracker query, and the
// bookkeeping around it) for requests shaped like Prometheus remote write: 1000 series per
// request, runs of series of one metric name, 8 labels each.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "limits/governor.h"
#include "limits/limits_file.h"

namespace {

namespace lim = mg::limits;
namespace card = mg::cardinality;

struct workload {
    std::vector<std::string> strings;
    std::vector<std::vector<card::label_view>> labels;
    std::vector<lim::series_ref> refs;
};

// `metrics` metric names with `per_metric` series each, in requests of 1000 series.
workload make_workload(std::size_t metrics, std::size_t per_metric) {
    workload w;
    const std::size_t total = metrics * per_metric;
    w.strings.reserve(total * 2 + metrics);
    for (std::size_t m = 0; m < metrics; ++m) w.strings.push_back("metric_" + std::to_string(m) + "_total");
    for (std::size_t i = 0; i < total; ++i) w.strings.push_back("10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ":9100");
    w.labels.resize(total);
    w.refs.reserve(total);
    for (std::size_t m = 0; m < metrics; ++m) {
        for (std::size_t s = 0; s < per_metric; ++s) {
            const std::size_t i = m * per_metric + s;
            w.labels[i] = {{"cluster", "eu-west-1"}, {"code", "200"},   {"handler", "/api/v1/query"},
                           {"instance", w.strings[metrics + i]},      {"job", "node"},
                           {"method", "GET"},        {"namespace", "monitoring"}, {"pod", "prometheus-0"}};
            w.refs.push_back({w.strings[m], w.labels[i], 1});
        }
    }
    return w;
}

void BM_governor_decide_known(benchmark::State& state) {
    const auto metrics = static_cast<std::size_t>(state.range(0));
    const auto per_metric = static_cast<std::size_t>(state.range(1));
    auto w = make_workload(metrics, per_metric);
    mg::fake_clock clock;
    lim::governor g({}, clock, nullptr);
    auto file = lim::parse_limits_yaml(
        "defaults:\n  max_cardinality: 100000000\nrules:\n  - name: http\n    match: {metric_name: \"http_.*\"}\n"
        "    max_cardinality: 1000\n",
        "bench");
    g.set_limits(std::make_shared<lim::limits_file>(std::move(*file)));
    std::vector<lim::decision> out(1000);
    const std::span<const lim::series_ref> all(w.refs);
    for (std::size_t off = 0; off < all.size(); off += 1000) g.decide(all.subspan(off, std::min<std::size_t>(1000, all.size() - off)), out);
    std::size_t off = 0;
    for (auto _ : state) {
        const auto n = std::min<std::size_t>(1000, all.size() - off);
        benchmark::DoNotOptimize(g.decide(all.subspan(off, n), out));
        off = off + n >= all.size() ? 0 : off + n;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 1000);
    state.counters["series"] = static_cast<double>(all.size());
}
// 200k series over 100 metric names (the side-by-side scenario 1), 1M over 1000 names (scenario 2).
BENCHMARK(BM_governor_decide_known)->Args({100, 2000})->Args({1000, 1000})->Unit(benchmark::kMicrosecond);

}  // namespace
BENCHMARK_MAIN();
