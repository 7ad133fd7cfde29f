#include "loadgen/runner.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <limits>
#include <mutex>
#include <thread>

#include "loadgen/connection.h"
#include "loadgen/pacer.h"
#include "loadgen/request_builder.h"

namespace mg::loadgen {

namespace {

using clock_type = std::chrono::steady_clock;

// Prebuilding more cycles than this would delay the start of a -duration run for little gain.
constexpr std::uint64_t k_max_prebuilt_cycles = 16;

double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// What the builder and the senders share; every field under mu except the atomics.
struct shared_state {
    std::mutex mu;
    std::condition_variable cv;
    std::uint64_t cycles_built = 0;       // cycles [0, cycles_built) have their bodies ready
    std::vector<std::uint64_t> finished;  // per sender: cycles it has completely sent
    std::atomic<bool> stop{false};        // the duration ran out (or the run is over)
    std::atomic<std::uint64_t> cycles_started{0};  // highest cycle a request was sent for, + 1
    std::exception_ptr failure;  // the first exception of a thread, rethrown by run_load

    std::uint64_t min_finished() const {
        return *std::min_element(finished.begin(), finished.end());
    }
    // Under the mutex, so that a waiter between its predicate check and its sleep cannot miss it.
    void request_stop(std::exception_ptr e = nullptr) {
        {
            std::lock_guard lock(mu);
            stop.store(true);
            if (e && !failure) failure = e;
        }
        cv.notify_all();
    }
    // Runs f, turning an exception (out of memory, a Beast surprise) into a stop of the run.
    template <typename F>
    void guarded(F&& f) {
        try {
            f();
        } catch (...) {
            request_stop(std::current_exception());
        }
    }
};

}  // namespace

run_report run_load(const options& opts) {
    run_report report;
    report.opts = opts;

    const series_shape shape{.series = opts.series,
                             .metrics = opts.metrics,
                             .labels = opts.labels,
                             .churn = opts.churn,
                             .seed = opts.seed};
    request_shape requests{.protocol = opts.protocol,
                           .series_per_request = opts.series_per_request,
                           .samples_per_series = opts.samples_per_series};
    if (opts.timestamps == timestamp_mode::now) {
        requests.timestamp_base_ms = std::chrono::duration_cast<std::chrono::seconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count() *
                                     1000;
    }
    request_builder builder(shape, requests, opts.shape);
    const std::size_t per_cycle = builder.request_count();
    report.requests_per_cycle = per_cycle;
    const auto endpoints = resolve(opts.target);

    const std::uint64_t max_cycles =
        opts.cycles.value_or(opts.duration ? std::numeric_limits<std::uint64_t>::max() : 1);
    const unsigned cores = std::max(1U, std::thread::hardware_concurrency());

    // The ring of encoded cycles: cycle 0 tells how large a cycle is, hence how many fit.
    std::vector<std::vector<std::string>> ring(1);
    auto t_build = clock_type::now();
    builder.build_next(ring[0], std::max(cores, opts.build_threads));
    std::uint64_t cycle_bytes = 0;
    for (const auto& b : ring[0]) cycle_bytes += b.size();
    const std::uint64_t depth = std::min<std::uint64_t>(
        max_cycles,
        std::clamp<std::uint64_t>(opts.prebuild_memory / std::max<std::uint64_t>(1, cycle_bytes), 2,
                                  k_max_prebuilt_cycles));
    ring.resize(depth);
    for (std::uint64_t c = 1; c < depth; ++c)
        builder.build_next(ring[c], std::max(cores, opts.build_threads));
    double build_seconds = seconds_since(t_build);

    const std::uint32_t senders = opts.concurrency;
    shared_state st;
    st.cycles_built = depth;
    st.finished.assign(senders, 0);
    std::vector<run_stats> stats(senders);
    const pacer pace(opts.rate);
    std::vector<std::uint64_t> series_in(per_cycle), samples_in(per_cycle);
    for (std::size_t r = 0; r < per_cycle; ++r) {
        series_in[r] = builder.series_in(r);
        samples_in[r] = builder.samples_in(r);
    }

    const auto start = clock_type::now();
    const auto deadline = opts.duration ? start + *opts.duration : clock_type::time_point::max();

    // Encodes cycle c into slot c % depth once every sender is done with cycle c - depth.
    std::thread build_thread([&] {
        st.guarded([&] {
            for (std::uint64_t c = depth; c < max_cycles; ++c) {
                {
                    std::unique_lock lock(st.mu);
                    st.cv.wait(lock,
                               [&] { return st.stop.load() || st.min_finished() + depth > c; });
                    if (st.stop.load()) return;
                }
                const auto t0 = clock_type::now();
                builder.build_next(ring[c % depth], opts.build_threads);
                {
                    std::lock_guard lock(st.mu);
                    build_seconds += seconds_since(t0);
                    st.cycles_built = c + 1;
                }
                st.cv.notify_all();
            }
        });
    });

    auto send = [&](std::uint32_t k) {
        run_stats& mine = stats[k];
        const auto conn = make_connection(opts, endpoints);
        const bool has_work = k < per_cycle;
        for (std::uint64_t c = 0; c < max_cycles && !st.stop.load(); ++c) {
            {
                const auto t0 = clock_type::now();
                std::unique_lock lock(st.mu);
                st.cv.wait(lock, [&] { return st.stop.load() || st.cycles_built > c; });
                if (st.stop.load()) break;
                if (c > 0 && has_work) {
                    mine.stall_ns += static_cast<std::uint64_t>(
                        std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - t0)
                            .count());
                }
            }
            // Written by the builder before cycles_built was raised under the mutex; not written
            // again until this sender reports the cycle finished.
            const std::vector<std::string>& set = ring[c % depth];
            bool out_of_time = false;
            for (std::size_t r = k; r < per_cycle; r += senders) {
                auto due = start + pace.due(pacer::request_index(c, r, per_cycle));
                if (clock_type::now() >= deadline || due >= deadline || st.stop.load()) {
                    out_of_time = true;
                    break;
                }
                if (pace.paced()) std::this_thread::sleep_until(due);
                std::uint64_t seen = st.cycles_started.load();
                while (seen < c + 1 && !st.cycles_started.compare_exchange_weak(seen, c + 1)) {
                }
                const post_outcome res = conn->post(set[r]);
                if (res.status != 0) {
                    mine.record_answer(res.status, series_in[r], samples_in[r], set[r].size(),
                                       res.latency_ns);
                } else {
                    mine.record_network_error(series_in[r], samples_in[r], res.error);
                }
            }
            if (out_of_time) {
                st.request_stop();
                break;
            }
            {
                std::lock_guard lock(st.mu);
                st.finished[k] = c + 1;
            }
            st.cv.notify_all();
        }
        mine.connections_opened = conn->connections_opened();
    };

    std::vector<std::thread> threads;
    for (std::uint32_t k = 0; k < senders; ++k) {
        threads.emplace_back([&st, &send, k] { st.guarded([&] { send(k); }); });
    }
    for (auto& t : threads) t.join();
    report.elapsed_seconds = seconds_since(start);
    st.request_stop();
    build_thread.join();
    if (st.failure) std::rethrow_exception(st.failure);

    for (const auto& s : stats) report.stats.merge(s);
    report.cycles_completed = st.min_finished();
    report.build_seconds = build_seconds;
    report.prebuilt_cycles = depth;
    // Distinct series in the cycles that were (at least partly) sent: each cycle after the first
    // brought replaced_per_cycle() new ones. The builder may have encoded cycles never sent.
    const std::uint64_t started = st.cycles_started.load();
    report.series_created =
        opts.series + builder.series().replaced_per_cycle() * (started > 0 ? started - 1 : 0);
    return report;
}

}  // namespace mg::loadgen
