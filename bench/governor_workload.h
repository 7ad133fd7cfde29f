// The governor benchmarks' request shape (governor_bench, tenant_bench): `metrics` names with
// `per_metric` series each, 8 labels per series as Prometheus remote write carries them (one
// varying: instance), all of one tenant. The series_refs view the strings and labels the workload
// owns, so it must outlive them. Header-only bench code.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "limits/governor.h"

namespace mg::bench {

struct governor_workload {
    std::vector<std::string> strings;
    std::vector<std::vector<cardinality::label_view>> labels;
    std::vector<limits::series_ref> refs;
};

inline governor_workload make_governor_workload(std::size_t metrics, std::size_t per_metric,
                                                std::string_view tenant = {}) {
    governor_workload w;
    const std::size_t total = metrics * per_metric;
    // Reserved up front: the labels view these strings, which must not move.
    w.strings.reserve(total + metrics);
    for (std::size_t m = 0; m < metrics; ++m)
        w.strings.push_back("metric_" + std::to_string(m) + "_total");
    for (std::size_t i = 0; i < total; ++i)
        w.strings.push_back("10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250) +
                            ":9100");
    w.labels.resize(total);
    w.refs.reserve(total);
    for (std::size_t m = 0; m < metrics; ++m) {
        for (std::size_t s = 0; s < per_metric; ++s) {
            const std::size_t i = m * per_metric + s;
            w.labels[i] = {{"cluster", "eu-west-1"},
                           {"code", "200"},
                           {"handler", "/api/v1/query"},
                           {"instance", w.strings[metrics + i]},
                           {"job", "node"},
                           {"method", "GET"},
                           {"namespace", "monitoring"},
                           {"pod", "prometheus-0"}};
            w.refs.push_back({w.strings[m], tenant, w.labels[i], 1});
        }
    }
    return w;
}

// Decides every series once (the steady state: all known afterwards), then times decide() over
// the workload in requests of 1000, round and round.
inline void run_decide_known(::benchmark::State& state, limits::governor& g,
                             std::span<const limits::series_ref> all) {
    std::vector<limits::decision> out(1000);
    for (std::size_t off = 0; off < all.size(); off += 1000)
        g.decide(all.subspan(off, std::min<std::size_t>(1000, all.size() - off)), out);
    std::size_t off = 0;
    for (auto _ : state) {
        const auto n = std::min<std::size_t>(1000, all.size() - off);
        ::benchmark::DoNotOptimize(g.decide(all.subspan(off, n), out));
        off = off + n >= all.size() ? 0 : off + n;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 1000);
}

}  // namespace mg::bench
