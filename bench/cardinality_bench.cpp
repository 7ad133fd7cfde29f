// Cardinality engine benchmarks: series hashing, tracker insert/test at 1k..100M series, bits per
// series, registry lookups. Results and how to rerun them: docs/benchmarks.md.
//
// Trackers for the large sizes are filled once (outside the timed loops) and shared by the
// benchmarks that use them; a tracker filled to N series is sized with expected_items = N
// ("sized") or left at the default 100000 and grown by its scalable slices ("grown").
#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "cardinality/block_bloom.h"
#include "cardinality/bloom_tracker.h"
#include "cardinality/series_hash.h"
#include "tracker_registry.h"

namespace {

using namespace mg::cardinality;
using mg::bench::tracker_registry;

std::uint64_t id(std::uint64_t i) {
    std::uint64_t z = i + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

std::uint64_t below(std::uint64_t x, std::uint64_t n) {
    __extension__ using u128 = unsigned __int128;
    return static_cast<std::uint64_t>((static_cast<u128>(x) * n) >> 64);
}

mg::fake_clock& bench_clock() {
    static mg::fake_clock c;
    return c;
}

struct filled {
    std::unique_ptr<bloom_tracker> tracker;
    std::uint64_t n = 0;
    std::uint64_t next_new = 0;  // ids >= this were never inserted
    std::uint64_t added = 0;     // new series inserted by benchmarks
};

enum class use { read_only, insert_new };

// One tracker per (size, sized?, use) kept for the whole run. Trackers that receive new series
// are sized for 2N (when sized) so that the measured inserts do not hit a growth step, and are
// separate from the read-only ones so the known-series numbers stay those of N series.
filled& tracker_with(std::uint64_t n, bool sized, use u = use::read_only, bool rebuild = false) {
    static std::map<std::tuple<std::uint64_t, bool, use>, filled> cache;
    auto& f = cache[{n, sized, u}];
    if (rebuild) f.tracker.reset();
    if (!f.tracker) {
        tracker_config c;
        if (sized) c.expected_items = u == use::insert_new ? 2 * n : n;
        f.tracker = std::make_unique<bloom_tracker>(c, bench_clock());
        std::vector<std::uint64_t> batch(4096);
        std::vector<observe_result> out(batch.size());
        for (std::uint64_t i = 0; i < n; i += batch.size()) {
            const std::size_t m = std::min<std::uint64_t>(batch.size(), n - i);
            for (std::size_t j = 0; j < m; ++j) batch[j] = id(i + j);
            f.tracker->observe_batch(std::span(batch.data(), m), UINT64_MAX, out);
        }
        f.n = n;
        f.added = 0;
        f.next_new = std::uint64_t{1} << 60;
    }
    return f;
}

// Keeps an insert benchmark at about N series: once it added N new ones, refill from scratch.
filled& refresh_if_grown(benchmark::State& state, filled& f, bool sized, std::uint64_t adding) {
    if (f.added + adding <= f.n) return f;
    state.PauseTiming();
    filled& g = tracker_with(f.n, sized, use::insert_new, true);
    state.ResumeTiming();
    return g;
}

void report_tracker(benchmark::State& state, const filled& f) {
    const auto series = f.tracker->count();
    state.counters["series"] = static_cast<double>(series);
    state.counters["bits_per_series"] =
        8.0 * static_cast<double>(f.tracker->memory_bytes()) / static_cast<double>(series);
    state.counters["slices"] = static_cast<double>(f.tracker->slice_count());
}

// --- series identity -----------------------------------------------------------------------

void BM_series_hash_8_labels(benchmark::State& state) {
    const bool shuffled = state.range(0) != 0;
    std::vector<label_view> labels{{"cluster", "eu-west-1"},     {"code", "200"},
                                   {"handler", "/api/v1/query"}, {"instance", "10.1.2.3:9090"},
                                   {"job", "prometheus"},        {"method", "GET"},
                                   {"namespace", "monitoring"},  {"pod", "prometheus-0"}};
    if (shuffled) std::shuffle(labels.begin(), labels.end(), std::mt19937(1));
    for (auto _ : state) {
        benchmark::DoNotOptimize(series_hash("http_requests_total", labels));
    }
    state.SetLabel(shuffled ? "unsorted input" : "sorted input");
}
BENCHMARK(BM_series_hash_8_labels)->Arg(0)->Arg(1);

void BM_series_hash_sorted_8_labels(benchmark::State& state) {
    const std::vector<label_view> labels{
        {"cluster", "eu-west-1"},      {"code", "200"},        {"handler", "/api/v1/query"},
        {"instance", "10.1.2.3:9090"}, {"job", "prometheus"},  {"method", "GET"},
        {"namespace", "monitoring"},   {"pod", "prometheus-0"}};
    for (auto _ : state)
        benchmark::DoNotOptimize(
            mg::cardinality::series_hash_sorted("http_requests_total", labels));
}
BENCHMARK(BM_series_hash_sorted_8_labels);

// --- the filter alone ----------------------------------------------------------------------

void BM_block_bloom_bits_per_item_1pct(benchmark::State& state) {
    const auto n = static_cast<std::uint64_t>(state.range(0));
    for (auto _ : state) benchmark::DoNotOptimize(block_bloom::blocks_for(n, 0.01));
    const auto blocks = block_bloom::blocks_for(n, 0.01);
    state.counters["bits_per_item"] = 512.0 * static_cast<double>(blocks) / static_cast<double>(n);
    state.counters["predicted_fpr"] = block_bloom::fp_rate_for(blocks, n);
}
BENCHMARK(BM_block_bloom_bits_per_item_1pct)->Arg(1000000)->Iterations(1);

void BM_block_bloom_test_and_insert(benchmark::State& state) {
    const auto n = static_cast<std::uint64_t>(state.range(0));
    auto f = block_bloom::for_capacity(n, 0.01);
    for (std::uint64_t i = 0; i < n; ++i) f.insert(id(i));
    std::uint64_t i = 0;
    for (auto _ : state) benchmark::DoNotOptimize(f.test_and_insert(id(below(id(i++), n))));
    std::uint64_t fp = 0;
    for (std::uint64_t j = 0; j < 1000000; ++j)
        fp += f.test(id((std::uint64_t{1} << 61) + j)) ? 1 : 0;
    state.counters["measured_fpr"] = static_cast<double>(fp) / 1e6;
    state.counters["bits_per_item"] =
        8.0 * static_cast<double>(f.memory_bytes()) / static_cast<double>(n);
}
BENCHMARK(BM_block_bloom_test_and_insert)->Arg(1000)->Arg(1000000)->Arg(10000000);

// --- one tracker: observe() of known series (the steady state) ------------------------------

void BM_tracker_observe_known(benchmark::State& state) {
    const auto n = static_cast<std::uint64_t>(state.range(0));
    filled& f = tracker_with(n, state.range(1) != 0);
    const auto now = bench_clock().monotonic_now();
    std::uint64_t i = 0;
    for (auto _ : state)
        benchmark::DoNotOptimize(f.tracker->observe(id(below(id(i++), n)), UINT64_MAX, now));
    report_tracker(state, f);
}

// --- one tracker: observe() of new series (insert path; the tracker grows a little) ----------

void BM_tracker_observe_new(benchmark::State& state) {
    const auto n = static_cast<std::uint64_t>(state.range(0));
    const bool sized = state.range(1) != 0;
    filled* f = &tracker_with(n, sized, use::insert_new);
    const auto now = bench_clock().monotonic_now();
    for (auto _ : state) {
        f = &refresh_if_grown(state, *f, sized, 1);
        ++f->added;
        benchmark::DoNotOptimize(f->tracker->observe(id(f->next_new++), UINT64_MAX, now));
    }
    report_tracker(state, *f);
}

// --- same, batched with prefetching (how a request's series of one metric can be fed) --------

void BM_tracker_observe_batch_known(benchmark::State& state) {
    const auto n = static_cast<std::uint64_t>(state.range(0));
    filled& f = tracker_with(n, state.range(1) != 0);
    // Prepared batches of 256 random known series, used round robin. The pool holds as many
    // distinct series as the tracker (up to 4M, 32 MiB of hashes read sequentially), so a large
    // filter's blocks are not all cached from the previous round: with a small pool (the first
    // version had 16k series, 1 MiB of blocks) a 10M-series filter answered from the caches.
    constexpr std::size_t k_batch = 256;
    const std::size_t batches = std::clamp<std::size_t>(static_cast<std::size_t>(n) / k_batch, 64,
                                                        (std::size_t{1} << 22) / k_batch);
    std::vector<std::uint64_t> all(batches * k_batch);
    for (std::size_t j = 0; j < all.size(); ++j) all[j] = id(below(id(j), n));
    std::vector<observe_result> out(k_batch);
    std::size_t b = 0;
    for (auto _ : state) {
        f.tracker->observe_batch(std::span(all.data() + b * k_batch, k_batch), UINT64_MAX, out);
        b = b + 1 == batches ? 0 : b + 1;
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * k_batch));
    report_tracker(state, f);
}

void BM_tracker_observe_batch_new(benchmark::State& state) {
    const auto n = static_cast<std::uint64_t>(state.range(0));
    const bool sized = state.range(1) != 0;
    filled* f = &tracker_with(n, sized, use::insert_new);
    std::vector<std::uint64_t> batch(256);
    std::vector<observe_result> out(batch.size());
    for (auto _ : state) {
        f = &refresh_if_grown(state, *f, sized, batch.size());
        state.PauseTiming();
        for (auto& h : batch) h = id(f->next_new++);
        f->added += batch.size();
        state.ResumeTiming();
        f->tracker->observe_batch(batch, UINT64_MAX, out);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch.size()));
    report_tracker(state, *f);
}

