// Persistence figures for docs/persistence.md: size on disk with and without compression, save and
// restore throughput of one tracker at 100K, 1M and 10M series, and the governor's request
// latency (p50/p99) while a saver runs back to back against none. Run from a Release build:
//   build/bench/bench/persistence_bench
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "limits/governor.h"
#include "logging/log.h"
#include "persistence/bloom_persistence.h"
#include "persistence/governor_host.h"
#include "persistence/tracker_codec.h"

namespace mc = mg::cardinality;
namespace mp = mg::persistence;
namespace fs = std::filesystem;

namespace {

fs::path bench_dir(const std::string& name) {
    auto p = fs::temp_directory_path() /
             ("mg-persistence-bench-" + name + "-" + std::to_string(::getpid()));
    fs::create_directories(p);
    return p;
}

std::unique_ptr<mc::bloom_tracker> filled_tracker(mg::clock& clock, std::uint64_t n) {
    mc::tracker_config cfg;
    cfg.expected_items = n;  // sized for n: one slice per generation, as an operator would size it
    auto t = std::make_unique<mc::bloom_tracker>(cfg, clock);
    std::mt19937_64 rng(n);
    for (std::uint64_t i = 0; i < n; ++i) t->insert(rng());
    return t;
}

// One tracker: snapshot, encode, gzip (level = range(1), 0 for none), atomic write with fsync.
void BM_save_tracker(benchmark::State& state) {
    const auto n = static_cast<std::uint64_t>(state.range(0));
    const int level = static_cast<int>(state.range(1));
    mg::fake_clock clock;
    const auto t = filled_tracker(clock, n);
    const auto dir = bench_dir("save");
    std::size_t raw = 0, on_disk = 0;
    for (auto _ : state) {
        std::string payload = mp::encode_tracker("stats:metric:bench", t->snapshot());
        raw = payload.size();
        std::string file = level > 0 ? *mp::gzip_compress(payload, level) : std::move(payload);
        on_disk = file.size();
        auto st = mg::write_file_atomic(mg::posix_file_system(), (dir / "t.bloom.gz").string(),
                                        file, 0600);
        if (!st) state.SkipWithError(st.error_message().c_str());
    }
    fs::remove_all(dir);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * raw));
    state.counters["series"] = static_cast<double>(n);
    state.counters["raw_bytes"] = static_cast<double>(raw);
    state.counters["file_bytes"] = static_cast<double>(on_disk);
    state.counters["file_bits_per_series"] =
        8.0 * static_cast<double>(on_disk) / static_cast<double>(n);
    state.counters["ratio"] = static_cast<double>(on_disk) / static_cast<double>(raw);
}

// One tracker: read, CRC32, gunzip, decode, restore.
void BM_restore_tracker(benchmark::State& state) {
    const auto n = static_cast<std::uint64_t>(state.range(0));
    const int level = static_cast<int>(state.range(1));
    mg::fake_clock clock;
    const auto t = filled_tracker(clock, n);
    const auto dir = bench_dir("restore");
    const std::string payload = mp::encode_tracker("stats:metric:bench", t->snapshot());
    const std::string file = level > 0 ? *mp::gzip_compress(payload, level) : payload;
    const std::string path = (dir / "t.bloom.gz").string();
    (void)mg::write_file_atomic(mg::posix_file_system(), path, file, 0600);
    const auto crc = mp::crc32_of(file);
    for (auto _ : state) {
        auto bytes = mg::posix_file_system().read_file(path, 1ull << 30);
        if (mp::crc32_of(*bytes) != crc) state.SkipWithError("crc");
        std::string p = level > 0 ? *mp::gzip_decompress(*bytes, 1ull << 30) : std::move(*bytes);
        auto snap = mp::decode_tracker(p, "stats:metric:bench");
        auto r = mc::bloom_tracker::restore(*snap, clock);
        benchmark::DoNotOptimize(r);
    }
    fs::remove_all(dir);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * payload.size()));
    state.counters["series"] = static_cast<double>(n);
}

