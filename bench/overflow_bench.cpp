// Issue 21's costs (docs/benchmarks.md, "Overflow"): CPU per folded sample, at each layer of the
// over-limit path (the counter fold alone, the store with its key and lock, and the ingest
// side's whole work on a remote-write request whose series are all folded: samples read from the
// request again, kept labels picked, folded), the same for the histogram folds (a native
// histogram's buckets, an explicit-bounds histogram's), and memory per tracked folded series
// (heap bytes from mallinfo2 around filling a fold, so the allocator's own rounding is in).
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "ingest/overflow_sink.h"
#include "limits/limits_file.h"
#include "overflow/counter_fold.h"
#include "overflow/explicit_histogram_fold.h"
#include "overflow/gauge_fold.h"
#include "overflow/histogram_fold.h"
#include "overflow/overflow_store.h"
#include "protocol/remote_write.h"
#include "protocol/remote_write_builder.h"

namespace {

namespace ov = mg::overflow;
namespace pr = mg::protocol;

std::size_t heap_bytes() {
    const auto m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

// Samples of `series` folded series round-robin into one counter fold (all tracked).
void BM_counter_fold_sample(benchmark::State& state) {
    const auto series = static_cast<std::uint64_t>(state.range(0));
    ov::counter_fold f(series);
    std::uint64_t i = 0;
    double v = 0;
    for (auto _ : state) {
        f.add(i * 0x9E3779B97F4A7C15ULL, v);
        if (++i == series) {
            i = 0;
            v += 1;
        }
    }
    benchmark::DoNotOptimize(f.total());
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_counter_fold_sample)->Arg(1000)->Arg(100000);

// The same through the store: key, shard lock, fold; one kept label.
void BM_store_fold_sample(benchmark::State& state) {
    const auto series = static_cast<std::uint64_t>(state.range(0));
    ov::overflow_store store({});
    const mg::label_view kept[] = {{"service", "checkout"}};
    ov::fold_target t;
    t.metric_name = "http_requests_total";
    t.kept_labels = kept;
    t.overflow_label = "overflow";
    t.max_tracked = series;
    std::uint64_t i = 0;
    ov::fold_sample one[] = {{0, 0}};
    for (auto _ : state) {
        store.fold(t, i * 0x9E3779B97F4A7C15ULL, one, 0);
        if (++i == series) {
            i = 0;
            one[0].value += 1;
            one[0].timestamp_ms += 15000;
        }
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_store_fold_sample)->Arg(1000)->Arg(100000);

// The ingest side's work on one remote-write request of 1000 series (8 labels, one sample each),
// every one folded: read its sample from the request, pick keep_labels, fold.
void BM_sink_fold_request(benchmark::State& state) {
    constexpr int k_series = 1000;
    std::vector<pr::owned_timeseries> ts;
    for (int i = 0; i < k_series; ++i) {
        pr::owned_timeseries t;
        t.labels = {{"__name__", "http_requests_total"}, {"id", std::to_string(i)}};
        for (int l = 0; l < 6; ++l)
            t.labels.push_back({"label" + std::to_string(l), "value" + std::to_string(l)});
        t.labels.push_back({"service", "checkout"});
        t.samples = {{static_cast<double>(i), 1000}};
        ts.push_back(std::move(t));
    }
    std::string body;
    pr::encode_remote_write_v1(ts, {}, body);
    pr::series_batch batch;
    if (!pr::decode_remote_write_v1(body, batch).ok()) {
        state.SkipWithError("decode");
        return;
    }
    mg::limits::rule r;
    r.name = "bench";
    r.on_limit = mg::limits::action::overflow;
    r.keep_labels = {"service"};
    std::vector<mg::limits::series_ref> refs;
    std::vector<std::size_t> index;
    std::vector<mg::limits::decision> decisions;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const auto v = batch[i];
        refs.push_back({v.metric_name, {}, v.labels, 1, v.has_identity, v.identity});
        index.push_back(i);
        mg::limits::decision d;
        d.keep = false;
        d.overflow = true;
        d.overflow_rule = &r;
        decisions.push_back(d);
    }
    mg::fake_clock clock;
    ov::overflow_store store({});
    mg::ingest::overflow_sink sink(store, clock);
    const auto tenant = [](std::size_t) { return std::string_view{}; };
    for (auto _ : state) sink.fold(batch, refs, index, decisions, tenant);
    state.SetItemsProcessed(state.iterations() * k_series);
}
BENCHMARK(BM_sink_fold_request);

// A latency histogram as a client library's native histogram reports it: schema 3, 20 populated
// positive buckets, a zero bucket; `seed` shifts the buckets so series differ.
mg::native_histogram latency_histogram(std::uint64_t seed) {
    mg::native_histogram h;
    h.schema = 3;
    h.zero_threshold = 1e-128;
    h.zero_count = 1;
    const auto first = static_cast<std::int32_t>(seed % 8);
    for (std::int32_t i = 0; i < 20; ++i) {
        h.positive.push_back({first + i, 10.0 + i});
        h.count += 10.0 + i;
    }
    h.count += h.zero_count;
    h.sum = 0.25 * h.count;
    return h;
}

// The Prometheus client's default buckets (11 bounds, 12 counts).
mg::explicit_histogram default_buckets_histogram(std::uint64_t seed) {
    mg::explicit_histogram h;
    h.bounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    for (std::size_t i = 0; i <= h.bounds.size(); ++i) {
        h.bucket_counts.push_back(static_cast<double>(5 + (seed + i) % 7));
        h.count += h.bucket_counts.back();
    }
    h.sum = 0.1 * h.count;
    return h;
}

// Samples of `series` folded histogram series round-robin into one fold: each round every
// series observed one more value (`observe`: its count, one bucket and its sum up), so every
// sample adds a real increase bucket by bucket.
template <typename Fold, typename Histogram, typename Make, typename Observe>
void fold_histogram_samples(benchmark::State& state, Make make, Observe observe) {
    const auto series = static_cast<std::uint64_t>(state.range(0));
    Fold f(series);
    std::vector<Histogram> h;
    h.reserve(series);
    for (std::uint64_t i = 0; i < series; ++i) h.push_back(make(i));
    std::uint64_t i = 0;
    std::size_t round = 0;
    for (auto _ : state) {
        observe(h[i], round);
        f.add(i * 0x9E3779B97F4A7C15ULL, h[i]);
        if (++i == series) {
            i = 0;
            ++round;
        }
    }
    benchmark::DoNotOptimize(f.total().count);
    state.SetItemsProcessed(state.iterations());
}

// Native histograms (remote write, OTLP exponential).
void BM_histogram_fold_sample(benchmark::State& state) {
    fold_histogram_samples<ov::histogram_fold, mg::native_histogram>(
        state, latency_histogram, [](mg::native_histogram& s, std::size_t round) {
            s.count += 1;
            s.positive[round % s.positive.size()].count += 1;
            s.sum += 0.25;
        });
}
BENCHMARK(BM_histogram_fold_sample)->Arg(1000)->Arg(100000);

// OTLP explicit-bounds histograms (cumulative points).
void BM_explicit_histogram_fold_sample(benchmark::State& state) {
    fold_histogram_samples<ov::explicit_histogram_fold, mg::explicit_histogram>(
        state, default_buckets_histogram, [](mg::explicit_histogram& s, std::size_t round) {
            s.count += 1;
            s.bucket_counts[round % s.bucket_counts.size()] += 1;
            s.sum += 0.1;
        });
}
BENCHMARK(BM_explicit_histogram_fold_sample)->Arg(1000)->Arg(100000);

// Heap bytes per folded histogram series a fold remembers (its last histogram).
void BM_tracked_histogram_memory(benchmark::State& state) {
    constexpr std::uint64_t k_series = 50000;
    double native_bytes = 0, explicit_bytes = 0;
    for (auto _ : state) {
        const auto one_native = latency_histogram(0);
        const auto before = heap_bytes();
        auto n = std::make_unique<ov::histogram_fold>(k_series);
        for (std::uint64_t i = 0; i < k_series; ++i) n->add(i * 0x9E3779B97F4A7C15ULL, one_native);
        native_bytes = static_cast<double>(heap_bytes() - before) / k_series;
        n.reset();
        const auto one_explicit = default_buckets_histogram(0);
        const auto before_explicit = heap_bytes();
        auto x = std::make_unique<ov::explicit_histogram_fold>(k_series);
        for (std::uint64_t i = 0; i < k_series; ++i)
            x->add(i * 0x9E3779B97F4A7C15ULL, one_explicit);
        explicit_bytes = static_cast<double>(heap_bytes() - before_explicit) / k_series;
    }
    state.counters["native_20_buckets_bytes_per_series"] = native_bytes;
    state.counters["explicit_12_buckets_bytes_per_series"] = explicit_bytes;
}
BENCHMARK(BM_tracked_histogram_memory)->Iterations(1)->Unit(benchmark::kMillisecond);

// Heap bytes per folded series a fold remembers (counter: last value; gauge: value and time).
void BM_tracked_series_memory(benchmark::State& state) {
    constexpr std::uint64_t k_series = 200000;
    double counter_bytes = 0, gauge_bytes = 0;
    for (auto _ : state) {
        const auto before = heap_bytes();
        auto c = std::make_unique<ov::counter_fold>(k_series);
        for (std::uint64_t i = 0; i < k_series; ++i) c->add(i * 0x9E3779B97F4A7C15ULL, 1);
        counter_bytes = static_cast<double>(heap_bytes() - before) / k_series;
        c.reset();
        const auto before_gauge = heap_bytes();
        auto g = std::make_unique<ov::gauge_fold>(ov::gauge_aggregation::sum, 300000, k_series);
        for (std::uint64_t i = 0; i < k_series; ++i) g->add(i * 0x9E3779B97F4A7C15ULL, 1, 0);
        gauge_bytes = static_cast<double>(heap_bytes() - before_gauge) / k_series;
    }
    state.counters["counter_bytes_per_series"] = counter_bytes;
    state.counters["gauge_bytes_per_series"] = gauge_bytes;
}
BENCHMARK(BM_tracked_series_memory)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