void sizes(benchmark::internal::Benchmark* b) {
    for (std::int64_t n : {1000, 1000000, 10000000}) b->Args({n, 1});
    b->Args({10000000, 0});   // default expected_items, grown to 10M
    b->Args({100000000, 1});  // ~400 MB with 3 generations reserved; filled once (~10 s)
}
BENCHMARK(BM_tracker_observe_known)->Apply(sizes);
BENCHMARK(BM_tracker_observe_new)->Apply(sizes);
BENCHMARK(BM_tracker_observe_batch_known)->Apply(sizes);
BENCHMARK(BM_tracker_observe_batch_new)->Apply(sizes);

// observe() reading the real clock on every call (the convenience overload).
void BM_tracker_observe_known_system_clock(benchmark::State& state) {
    tracker_config c;
    bloom_tracker t(c, mg::system_clock_instance());
    for (std::uint64_t i = 0; i < 1000; ++i) t.insert(id(i));
    std::uint64_t i = 0;
    for (auto _ : state) benchmark::DoNotOptimize(t.observe(id(below(id(i++), 1000)), UINT64_MAX));
}
BENCHMARK(BM_tracker_observe_known_system_clock);

// Two threads hitting the same small tracker: the per-thread reader slots must not contend.
void BM_tracker_observe_known_shared(benchmark::State& state) {
    static bloom_tracker* t = nullptr;
    if (state.thread_index() == 0) {
        t = new bloom_tracker(tracker_config{}, bench_clock());
        for (std::uint64_t i = 0; i < 1000; ++i) t->insert(id(i));
    }
    const auto now = bench_clock().monotonic_now();
    std::uint64_t i = static_cast<std::uint64_t>(state.thread_index()) << 40;
    for (auto _ : state)
        benchmark::DoNotOptimize(t->observe(id(below(id(i++), 1000)), UINT64_MAX, now));
    if (state.thread_index() == 0) {
        delete t;
        t = nullptr;
    }
}
BENCHMARK(BM_tracker_observe_known_shared)->Threads(1)->Threads(2)->UseRealTime();

