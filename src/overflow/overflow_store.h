// overflow_store: every overflow series of the daemon (issue 21, docs/overflow.md): the folds the
// samples of series past a limit go into, and what is emitted for them every interval.
//
// An overflow series is named by its tenant and the labels it is emitted with: the metric name,
// the labels its rule keeps (keep_labels) and the overflow label ("true"). Series of several
// rules that would be emitted with the same labels share one overflow series (two series with
// the same labels would be one series at the backend, written twice); the first rule to fold
// into it sets its aggregation, bound and interval. A counter's overflow series is cumulative
// (counter_fold) and starts at 0 when its first series is folded: its first emission is a 0 at
// the time of the first folded sample (which adds nothing), then its total. A gauge's is an
// aggregation over the folded series' latest values within the staleness window (gauge_fold).
// A native histogram's (fold_histograms) is a counter bucket by bucket (histogram_fold): its
// first emission is an empty histogram at the time of the first folded sample, then its total.
// An OTLP explicit-bounds histogram's or summary's (fold_explicit_histograms) likewise
// (explicit_histogram_fold: buckets, count and sum as counters). An overflow series holds one of
// floats, native histograms or explicit ones, as the first fold made it; samples of another form
// for it are not folded.
//
// Timestamps: an emission is stamped with the newest folded sample's timestamp (at most the
// wall time of the emission), not the wall time: the total is what the folded series said up to
// then, so rate() over the overflow series does not see the senders' and the network's delays as
// jitter. An emission's timestamp is always past the previous one's; when nothing newer was
// folded since, nothing is emitted (as a series that stopped sends nothing).
//
// Bounds: each overflow series remembers at most its rule's overflow_max_tracked folded series
// (LRU, evictions counted); the store holds at most max_series overflow series (a sample for a
// new one past that is refused and counted); an overflow series nothing was folded into for
// `idle` is forgotten after its last emission (a counter coming back starts again at 0: one
// counter reset, which rate() reads as such).
//
// Restarts: save_state/restore_state carry every overflow series and its fold over a restart
// (store_state.h; the daemon writes them beside the Bloom state at a clean stop), so a counter's
// overflow series goes on from its total. Without them (a crash, no persistence) a restart starts
// every overflow series again at 0: one counter reset.
//
// Delta counters (OTLP delta Sums): the total is kept cumulative as for any counter (what a
// remote-write backend can store); an emission also says what was added since the previous one
// (`interval_sum` from `interval_start_ms`), which an OTLP exporter sends as a delta Sum: the
// folded deltas summed per interval.
//
// Thread-safety: fold() runs on any ingest thread, collect() on the emitter's thread, the
// statistics anywhere. The store is sharded by series key, one mutex per shard, held for one
// folded series' samples or one shard's collection; only series over a limit come here. A
// request's folds are one step for collect() (request_folds, fold_gate.h).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/explicit_histogram.h"
#include "common/label_view.h"
#include "common/native_histogram.h"
#include "overflow/fold_gate.h"
#include "overflow/gauge_fold.h"
#include "overflow/store_state.h"

