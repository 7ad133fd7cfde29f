// The governor's whole per-series decision (rule selection, series hash, tracker query, and the
// bookkeeping around it) for requests shaped like Prometheus remote write: 1000 series per
// request, runs of series of one metric name, 8 labels each. And the proxy's whole work on a
// remote-write request: decode + govern + encode the kept subset (BM_remote_write_proxy_path).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "governor_workload.h"
#include "limits/governor.h"
#include "limits/limits_file.h"
#include "logging/log.h"
#include "protocol/compression.h"
#include "protocol/encode_kept.h"
#include "protocol/remote_write.h"
#include "protocol/remote_write_builder.h"
#include "protocol/series_batch.h"
#include "remote_write_request.h"

namespace {

namespace lim = mg::limits;
namespace card = mg::cardinality;

using workload = mg::bench::governor_workload;
using mg::bench::make_governor_workload;

void BM_governor_decide_known(benchmark::State& state) {
    const auto metrics = static_cast<std::size_t>(state.range(0));
    const auto per_metric = static_cast<std::size_t>(state.range(1));
    auto w = make_governor_workload(metrics, per_metric);
    mg::fake_clock clock;
    lim::governor g({}, clock, nullptr);
    auto file = lim::parse_limits_yaml(
        "defaults:\n  max_cardinality: 100000000\nrules:\n  - name: http\n    match: {metric_name: "
        "\"http_.*\"}\n"
        "    max_cardinality: 1000\n",
        "bench");
    g.set_limits(std::make_shared<lim::limits_file>(std::move(*file)));
    const std::span<const lim::series_ref> all(w.refs);
    mg::bench::run_decide_known(state, g, all);
    state.counters["series"] = static_cast<double>(all.size());
}
// 200k series over 100 metric names (the side-by-side scenario 1), 1M over 1000 names (scenario 2).
BENCHMARK(BM_governor_decide_known)
    ->Args({100, 2000})
    ->Args({1000, 1000})
    ->Unit(benchmark::kMicrosecond);

// ---- decode + govern + encode ---------------------------------------------------------------
//
// What the proxy does with one remote write 1.0 request, in series per second on one core:
// snappy-decompress the body, decode it, build the governor's series_refs from the decoder's
// views, governor::decide, then encode the kept subset (encode_kept) and snappy-compress it for
// the backend. Requests of 1000 series (__name__ + 8 labels, one sample), runs of one metric
// name, 100 names x 2000 series (200k series, the governor benchmark's scenario 1), all known
// (the steady state). Arg 0: percent of each metric's series over its limit (0: everything
// passes; 10: max_cardinality 1800 of 2000, the same 10% dropped every round because dropped
// series are never inserted). Arg 1: 1 = snappy on both ends (the real wire), 0 = plain
// protobuf in and out (isolates the library's snappy cost). The encode always runs, even when
// everything is kept (the receiver would forward the sender's bytes then: this is the upper
// bound of its cost).

namespace prw = mg::protocol;

std::vector<std::string> make_remote_write_requests(std::size_t metrics, std::size_t per_metric) {
    std::vector<std::string> bodies;
    std::vector<prw::owned_timeseries> v;
    for (std::size_t m = 0; m < metrics; ++m) {
        for (std::size_t s = 0; s < per_metric; ++s) {
            const std::size_t i = m * per_metric + s;
            v.push_back(mg::bench::http_server_series(
                "metric_" + std::to_string(m) + "_total", i,
                "10.0." + std::to_string(i / 250 % 250) + "." + std::to_string(i % 250) + ":9100"));
            if (v.size() == 1000) {
                bodies.emplace_back();
                prw::encode_remote_write_v1(v, {}, bodies.back());
                v.clear();
            }
        }
    }
    if (!v.empty()) {
        bodies.emplace_back();
        prw::encode_remote_write_v1(v, {}, bodies.back());
    }
    return bodies;
}

void BM_remote_write_proxy_path(benchmark::State& state) {
    const auto drop_pct = static_cast<std::uint64_t>(state.range(0));
    const bool snappy = state.range(1) != 0;
    constexpr std::size_t metrics = 100, per_metric = 2000;
    auto bodies = make_remote_write_requests(metrics, per_metric);
    if (snappy) {
        for (auto& b : bodies) {
            std::string c;
            prw::snappy_encode(b, c);
            b = std::move(c);
        }
    }
    // As the daemon logs: to stderr, at info (drops are logged at warn, rate limited).
    mg::logging::init(spdlog::level::info, mg::logging::format::json);
    mg::fake_clock clock;
    lim::governor g({}, clock, nullptr);
    const std::uint64_t limit = per_metric * (100 - drop_pct) / 100;
    auto file = lim::parse_limits_yaml(
        "defaults:\n  max_cardinality: " + std::to_string(limit) + "\n", "bench");
    g.set_limits(std::make_shared<lim::limits_file>(std::move(*file)));

    std::string plain, encoded, compressed;
    prw::series_batch batch;
    std::vector<lim::series_ref> refs;
    std::vector<lim::decision> decisions;
    std::vector<std::uint8_t> keep;
    std::uint64_t series = 0, kept = 0, out_bytes = 0;
    auto one = [&](const std::string& body) {
        if (snappy) {
            if (!prw::snappy_decode(body, 64U << 20, plain).ok()) return false;
        }
        if (!prw::decode_remote_write_v1(snappy ? plain : body, batch).ok()) return false;
        refs.clear();
        for (std::size_t i = 0; i < batch.size(); ++i) {
            const auto v = batch[i];
            refs.push_back({v.metric_name, {}, v.labels, v.points(), v.has_identity, v.identity});
        }
        decisions.resize(refs.size());
        g.decide(refs, decisions);
        keep.resize(refs.size());
        for (std::size_t i = 0; i < refs.size(); ++i) {
            keep[i] = decisions[i].keep ? 1 : 0;
            kept += keep[i];
        }
        if (!prw::encode_kept(batch, keep, encoded).ok()) return false;
        if (snappy) prw::snappy_encode(encoded, compressed);
        series += refs.size();
        out_bytes += snappy ? compressed.size() : encoded.size();
        return true;
    };
    for (const auto& b : bodies) one(b);  // fill the trackers: later rounds are the steady state
    series = kept = out_bytes = 0;
    std::size_t r = 0;
    for (auto _ : state) {
        if (!one(bodies[r])) {
            state.SkipWithError("decode or encode failed");
            break;
        }
        r = r + 1 == bodies.size() ? 0 : r + 1;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(series));
    state.counters["kept_pct"] =
        series == 0 ? 0.0 : 100.0 * static_cast<double>(kept) / static_cast<double>(series);
    state.counters["out_bytes_per_series"] =
        series == 0 ? 0.0 : static_cast<double>(out_bytes) / static_cast<double>(series);
    state.SetLabel(snappy ? "snappy in and out" : "plain protobuf in and out");
}
BENCHMARK(BM_remote_write_proxy_path)
    ->Args({0, 1})
    ->Args({10, 1})
    ->Args({0, 0})
    ->Args({10, 0})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
BENCHMARK_MAIN();