// Bits per series at 1% FPR: one generation of a tracker holding exactly its expected items,
// memory as allocated (blocks and slice headers). Arg 1 = generations: with 1 the generation runs
// at the configured 1%; with 3 (the default) each runs at 1%/3 so that three generations of
// different series still give 1% combined. The filter alone: BM_block_bloom_bits_per_item_1pct.
void BM_tracker_bits_per_series_1pct(benchmark::State& state) {
    const auto n = static_cast<std::uint64_t>(state.range(0));
    mg::fake_clock clk;
    tracker_config c;
    c.expected_items = n;
    c.fp_rate = 0.01;
    c.generations = static_cast<std::uint32_t>(state.range(1));
    for (auto _ : state) {
        bloom_tracker t(c, clk);
        for (std::uint64_t i = 0; i < n; ++i) t.insert(id(i));
        state.counters["bits_per_series"] =
            8.0 * static_cast<double>(t.memory_bytes()) / static_cast<double>(t.count());
        state.counters["series"] = static_cast<double>(t.count());
    }
}
BENCHMARK(BM_tracker_bits_per_series_1pct)
    ->Args({1000, 1})
    ->Args({100000, 1})
    ->Args({10000000, 1})
    ->Args({100000, 3})
    ->Args({10000000, 3})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// A steady-state tracker: N series seen in each of the 3 generations (the memory worst case).