namespace mg::overflow {

// Cumulative by name: counters (_total) and a classic histogram's or summary's _bucket, _count
// and _sum series. Everything else is a gauge unless the sender's metadata says counter.
bool cumulative_by_name(std::string_view metric_name);

// What one overflow series is, from the rule that folds into it.
struct fold_target {
    std::string_view tenant;  // "" = the default tenant
    std::string_view metric_name;
    // The kept labels, sorted by name, without the overflow label; plus the overflow label.
    std::span<const label_view> kept_labels;
    std::string_view overflow_label;
    fold_kind kind = fold_kind::counter;
    // The samples are increases, not a counter's values (OTLP delta Sums, delta exponential
    // histograms): a counter or histogram adds them as they are (a gauge ignores them).
    bool delta = false;
    gauge_aggregation aggregation = gauge_aggregation::sum;
    // Read from an OTLP request. The emitter sends a histogram overflow series folded from OTLP
    // (exponential, explicit bounds, summary) as OTLP, so that a remote-write exporter converts
    // it as it converts the senders' own (native histograms only where the operator enabled
    // them; _bucket, _count and _sum series).
    bool from_otlp = false;
    // The OTLP Metric.unit of the folded series (from_otlp): the overflow series carries it, so
    // that a remote-write exporter's conversion gives it the same unit suffix (`_seconds`) as
    // the series it stands for.
    std::string_view unit;
    std::size_t max_tracked = 100000;
    std::chrono::milliseconds interval{0};  // 0: the store's default
};

struct fold_sample {
    double value = 0;
    std::int64_t timestamp_ms = 0;
};

// One emission of one overflow series: one or two samples (a new counter's 0, then its value),
// timestamps increasing; a histogram overflow series' in `histograms` (an empty histogram first,
// then its total; reset hints unknown), `samples` empty.
struct emitted_series {
    std::string tenant;
    std::string metric_name;
    std::vector<std::pair<std::string, std::string>> labels;  // sorted, overflow label included
    fold_kind kind = fold_kind::counter;
    std::vector<fold_sample> samples;
    // A counter of OTLP delta Sums: what was folded since the previous emission, from its time
    // (the first folded sample's for the first emission) to the last sample's; INT64_MIN when
    // this emission is only the new counter's 0 (no interval to say anything of).
    bool delta = false;
    double interval_sum = 0;
    std::int64_t interval_start_ms = INT64_MIN;
    std::vector<histogram_sample> histograms;
    // An explicit_histogram or summary overflow series': the same, zero counts first.
    std::vector<explicit_histogram_sample> explicit_histograms;
    bool from_otlp = false;  // the fold_target's of the first fold
    std::string unit;        // the same
};

struct store_options {
    std::chrono::milliseconds default_interval{15000};  // -overflow-interval
    std::chrono::milliseconds staleness{300000};        // a gauge's lookback, as PromQL's 5m
    std::chrono::milliseconds idle{600000};  // forget an overflow series unused this long
    std::size_t max_series = 100000;         // overflow series in the store
};

struct store_stats {
    std::uint64_t series_folded = 0;    // folded series seen (one per series per request)
    std::uint64_t samples_folded = 0;   // their samples that went into a fold
    std::uint64_t samples_refused = 0;  // samples for a new overflow series past max_series
    std::uint64_t emitted = 0;          // emissions the exporter took (one per series and interval)
    std::uint64_t emit_refused = 0;     // emissions the exporter did not take
    std::uint64_t evictions = 0;        // folded series pushed out by overflow_max_tracked
    std::uint64_t tracked = 0;          // folded series remembered now, over every fold
    std::uint64_t overflow_series = 0;  // overflow series held now
    std::uint64_t restored = 0;         // overflow series taken back from the previous run
    std::uint64_t state_refused = 0;    // saved states that could not be taken back
};

class overflow_store {
  public:
    explicit overflow_store(store_options options);
    ~overflow_store();
    overflow_store(const overflow_store&) = delete;
    overflow_store& operator=(const overflow_store&) = delete;

    // Folds the samples of one series (identity `series`) into its overflow series, made on the
    // first sample. `now_ms` is the wall time (the new counter's 0 is written at it). Returns
    // false when the overflow series would be new and the store is full, or is a histogram
    // overflow series (the samples are lost).
    bool fold(const fold_target& target, std::uint64_t series, std::span<const fold_sample> samples,
              std::int64_t now_ms);

    // The same for the native histogram samples of one series, into a histogram overflow series
    // (target.kind is taken as histogram). Returns how many were folded; the others are lost: the
    // store full, an overflow series of floats under these labels, a schema outside -4..8.
    std::size_t fold_histograms(const fold_target& target, std::uint64_t series,
                                std::span<const histogram_sample> samples, std::int64_t now_ms);

    // The same for OTLP Histogram (target.kind explicit_histogram) or Summary (summary) points.
    // Returns how many were folded; the others are lost: the store full, an overflow series of
    // another form under these labels, bounds other than the overflow series'.
    std::size_t fold_explicit_histograms(const fold_target& target, std::uint64_t series,
                                         std::span<const explicit_histogram_sample> samples,
                                         std::int64_t now_ms);

    // Held by the caller around one request's folds (fold, fold_histograms,
    // fold_explicit_histograms): collect() takes its snapshot between requests, never within one,
    // so an emission stamped with a request's sample time holds all of that request's increases
    // (fold_gate.h). Folding without one is allowed (tests, one series at a time).
    class request_folds {
      public:
        explicit request_folds(overflow_store& store) : gate_(store.gate_) { gate_.enter(); }
        ~request_folds() { gate_.leave(); }
        request_folds(const request_folds&) = delete;
        request_folds& operator=(const request_folds&) = delete;

