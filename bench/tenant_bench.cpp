// The governor with tenants (issue 19): CPU per series for the default tenant against one
// non-default tenant (with and without its own cap), in one run so the ratios compare like with
// like, and the memory a tenant costs: while its series are active, and after it went idle for a
// window (its state freed: memory stays bounded by the active tenants, not by every tenant ever
// seen). Numbers in docs/benchmarks.md ("Tenants").
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "governor_workload.h"
#include "limits/governor.h"
#include "limits/limits_file.h"

namespace {

namespace lim = mg::limits;
namespace card = mg::cardinality;

using workload = mg::bench::governor_workload;
using mg::bench::make_governor_workload;

std::shared_ptr<lim::limits_file> limits(const std::string& yaml) {
    auto f = lim::parse_limits_yaml(yaml, "bench");
    if (!f.ok()) throw std::runtime_error(f.error_message());
    return std::make_shared<lim::limits_file>(std::move(*f));
}

const std::string k_rules =
    "defaults:\n  max_cardinality: 100000000\nrules:\n  - name: http\n    match: {metric_name: "
    "\"http_.*\"}\n    max_cardinality: 1000\n";

// Known series (the steady state), requests of 1000. Arg 2, the tenancy mode: 0 the default
// tenant (tenancy off: what every series was before tenants), 1 one tenant "team-a" without a
// cap, 2 one tenant "team-a" with a max_series (decided one series at a time, as under
// -limits-max-series).
void BM_governor_decide_tenancy(benchmark::State& state) {
    const auto metrics = static_cast<std::size_t>(state.range(0));
    const auto per_metric = static_cast<std::size_t>(state.range(1));
    const auto mode = state.range(2);
    auto w = make_governor_workload(metrics, per_metric, mode == 0 ? "" : "team-a");
    mg::fake_clock clock;
    lim::governor g({}, clock, nullptr);
    g.set_limits(
        limits(mode == 2 ? k_rules + "tenants:\n  team-a: {max_series: 100000000}\n" : k_rules));
    const std::span<const lim::series_ref> all(w.refs);
    mg::bench::run_decide_known(state, g, all);
    state.SetLabel(mode == 0 ? "default tenant" : mode == 1 ? "one tenant" : "one tenant, capped");
}
// Long runs of one name (100 x 2000), and short ones (10000 names x 10: more per-run lookups).
BENCHMARK(BM_governor_decide_tenancy)
    ->ArgsProduct({{100}, {2000}, {0, 1, 2}})
    ->ArgsProduct({{10000}, {10}, {0, 1, 2}})
    ->Unit(benchmark::kMicrosecond);

std::uint64_t rss_bytes() {
    std::ifstream in("/proc/self/statm");
    std::uint64_t size = 0, resident = 0;
    in >> size >> resident;
    return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

// Arg 0 tenants, each sending one metric with 10 series (a small team): the governor's own
// account (memory_bytes) and the process RSS it grew by, per tenant; then every tenant idle for a
// window: what is left.
void BM_governor_tenant_memory(benchmark::State& state) {
    const auto tenants = static_cast<std::size_t>(state.range(0));
    std::vector<std::string> names;
    for (std::size_t t = 0; t < tenants; ++t) names.push_back("tenant-" + std::to_string(t));
    std::vector<workload> loads;
    loads.reserve(tenants);
    for (const auto& n : names) loads.push_back(make_governor_workload(1, 10, n));
    std::vector<lim::decision> out(10);
    double per_tenant = 0, rss_per_tenant = 0, after_idle = 0, trackers = 0;
    for (auto _ : state) {
        mg::fake_clock clock;
        const auto rss0 = rss_bytes();
        auto g = std::make_unique<lim::governor>(lim::governor_options{}, clock, nullptr);
        g->set_limits(limits(k_rules + "tenant_defaults: {max_series: 1000}\n"));
        for (const auto& w : loads) g->decide(w.refs, out);
        g->refresh();
        const auto rss1 = rss_bytes();
        per_tenant = static_cast<double>(g->memory_bytes()) / static_cast<double>(tenants);
        rss_per_tenant =
            (static_cast<double>(rss1) - static_cast<double>(rss0)) / static_cast<double>(tenants);
        trackers = static_cast<double>(g->trackers());
        clock.advance(std::chrono::hours(2));  // past the 1h window: every tenant idle
        g->refresh();
        after_idle = static_cast<double>(g->memory_bytes());
        if (g->tenants().size() != 1) state.SkipWithError("idle tenants were not freed");
    }
    state.counters["bytes_per_tenant"] = per_tenant;
    state.counters["rss_per_tenant"] = rss_per_tenant;
    state.counters["trackers"] = trackers;
    state.counters["bytes_after_idle"] = after_idle;
}
BENCHMARK(BM_governor_tenant_memory)
    ->Arg(1)
    ->Arg(1000)
    ->Arg(10000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
BENCHMARK_MAIN();