void BM_tracker_steady_state_memory(benchmark::State& state) {
    const auto n = static_cast<std::uint64_t>(state.range(0));
    mg::fake_clock clk;
    tracker_config c;
    c.expected_items = n;
    bloom_tracker t(c, clk);
    for (auto _ : state) {
        for (int g = 0; g < 3; ++g) {
            for (std::uint64_t i = 0; i < n; ++i) t.insert(id(i));
            clk.advance(c.period());
        }
    }
    state.counters["bits_per_series"] =
        8.0 * static_cast<double>(t.memory_bytes()) / static_cast<double>(n);
    state.counters["series"] = static_cast<double>(t.count());
}
BENCHMARK(BM_tracker_steady_state_memory)
    ->Arg(1000000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// Cost of one rotation (waits for readers, frees the expired generation).
void BM_tracker_rotation(benchmark::State& state) {
    mg::fake_clock clk;
    tracker_config c;
    bloom_tracker t(c, clk);
    std::uint64_t i = 0;
    for (auto _ : state) {
        state.PauseTiming();
        for (int j = 0; j < 1000; ++j) t.insert(id(i++));
        clk.advance(c.period());
        state.ResumeTiming();
        t.advance();
    }
}
BENCHMARK(BM_tracker_rotation);

// --- registry --------------------------------------------------------------------------------

void BM_registry_get_or_create_existing(benchmark::State& state) {
    static tracker_registry* reg = nullptr;
    static std::vector<std::string> names;
    if (state.thread_index() == 0) {
        reg = new tracker_registry(tracker_config{}, bench_clock());
        names.clear();
        for (int i = 0; i < 1000; ++i) {
            names.push_back("metric_name_number_" + std::to_string(i) + "_total");
            reg->get_or_create(names.back());
        }
    }
    std::uint64_t i = static_cast<std::uint64_t>(state.thread_index()) * 7919;
    for (auto _ : state) benchmark::DoNotOptimize(reg->get_or_create(names[i++ % names.size()]));
    if (state.thread_index() == 0) {
        delete reg;
        reg = nullptr;
    }
}
BENCHMARK(BM_registry_get_or_create_existing)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