      private:
        fold_gate& gate_;
    };

    // Calls `out` for every overflow series due at `now_ms` (wall time; its interval since its
    // last emission has passed) with something new to say; forgets idle ones. `out` runs with
    // no lock of the store held. Returns the emissions made.
    // `all`: every overflow series with something new, due or not (the last pass at shutdown).
    std::size_t collect(std::int64_t now_ms, const std::function<void(emitted_series&&)>& out,
                        bool all = false);

    const store_options& options() const { return options_; }

    // Every overflow series and its fold, for a restart (store_state.h). Call it when nothing
    // folds any more (after the last collect at shutdown); it locks each shard in turn.
    std::vector<series_state> save_state() const;
    // Takes back what save_state gave (another process's, before this one folds anything): each
    // overflow series is made again with its fold and is due after its interval; one already in
    // the store, or past max_series, is left out. Returns the overflow series restored.
    std::size_t restore_state(std::vector<series_state> saved, std::int64_t now_ms);

    store_stats stats() const;
    // The emitter's counts, for the metrics: emissions the exporter took, and did not take. Not
    // counted by collect(): an emission can also say nothing in the backend's protocol (a delta
    // Sum's first 0 to an OTLP backend) and is then neither, and a counter must never go down,
    // as "collected minus refused" did between the two increments.
    void count_emitted(std::uint64_t n) { emitted_.fetch_add(n, std::memory_order_relaxed); }
    void count_refused(std::uint64_t n) { emit_refused_.fetch_add(n, std::memory_order_relaxed); }
    // A saved state that could not be read (each of its counters starts again at 0).
    void count_state_refused() { state_refused_.fetch_add(1, std::memory_order_relaxed); }

  private:
    struct entry;
    struct shard {
        mutable std::mutex mu;
        std::unordered_map<std::string, std::unique_ptr<entry>> series;
    };
    static constexpr std::size_t k_shards = 16;
    static void key_of(const fold_target& t, std::string& out);
    // collect()'s part for one shard: the emissions due into `due`; idle series forgotten.
    void collect_shard(shard& sh, std::int64_t now_ms, bool all, std::vector<emitted_series>& due);
    // A histogram overflow series' emission into `em`, as a counter's (collect()).
    static void collect_histogram(entry& e, std::int64_t ts, std::int64_t now_ms,
                                  emitted_series& em);
    static void collect_explicit_histogram(entry& e, std::int64_t ts, std::int64_t now_ms,
                                           emitted_series& em);
    // The overflow series of `target` (made when new), its shard locked by `lock`; null when
    // the store is full (`samples` counted refused).
    entry* find_or_make(const fold_target& target, std::size_t samples, std::int64_t now_ms,
                        std::unique_lock<std::mutex>& lock);
    // What every fold shares around its samples: the first foldable sample's time (a counter's
    // 0 is stamped with it), the newest folded (an emission's stamp), the last fold's wall time
    // (for `idle`) and the store's counts. `add` folds one sample and says whether it went in.
    // Returns the samples that went in. The shard's lock is held.
    template <typename Sample, typename Foldable, typename Add>
    std::size_t fold_into(entry& e, std::span<const Sample> samples, std::int64_t now_ms,
                          const Foldable& foldable, const Add& add);

    store_options options_;
    shard& shard_of(std::string_view key);

    std::array<shard, k_shards> shards_;
    fold_gate gate_;  // requests' folds against collect()'s snapshot
    std::atomic<std::size_t> size_{0};
    std::atomic<std::uint64_t> series_folded_{0};
    std::atomic<std::uint64_t> samples_folded_{0};
    std::atomic<std::uint64_t> samples_refused_{0};
    std::atomic<std::uint64_t> emitted_{0};
    std::atomic<std::uint64_t> emit_refused_{0};
    std::atomic<std::uint64_t> evictions_{0};
    std::atomic<std::int64_t> tracked_{0};
    std::atomic<std::uint64_t> restored_{0};
    std::atomic<std::uint64_t> state_refused_{0};
};

}  // namespace mg::overflow