// governor::decide() latency per request of 1000 series (200 metrics x 5000 series known, 1% new
// per request), with (range(0) = 1) or without a saver thread saving every tracker back to back.
void BM_ingest_latency_during_save(benchmark::State& state) {
    const bool saving = state.range(0) != 0;
    mg::logging::init(spdlog::level::warn,
                      mg::logging::format::json);  // no "bloom state saved" per pass
    mg::system_clock clock;
    mg::limits::governor g({}, clock, nullptr);
    mp::governor_host host(g);
    const auto dir = bench_dir("latency");
    mp::persistence_options o;
    o.path = dir.string();
    mp::bloom_persistence p(o, host, clock, mg::posix_file_system(), nullptr);

    constexpr int k_metrics = 200, k_per_metric = 5000, k_batch = 1000;
    std::vector<std::string> names, ids;
    for (int m = 0; m < k_metrics; ++m) names.push_back("metric_" + std::to_string(m));
    for (int i = 0; i < k_per_metric * 2; ++i) ids.push_back(std::to_string(i));
    std::vector<std::array<mc::label_view, 2>> labels(k_batch);
    std::vector<mg::limits::series_ref> refs(k_batch);
    std::vector<mg::limits::decision> out(k_batch);
    std::mt19937 rng(1);
    auto make_request = [&](bool warm, int w) {
        for (int i = 0; i < k_batch; ++i) {
            const int m =
                warm ? (w * k_batch + i) / k_per_metric : static_cast<int>(rng() % k_metrics);
            const int id =
                warm ? (w * k_batch + i) % k_per_metric
                     : (rng() % 100 == 0 ? k_per_metric + static_cast<int>(rng() % k_per_metric)
                                         : static_cast<int>(rng() % k_per_metric));
            labels[i] = {mc::label_view{"id", ids[id]}, mc::label_view{"job", "bench"}};
            refs[i] = {names[m], {}, labels[i], 1};
        }
        // The governor wants runs of one metric: sort by name as the receivers' batches come.
        std::sort(refs.begin(), refs.end(),
                  [](const auto& a, const auto& b) { return a.metric_name < b.metric_name; });
    };
    for (int w = 0; w < k_metrics * k_per_metric / k_batch; ++w) {
        make_request(true, w);
        g.decide(refs, out);
    }

    std::atomic<bool> stop{false};
    std::atomic<int> passes{0};
    std::thread saver;
    if (saving) {
        saver = std::thread([&] {
            // As the daemon's saver thread does (bloom_persistence.cpp).
            (void)setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
            while (!stop) {
                // Every tracker dirty, every pass: the worst case for the ingest path.
                g.for_each_tracker([](std::string_view, std::string_view, std::string_view,
                                      const auto& t) { t->mark_dirty(); });
                p.save_now();
                ++passes;
            }
        });
    }
    std::vector<double> us;
    for (auto _ : state) {
        make_request(false, 0);
        const auto t0 = std::chrono::steady_clock::now();
        g.decide(refs, out);
        us.push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                .count());
    }
    stop = true;
    if (saver.joinable()) saver.join();
    p.stop();
    fs::remove_all(dir);
    std::sort(us.begin(), us.end());
    state.counters["p50_us"] = us[us.size() / 2];
    state.counters["p99_us"] = us[us.size() * 99 / 100];
    state.counters["save_passes"] = passes.load();
}

}  // namespace

BENCHMARK(BM_save_tracker)
    ->ArgsProduct({{100'000, 1'000'000, 10'000'000}, {0, 1, 6}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_restore_tracker)
    ->ArgsProduct({{100'000, 1'000'000, 10'000'000}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_ingest_latency_during_save)
    ->Arg(0)
    ->Arg(1)
    ->Iterations(10000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

BENCHMARK_MAIN();
