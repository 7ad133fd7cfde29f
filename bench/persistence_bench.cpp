// Persistence figures for docs/persistence.md and docs/benchmarks.md: size on disk with and
// without compression, save and restore throughput of one tracker at 100K, 1M and 10M series, the
// governor's request latency (p50/p99) while a saver runs (back to back, or every second with
// incremental or whole saves) against none, and for incremental saves (issue 20) the bytes and
// CPU of a full save against an incremental one at several churns, and the restore of about 1 GB
// of state from bases only against bases plus increments, and what a rotation or a compaction
// writes with generation files against a whole tracker file. Single-threaded except the saver of
// the latency benchmark. Run from a Release build:
//   build/rel/bench/persistence_bench
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "limits/governor.h"
#include "logging/log.h"
#include "persistence/bloom_persistence.h"
#include "persistence/governor_host.h"
#include "persistence/increment_codec.h"
#include "persistence/layer_codec.h"
#include "persistence/tracker_codec.h"
#include "shared/map_tracker_host.h"

namespace mc = mg::cardinality;
namespace mp = mg::persistence;
namespace fs = std::filesystem;

namespace {

fs::path bench_dir(const std::string& name, const fs::path& under = fs::temp_directory_path()) {
    auto p = under / ("mg-persistence-bench-" + name + "-" + std::to_string(::getpid()));
    fs::create_directories(p);
    return p;
}

// Sized for `expected` series (0: for n) as an operator would size it, holding n of them.
std::unique_ptr<mc::bloom_tracker> filled_tracker(mg::clock& clock, std::uint64_t n,
                                                  std::uint64_t expected = 0) {
    mc::tracker_config cfg;
    cfg.expected_items = expected == 0 ? n : expected;
    auto t = std::make_unique<mc::bloom_tracker>(cfg, clock);
    std::mt19937_64 rng(cfg.expected_items);
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

// CPU time of the calling thread, in seconds (the saves below run on one thread).
double thread_cpu_seconds() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// A tracker of n series sized for them (expected_items = n, fp 0.01, 3 generations), holding
// n - churn of them: the interval's `churn` new series bring it to n, at its design load and
// without an overflow slice. Copied out as a snapshot, built once per (n, churn) per process.
const mc::tracker_snapshot& before_interval(std::uint64_t n, std::uint64_t churn) {
    static std::map<std::pair<std::uint64_t, std::uint64_t>, mc::tracker_snapshot> cache;
    auto it = cache.find({n, churn});
    if (it != cache.end()) return it->second;
    mg::fake_clock clock;
    const auto t = filled_tracker(clock, n - churn, n);
    return cache.emplace(std::make_pair(n, churn), t->snapshot()).first->second;
}

// Full against incremental save of one tracker after an interval of new series (issue 20):
// range(0) series, range(1) new series per interval in 1/10000 of them (10 = 0.1%). Each
// iteration restores two copies of the same tracker (untimed), takes the base of the incremental
// one (take_snapshot, which swaps its change marks out), inserts the same `churn` fresh series
// into both (untimed), then times, on one thread and in alternating order:
//   full:        take_snapshot + encode_tracker + gzip level 1
//   incremental: take_delta (1-block chunks, the default chunk_size of 64 bytes) +
//                encode_increment + gzip level 1
// No file is written (the write is the same per byte for both; BM_save_tracker has it). The
// Time column is the incremental save's wall time; the counters give both, per save, and the
// ratios incremental / full of the sums over all iterations.
void BM_save_full_vs_incremental(benchmark::State& state) {
    const auto n = static_cast<std::uint64_t>(state.range(0));
    const auto churn = n * static_cast<std::uint64_t>(state.range(1)) / 10000;
    const auto& base = before_interval(n, churn);
    mg::fake_clock clock;
    const std::string key = "stats:metric:bench";
    std::uint64_t round = 0;
    double full_cpu = 0, incr_cpu = 0, full_wall = 0, incr_wall = 0;
    double full_bytes = 0, incr_bytes = 0, full_raw = 0, incr_raw = 0, chunks = 0;
    for (auto _ : state) {
        auto incr = mc::bloom_tracker::restore(base, clock);
        auto full = mc::bloom_tracker::restore(base, clock);
        if (!incr || !full) {
            state.SkipWithError("restore");
            break;
        }
        const auto epoch = (*incr)->take_snapshot().epoch;
        std::mt19937_64 rng(0x5eed0000 + round);
        for (std::uint64_t i = 0; i < churn; ++i) {
            const auto h = rng();
            (*incr)->insert(h);
            (*full)->insert(h);
        }
        auto time_full = [&] {
            const auto w0 = std::chrono::steady_clock::now();
            const double c0 = thread_cpu_seconds();
            const std::string payload = mp::encode_tracker(key, (*full)->take_snapshot());
            const auto z = mp::gzip_compress(payload, 1);
            full_cpu += thread_cpu_seconds() - c0;
            full_wall +=
                std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
            full_raw += static_cast<double>(payload.size());
            full_bytes += static_cast<double>(z->size());
        };
        double wall = 0;
        auto time_incr = [&] {
            const auto w0 = std::chrono::steady_clock::now();
            const double c0 = thread_cpu_seconds();
            const auto d = (*incr)->take_delta(epoch, 1);
            if (!d) {
                state.SkipWithError("take_delta: the tracker rotated");
                return;
            }
            const std::string payload = mp::encode_increment({key, 0x12345678u, 1}, *d);
            const auto z = mp::gzip_compress(payload, 1);
            incr_cpu += thread_cpu_seconds() - c0;
            wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
            incr_wall += wall;
            incr_raw += static_cast<double>(payload.size());
            incr_bytes += static_cast<double>(z->size());
            chunks += static_cast<double>(d->changed_chunks());
        };
        if (round % 2 == 0) {
            time_full();
            time_incr();
        } else {
            time_incr();
            time_full();
        }
        state.SetIterationTime(wall);
        ++round;
    }
    const double it = static_cast<double>(std::max<std::uint64_t>(1, round));
    state.counters["series"] = static_cast<double>(n);
    state.counters["new_series"] = static_cast<double>(churn);
    state.counters["full_bytes"] = full_bytes / it;
    state.counters["incr_bytes"] = incr_bytes / it;
    state.counters["full_raw_bytes"] = full_raw / it;
    state.counters["incr_raw_bytes"] = incr_raw / it;
    state.counters["incr_chunks"] = chunks / it;
    state.counters["full_cpu_ms"] = 1e3 * full_cpu / it;
    state.counters["incr_cpu_ms"] = 1e3 * incr_cpu / it;
    state.counters["full_wall_ms"] = 1e3 * full_wall / it;
    state.counters["incr_wall_ms"] = 1e3 * incr_wall / it;
    state.counters["bytes_ratio"] = incr_bytes / full_bytes;  // target at 10M, 0.1%: <= 0.05
    state.counters["cpu_ratio"] = incr_cpu / full_cpu;        // target at 10M, 0.1%: <= 0.1
}

// Generation files (issue 20): what a save writes when a tracker of three generations, each
// holding n series, rotates (range(1) 0: the generation that froze is written once, with a head
// of the new current one) or compacts (1: increments past snapshot_ratio; only the head), against
// the whole tracker file that the same save wrote before generation files. Encode and gzip level
// 1, no disk (the bytes and CPU of the files, not of fsync).
void BM_save_layers_vs_whole(benchmark::State& state) {
    const auto n = static_cast<std::uint64_t>(state.range(0));
    const bool rotation = state.range(1) == 0;
    mg::fake_clock clock;
    mc::tracker_config cfg;
    cfg.expected_items = n;
    cfg.generations = 3;
    cfg.window = std::chrono::minutes(60);
    mc::bloom_tracker t(cfg, clock);
    std::mt19937_64 rng(n);
    for (int g = 0; g < 3; ++g) {
        if (g > 0) clock.advance(cfg.period());
        for (std::uint64_t i = 0; i < n; ++i) t.insert(rng());
    }
    if (rotation) {
        clock.advance(cfg.period());
        for (std::uint64_t i = 0; i < n / 1000; ++i) t.insert(rng());  // a few new series
    }
    const std::string key = "stats:metric:bench";
    double whole_cpu = 0, layer_cpu = 0, whole_bytes = 0, layer_bytes = 0;
    std::uint64_t round = 0;
    for (auto _ : state) {
        const auto snap = t.snapshot();
        double wall = 0;
        auto time_whole = [&] {
            const double c0 = thread_cpu_seconds();
            const auto z = mp::gzip_compress(mp::encode_tracker(key, snap), 1);
            whole_cpu += thread_cpu_seconds() - c0;
            whole_bytes += static_cast<double>(z->size());
        };
        auto time_layers = [&] {
            const auto w0 = std::chrono::steady_clock::now();
            const double c0 = thread_cpu_seconds();
            auto split = mp::split_layers(snap);
            auto z = mp::gzip_compress(mp::encode_tracker(key, split.head), 1);
            double bytes = static_cast<double>(z->size());
            if (rotation) {  // generation 1 froze at this rotation; generation 2 has its file
                z = mp::gzip_compress(mp::encode_tracker(key, split.frozen[0]), 1);
                bytes += static_cast<double>(z->size());
            }
            layer_cpu += thread_cpu_seconds() - c0;
            wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
            layer_bytes += bytes;
        };
        if (round % 2 == 0) {
            time_whole();
            time_layers();
        } else {
            time_layers();
            time_whole();
        }
        state.SetIterationTime(wall);
        ++round;
    }
    const double it = static_cast<double>(std::max<std::uint64_t>(1, round));
    state.counters["series_per_generation"] = static_cast<double>(n);
    state.counters["whole_bytes"] = whole_bytes / it;
    state.counters["layer_bytes"] = layer_bytes / it;
    state.counters["whole_cpu_ms"] = 1e3 * whole_cpu / it;
    state.counters["layer_cpu_ms"] = 1e3 * layer_cpu / it;
    state.counters["bytes_ratio"] = layer_bytes / whole_bytes;
    state.counters["cpu_ratio"] = layer_cpu / whole_cpu;
}

// governor::decide() latency per request of 1000 series (200 metrics x 5000 series known, 1% new
// per request) on this thread, by range(0):
//   0: no saver;
//   1: a saver thread saving every tracker back to back (all marked dirty each pass: the worst
//      case), with the default options (incremental);
//   2: a saver thread saving every second (what the daemon's saver does at
//      -bloom-persistence-save-interval=1s), incremental saves, after a first pass wrote the bases;
//   3: the same with -bloom-persistence-incremental=false (whole files every second);
//   4: mode 2 with the saver thread at SCHED_IDLE instead of nice 10 (an experiment: the daemon
//      does not do this);
//   5: mode 2 with the state directory on /dev/shm (tmpfs: fsync costs nothing and no disk I/O
//      is done; an experiment that separates the saver's CPU from its I/O).
// The saver runs at nice 10 as the daemon's does. Counters: p50/p99/p99.9 of the requests, save
// passes, the ingest thread's involuntary context switches, the same percentiles over the requests
// that were not preempted (own_*), p99 of the requests that started during a save pass and of the
// others (same run, same load from other processes), and for modes 2-3 the mean bytes
// written, wall and CPU time of a pass (the first pass, the bases, excluded).
void BM_ingest_latency_during_save(benchmark::State& state) {
    const int mode = static_cast<int>(state.range(0));
    const bool saving = mode != 0;
    mg::logging::init(spdlog::level::warn,
                      mg::logging::format::json);  // no "bloom state saved" per pass
    mg::system_clock clock;
    mg::limits::governor g({}, clock, nullptr);
    mp::governor_host host(g);
    const auto dir = mode == 5 ? bench_dir("latency", "/dev/shm") : bench_dir("latency");
    mp::persistence_options o;
    o.path = dir.string();
    o.incremental = mode != 3;
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
    std::atomic<bool> in_pass{false};  // a save pass is running (read by the ingest loop)
    std::atomic<int> passes{0};
    std::mutex stop_mu;
    std::condition_variable stop_cv;
    double pass_bytes = 0, pass_ms = 0, max_pass_ms = 0, pass_increments = 0, pass_saved = 0;
    double pass_cpu_ms = 0;
    std::thread saver;
    if (mode >= 2) p.save_now();  // the bases: a daemon that has run for a while has them
    if (saving) {
        saver = std::thread([&] {
            // As the daemon's saver thread does (bloom_persistence.cpp); mode 4 tries SCHED_IDLE
            // instead (runs only when a CPU has nothing else to run).
            if (mode == 4) {
                sched_param sp{};
                (void)pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
            } else {
                (void)setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
            }
            while (!stop) {
                if (mode == 1) {
                    // Every tracker dirty, every pass: the worst case for the ingest path.
                    g.for_each_tracker([](std::string_view, std::string_view, std::string_view,
                                          const auto& t) { t->mark_dirty(); });
                } else {
                    std::unique_lock lk(stop_mu);
                    if (stop_cv.wait_for(lk, std::chrono::seconds(1), [&] { return stop.load(); }))
                        break;
                }
                const auto t0 = std::chrono::steady_clock::now();
                const double c0 = thread_cpu_seconds();
                in_pass.store(true, std::memory_order_relaxed);
                const auto r = p.save_now();
                in_pass.store(false, std::memory_order_relaxed);
                pass_cpu_ms += 1e3 * (thread_cpu_seconds() - c0);
                const double ms =
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                        .count();
                pass_bytes += static_cast<double>(r.snapshot_bytes + r.increment_bytes);
                pass_increments += static_cast<double>(r.increments);
                pass_saved += static_cast<double>(r.saved);
                pass_ms += ms;
                max_pass_ms = std::max(max_pass_ms, ms);
                ++passes;
            }
        });
    }
    std::vector<double> us, own_us;  // every request; those never preempted while timed
    // Requests that started while a save pass ran, and the others, in the same run: under the
    // same load from other processes, so their ratio is the saver's effect on a shared machine.
    std::vector<double> during, between;
    us.reserve(static_cast<std::size_t>(state.max_iterations));
    own_us.reserve(static_cast<std::size_t>(state.max_iterations));
    // Involuntary context switches of this (the ingest) thread: preemption by other threads.
    rusage ru0{};
    (void)getrusage(RUSAGE_THREAD, &ru0);
    for (auto _ : state) {
        make_request(false, 0);
        rusage before{}, after{};
        (void)getrusage(RUSAGE_THREAD, &before);
        const bool saving_now = in_pass.load(std::memory_order_relaxed);
        const auto t0 = std::chrono::steady_clock::now();
        g.decide(refs, out);
        const double t =
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                .count();
        (void)getrusage(RUSAGE_THREAD, &after);
        us.push_back(t);
        if (after.ru_nivcsw == before.ru_nivcsw) own_us.push_back(t);
        (saving_now ? during : between).push_back(t);
    }
    rusage ru1{};
    (void)getrusage(RUSAGE_THREAD, &ru1);
    {
        std::lock_guard lk(stop_mu);
        stop = true;
    }
    stop_cv.notify_all();
    if (saver.joinable()) saver.join();
    p.stop();
    fs::remove_all(dir);
    std::sort(us.begin(), us.end());
    state.counters["p50_us"] = us[us.size() / 2];
    state.counters["p99_us"] = us[us.size() * 99 / 100];
    state.counters["p999_us"] = us[us.size() * 999 / 1000];
    state.counters["save_passes"] = passes.load();
    state.counters["ingest_preempted"] = static_cast<double>(ru1.ru_nivcsw - ru0.ru_nivcsw);
    // The same percentiles over the requests this thread ran through without being preempted:
    // what the saver costs the ingest path other than CPU time taken from it (locks, caches,
    // memory bandwidth), independent of the other processes on the machine.
    std::sort(own_us.begin(), own_us.end());
    if (!own_us.empty()) {
        state.counters["own_p50_us"] = own_us[own_us.size() / 2];
        state.counters["own_p99_us"] = own_us[own_us.size() * 99 / 100];
        state.counters["preempted_requests"] = static_cast<double>(us.size() - own_us.size());
    }
    if (during.size() >= 100 && between.size() >= 100) {
        std::sort(during.begin(), during.end());
        std::sort(between.begin(), between.end());
        state.counters["during_pass_p99_us"] = during[during.size() * 99 / 100];
        state.counters["between_pass_p99_us"] = between[between.size() * 99 / 100];
        state.counters["during_pass_share"] =
            static_cast<double>(during.size()) / static_cast<double>(us.size());
    }
    if (mode >= 2 && passes > 0) {
        const double n = passes.load();
        state.counters["pass_bytes"] = pass_bytes / n;
        state.counters["pass_ms"] = pass_ms / n;
        state.counters["pass_max_ms"] = max_pass_ms;
        state.counters["pass_cpu_ms"] = pass_cpu_ms / n;
        state.counters["pass_trackers"] = pass_saved / n;
        state.counters["pass_increments"] = pass_increments / n;
    }
}

// A host over a plain map (the restore benchmark's trackers have no governor).
using map_host = mg::test::map_tracker_host;

mp::persistence_options state_options(const fs::path& dir, bool incremental) {
    mp::persistence_options o;
    o.path = dir.string();
    o.incremental = incremental;
    o.max_size = 0;  // about 1 GB on disk and in memory: no limit
    o.max_memory = 0;
    return o;
}

std::uint64_t dir_bytes(const fs::path& dir) {
    std::uint64_t total = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file()) total += e.file_size();
    return total;
}

// Drops this directory's pages from the page cache (its files are fsynced, so clean): the next
// read comes from the disk, without touching anyone else's cached pages.
void evict_from_page_cache(const fs::path& dir) {
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        if (!e.is_regular_file()) continue;
        const int fd = ::open(e.path().c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        ::close(fd);
    }
}

// Two state directories of the same `trackers` trackers of 1M series each (expected_items 1M,
// fp 0.01, 3 generations; about 1.8 MB per base file, so 550 trackers are about 1 GB):
//   incr: the bases written at 900k series, then 10 passes each after 1000 new series (0.1%)
//         per tracker: bases + 10 increments each (1 more base pass would follow at the
//         default snapshot_ratio 0.5 of the base);
//   full: the final state (910k series) as bases only (-bloom-persistence-incremental=false).
// Built once per process with bloom_persistence itself. Every tracker starts from the same
// 900k-series filter (copied through snapshot/restore: inserting 500M series would take minutes)
// and gets its own new series; restore does not depend on what the words hold.
struct restore_dirs {
    fs::path full, incr;
    std::uint64_t full_bytes = 0, incr_bytes = 0;
    std::size_t increments = 0;
    double build_s = 0;
};
constexpr int k_restore_rounds = 10;
constexpr std::uint64_t k_restore_series = 1'000'000, k_restore_new = 1000;

const restore_dirs& restore_state(std::size_t trackers) {
    static std::map<std::size_t, restore_dirs> cache;
    static struct cleanup {
        ~cleanup() {
            for (const auto& [n, d] : cache) {
                std::error_code ec;
                fs::remove_all(d.full, ec);
                fs::remove_all(d.incr, ec);
            }
        }
    } remover;
    (void)remover;
    if (auto it = cache.find(trackers); it != cache.end()) return it->second;
    const auto t0 = std::chrono::steady_clock::now();
    mg::system_clock clock;
    restore_dirs d;
    d.full = bench_dir("restore-full-" + std::to_string(trackers));
    d.incr = bench_dir("restore-incr-" + std::to_string(trackers));
    map_host host;
    {
        const auto model =
            filled_tracker(clock, k_restore_series * 9 / 10, k_restore_series)->snapshot();
        for (std::size_t i = 0; i < trackers; ++i) {
            auto t = mc::bloom_tracker::restore(model, clock);
            (*t)->set_last_seen(clock.monotonic_now());
            (void)host.adopt("stats:metric:bench_" + std::to_string(i), std::move(*t));
        }
    }
    {
        mp::bloom_persistence p(state_options(d.incr, true), host, clock, mg::posix_file_system(),
                                nullptr);
        p.save_now();
        std::mt19937_64 rng(42);
        for (int round = 0; round < k_restore_rounds; ++round) {
            for (auto& [k, t] : host.trackers)
                for (std::uint64_t i = 0; i < k_restore_new; ++i) t->insert(rng());
            const auto r = p.save_now();
            d.increments += r.increments;
        }
    }
    {
        mp::bloom_persistence p(state_options(d.full, false), host, clock, mg::posix_file_system(),
                                nullptr);
        p.save_now();
    }
    d.full_bytes = dir_bytes(d.full);
    d.incr_bytes = dir_bytes(d.incr);
    d.build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return cache.emplace(trackers, std::move(d)).first->second;
}

// Restore of many trackers (range(0) of them, 1M series each; 550 are about 1 GB): opening the
// state directory (bloom_persistence's constructor: meta.json, orphan check) and restore() into
// an empty host, from bases only (range(1) = 0) or from bases + 10 increments each (1); range(2)
// = 1 first drops the directory's pages from the page cache (a restart after the cache was
// lost), 0 reads them cached (a restart of the process only). Time: open + restore, wall;
// cpu_ms the same on this thread's CPU clock (wall minus cpu_ms is waiting: the disk, or the
// other processes on a busy machine).
void BM_restore_state(benchmark::State& state) {
    const auto trackers = static_cast<std::size_t>(state.range(0));
    const bool incremental = state.range(1) != 0;
    const bool cold = state.range(2) != 0;
    mg::logging::init(spdlog::level::warn, mg::logging::format::json);
    const auto& d = restore_state(trackers);
    const fs::path dir = incremental ? d.incr : d.full;
    mg::system_clock clock;
    double open_s = 0, restore_s = 0, cpu_s = 0;
    mp::restore_report last;
    for (auto _ : state) {
        if (cold) evict_from_page_cache(dir);
        map_host host;
        const double c0 = thread_cpu_seconds();
        const auto t0 = std::chrono::steady_clock::now();
        auto p = std::make_unique<mp::bloom_persistence>(state_options(dir, true), host, clock,
                                                         mg::posix_file_system(), nullptr);
        const auto t1 = std::chrono::steady_clock::now();
        last = p->restore();
        const auto t2 = std::chrono::steady_clock::now();
        cpu_s += thread_cpu_seconds() - c0;
        open_s += std::chrono::duration<double>(t1 - t0).count();
        restore_s += std::chrono::duration<double>(t2 - t1).count();
        state.SetIterationTime(std::chrono::duration<double>(t2 - t0).count());
        if (last.loaded != trackers || last.errors != 0 || last.increments_skipped != 0)
            state.SkipWithError("restore did not load every tracker and increment");
        // Nothing for the final save of stop() to write: the directory stays as built.
        host.trackers.clear();
        p.reset();
    }
    const double it = static_cast<double>(std::max<std::int64_t>(1, state.iterations()));
    const double bytes = static_cast<double>(incremental ? d.incr_bytes : d.full_bytes);
    state.counters["trackers"] = static_cast<double>(trackers);
    state.counters["state_MB"] = bytes / 1e6;
    state.counters["increments_applied"] = static_cast<double>(last.increments_applied);
    state.counters["open_ms"] = 1e3 * open_s / it;
    state.counters["restore_ms"] = 1e3 * restore_s / it;
    state.counters["cpu_ms"] = 1e3 * cpu_s / it;  // open + restore, this thread (the only one)
    state.counters["MB_per_s"] = bytes / 1e6 / ((open_s + restore_s) / it);
    state.counters["build_s"] = d.build_s;
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
// Saves every second (modes 2-4) against none (0): 40 000 requests, about 10 s.
BENCHMARK(BM_ingest_latency_during_save)
    ->Arg(0)
    ->Arg(2)
    ->Arg(3)
    ->Arg(4)
    ->Arg(5)
    ->Iterations(40000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
// Issue 20. Iterations fixed per size: a 10M iteration restores two trackers and inserts up to
// 2M series untimed; the 10M trackers are built once per churn (a few seconds each).
BENCHMARK(BM_save_full_vs_incremental)
    ->ArgsProduct({{100'000}, {10, 100, 1000}})
    ->Iterations(40)
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();
BENCHMARK(BM_save_full_vs_incremental)
    ->ArgsProduct({{1'000'000}, {10, 100, 1000}})
    ->Iterations(10)
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();
BENCHMARK(BM_save_full_vs_incremental)
    ->ArgsProduct({{10'000'000}, {10, 100, 1000}})
    ->Iterations(4)
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();
BENCHMARK(BM_save_layers_vs_whole)
    ->ArgsProduct({{100'000, 1'000'000}, {0, 1}})
    ->Iterations(6)
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();
// 55 trackers (about 100 MB) for a quick look; 550 (about 1 GB) for the figures. The 1 GB
// directories take a few minutes to build, once per process.
BENCHMARK(BM_restore_state)
    ->ArgsProduct({{55, 550}, {0, 1}, {0, 1}})
    ->Iterations(2)
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();

BENCHMARK_MAIN();
