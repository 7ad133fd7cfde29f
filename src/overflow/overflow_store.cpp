// The overflow series and their emission (see overflow_store.h).
#include "overflow/overflow_store.h"

#include <algorithm>
#include <optional>

#include "overflow/counter_fold.h"
#include "overflow/explicit_histogram_fold.h"
#include "overflow/histogram_fold.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace mg::overflow {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

void append_part(std::string& out, std::string_view part) {
    // Length-prefixed, so no two keys are equal whatever bytes the parts hold.
    out += std::to_string(part.size());
    out += ':';
    out += part;
}

}  // namespace

bool cumulative_by_name(std::string_view name) {
    return ends_with(name, "_total") || ends_with(name, "_bucket") || ends_with(name, "_count") ||
           ends_with(name, "_sum");
}

struct overflow_store::entry {
    entry(const fold_target& t, const store_options& o, std::int64_t now_ms)
        : tenant(t.tenant),
          metric_name(t.metric_name),
          kind(t.kind),
          delta(t.kind == fold_kind::counter && t.delta),
          from_otlp(t.from_otlp),
          unit(t.unit),
          interval_ms((t.interval.count() > 0 ? t.interval : o.default_interval).count()),
          last_fold_ms(now_ms),
          next_emit_ms(now_ms + interval_ms) {
        for (const auto& l : t.kept_labels) labels.emplace_back(l.name, l.value);
        labels.emplace_back(t.overflow_label, "true");
        std::sort(labels.begin(), labels.end());
        if (kind == fold_kind::counter) {
            counter.emplace(t.max_tracked);
        } else if (kind == fold_kind::histogram) {
            histogram.emplace(t.max_tracked);
        } else if (kind == fold_kind::explicit_histogram || kind == fold_kind::summary) {
            explicit_hist.emplace(t.max_tracked);
        } else {
            gauge.emplace(t.aggregation, o.staleness.count(), t.max_tracked);
        }
    }

    std::size_t tracked() const {
        if (histogram) return histogram->tracked();
        if (explicit_hist) return explicit_hist->tracked();
        return counter ? counter->tracked() : gauge->tracked();
    }
    std::uint64_t evictions() const {
        if (histogram) return histogram->evictions();
        if (explicit_hist) return explicit_hist->evictions();
        return counter ? counter->evictions() : gauge->evictions();
    }

    std::string tenant;
    std::string metric_name;
    std::vector<std::pair<std::string, std::string>> labels;
    fold_kind kind;
    bool delta;
    bool from_otlp;
    std::string unit;
    std::int64_t interval_ms;
    std::int64_t last_fold_ms;  // wall time of the last fold, for `idle`
    // Sample time: the earliest sample of the first fold (a counter's 0 is stamped with it: the
    // first samples add nothing) and the newest sample folded (what an emission is stamped with).
    std::int64_t first_ts = INT64_MIN;
    std::int64_t newest_ts = INT64_MIN;
    std::int64_t next_emit_ms;
    std::int64_t last_emit_ms = INT64_MIN;
    bool zero_emitted = false;  // a counter's first emission is its 0 at first_ts
    double emitted_total = 0;   // a delta counter's total at its last emission
    std::optional<counter_fold> counter;
    std::optional<gauge_fold> gauge;
    std::optional<histogram_fold> histogram;
    std::optional<explicit_histogram_fold> explicit_hist;
};

// An explicit-bounds histogram or summary overflow series' emission: zero counts (the total's
// bounds) at the first folded sample's time once, then its total.
void overflow_store::collect_explicit_histogram(entry& e, std::int64_t ts, std::int64_t now_ms,
                                                emitted_series& em) {
    const auto& total = e.explicit_hist->total();
    if (!e.zero_emitted && e.first_ts <= now_ms) {
        explicit_histogram_sample zero;
        zero.histogram.bounds = total.bounds;
        zero.histogram.bucket_counts.assign(total.bucket_counts.size(), 0.0);
        zero.timestamp_ms = e.first_ts;
        em.explicit_histograms.push_back(std::move(zero));
        e.zero_emitted = true;
        e.last_emit_ms = e.first_ts;
    }
    if (ts > e.last_emit_ms) em.explicit_histograms.push_back({total, ts});
}

// A histogram overflow series' emission, as a counter's: its empty histogram at the first
// folded sample's time once, then its total when something newer was folded.
void overflow_store::collect_histogram(entry& e, std::int64_t ts, std::int64_t now_ms,
                                       emitted_series& em) {
    const auto& total = e.histogram->total();
    if (!e.zero_emitted && e.first_ts <= now_ms) {
        histogram_sample zero;
        zero.histogram.schema = total.schema;
        zero.histogram.zero_threshold = total.zero_threshold;
        zero.timestamp_ms = e.first_ts;
        em.histograms.push_back(std::move(zero));
        e.zero_emitted = true;
        e.last_emit_ms = e.first_ts;
    }
    if (ts > e.last_emit_ms) {
        histogram_sample now;
        now.histogram = total;
        now.timestamp_ms = ts;
        em.histograms.push_back(std::move(now));
    }
}

overflow_store::overflow_store(store_options options) : options_(options) {}

overflow_store::~overflow_store() = default;

overflow_store::shard& overflow_store::shard_of(std::string_view key) {
    return shards_[XXH3_64bits(key.data(), key.size()) % k_shards];
}

void overflow_store::key_of(const fold_target& t, std::string& out) {
    out.clear();
    append_part(out, t.tenant);
    append_part(out, t.metric_name);
    append_part(out, t.overflow_label);
    for (const auto& l : t.kept_labels) {
        append_part(out, l.name);
        append_part(out, l.value);
    }
}

bool overflow_store::fold(const fold_target& target, std::uint64_t series,
                          std::span<const fold_sample> samples, std::int64_t now_ms) {
    std::unique_lock<std::mutex> lock;
    entry* found = find_or_make(target, samples.size(), now_ms, lock);
    // Past max_series, or floats under the labels of a histogram overflow series: not folded.
    if (found == nullptr || found->histogram || found->explicit_hist) return false;
    auto& e = *found;
    const auto all = [](const fold_sample&) { return true; };
    fold_into(e, samples, now_ms, all, [&](const fold_sample& s) {
        if (e.counter) {
            if (target.delta) {
                e.counter->add_delta(s.value);
            } else {
                e.counter->add(series, s.value);
            }
        } else if (!target.delta) {
            e.gauge->add(series, s.value, s.timestamp_ms);
        }
        return true;  // a sample a fold ignores (NaN, a gauge's delta) still counts as folded
    });
    return true;
}

template <typename Sample, typename Foldable, typename Add>
std::size_t overflow_store::fold_into(entry& e, std::span<const Sample> samples,
                                      std::int64_t now_ms, const Foldable& foldable,
                                      const Add& add) {
    const auto tracked_before = static_cast<std::int64_t>(e.tracked());
    const auto evictions_before = e.evictions();
    if (e.first_ts == INT64_MIN) {
        for (const auto& s : samples) {
            if (!foldable(s)) continue;
            e.first_ts =
                e.first_ts == INT64_MIN ? s.timestamp_ms : std::min(e.first_ts, s.timestamp_ms);
        }
    }
    std::size_t folded = 0;
    for (const auto& s : samples) {
        if (!add(s)) continue;
        ++folded;
        e.newest_ts = std::max(e.newest_ts, s.timestamp_ms);
    }
    e.last_fold_ms = std::max(e.last_fold_ms, now_ms);
    tracked_.fetch_add(static_cast<std::int64_t>(e.tracked()) - tracked_before,
                       std::memory_order_relaxed);
    evictions_.fetch_add(e.evictions() - evictions_before, std::memory_order_relaxed);
    series_folded_.fetch_add(1, std::memory_order_relaxed);
    samples_folded_.fetch_add(folded, std::memory_order_relaxed);
    return folded;
}

overflow_store::entry* overflow_store::find_or_make(const fold_target& target, std::size_t samples,
                                                    std::int64_t now_ms,
                                                    std::unique_lock<std::mutex>& lock) {
    thread_local std::string key;
    key_of(target, key);
    auto& sh = shard_of(key);
    lock = std::unique_lock(sh.mu);
    auto it = sh.series.find(key);
    if (it == sh.series.end()) {
        if (size_.load(std::memory_order_relaxed) >= options_.max_series) {
            samples_refused_.fetch_add(samples, std::memory_order_relaxed);
            return nullptr;
        }
        size_.fetch_add(1, std::memory_order_relaxed);
        it = sh.series.emplace(key, std::make_unique<entry>(target, options_, now_ms)).first;
    } else if (it->second->unit.empty() && !target.unit.empty()) {
        // Taken back from a state file of before units (version 1): the first fold that has the
        // unit gives it, and the overflow series its suffixed name from then on.
        it->second->unit = target.unit;
    }
    return it->second.get();
}

std::size_t overflow_store::fold_histograms(const fold_target& target, std::uint64_t series,
                                            std::span<const histogram_sample> samples,
                                            std::int64_t now_ms) {
    // Nothing foldable (custom buckets): no overflow series made for it, none emitted.
    const auto foldable = [](const histogram_sample& s) {
        return foldable_schema(s.histogram.schema);
    };
    if (std::none_of(samples.begin(), samples.end(), foldable)) return 0;
    fold_target t = target;
    t.kind = fold_kind::histogram;
    std::unique_lock<std::mutex> lock;
    entry* found = find_or_make(t, samples.size(), now_ms, lock);
    if (found == nullptr || !found->histogram) return 0;
    auto& h = *found->histogram;
    return fold_into(*found, samples, now_ms, foldable, [&](const histogram_sample& s) {
        return target.delta ? h.add_delta(s.histogram)
                            : h.add(series, s.histogram, s.hint == histogram_reset_hint::yes);
    });
}

std::size_t overflow_store::fold_explicit_histograms(
    const fold_target& target, std::uint64_t series,
    std::span<const explicit_histogram_sample> samples, std::int64_t now_ms) {
    if (samples.empty()) return 0;
    std::unique_lock<std::mutex> lock;
    entry* found = find_or_make(target, samples.size(), now_ms, lock);
    if (found == nullptr || !found->explicit_hist || found->kind != target.kind) return 0;
    auto& h = *found->explicit_hist;
    const auto all = [](const explicit_histogram_sample&) { return true; };
    return fold_into(*found, samples, now_ms, all, [&](const explicit_histogram_sample& s) {
        return target.delta ? h.add_delta(s.histogram) : h.add(series, s.histogram);
    });
}

void overflow_store::collect_shard(shard& sh, std::int64_t now_ms, bool all,
                                   std::vector<emitted_series>& due) {
    std::lock_guard lock(sh.mu);
    for (auto it = sh.series.begin(); it != sh.series.end();) {
        auto& e = *it->second;
        if (now_ms < e.next_emit_ms && !all) {
            ++it;
            continue;
        }
        emitted_series em;
        em.kind = e.kind;
        em.from_otlp = e.from_otlp;
        em.unit = e.unit;
        // Stamped with the newest folded sample's time (never past now): the value is
        // what the folded series said up to then. Nothing new folded: nothing emitted,
        // as a series that stopped sends nothing.
        const auto ts = std::min(e.newest_ts, now_ms);
        if (e.histogram) {
            collect_histogram(e, ts, now_ms, em);
        } else if (e.explicit_hist) {
            collect_explicit_histogram(e, ts, now_ms, em);
        } else if (e.counter) {
            if (!e.zero_emitted && e.first_ts <= now_ms) {
                em.samples.push_back({0, e.first_ts});
                e.zero_emitted = true;
                e.last_emit_ms = e.first_ts;
            }
            em.delta = e.delta;
            if (ts > e.last_emit_ms) {
                em.samples.push_back({e.counter->total(), ts});
                if (e.delta) {
                    em.interval_sum = e.counter->total() - e.emitted_total;
                    // From the previous emission (the 0 at first_ts for the first).
                    em.interval_start_ms =
                        e.last_emit_ms != INT64_MIN ? e.last_emit_ms : e.first_ts;
                    e.emitted_total = e.counter->total();
                }
            }
        } else if (ts > e.last_emit_ms) {
            if (auto v = e.gauge->value(now_ms)) em.samples.push_back({*v, ts});
        }
        e.next_emit_ms = now_ms + e.interval_ms;
        if (!em.samples.empty() || !em.histograms.empty() || !em.explicit_histograms.empty()) {
            e.last_emit_ms = !em.histograms.empty() ? em.histograms.back().timestamp_ms
                             : !em.explicit_histograms.empty()
                                 ? em.explicit_histograms.back().timestamp_ms
                                 : em.samples.back().timestamp_ms;
            em.tenant = e.tenant;
            em.metric_name = e.metric_name;
            em.labels = e.labels;
            due.push_back(std::move(em));
        }
        if (now_ms - e.last_fold_ms >= options_.idle.count()) {
            tracked_.fetch_sub(static_cast<std::int64_t>(e.tracked()), std::memory_order_relaxed);
            size_.fetch_sub(1, std::memory_order_relaxed);
            it = sh.series.erase(it);
        } else {
            ++it;
        }
    }
}

std::size_t overflow_store::collect(std::int64_t now_ms,
                                    const std::function<void(emitted_series&&)>& out, bool all) {
    // The snapshot of every shard at one moment between requests (the gate closed), then the
    // emissions with nothing held.
    std::vector<emitted_series> due;
    {
        gate_.close();
        struct reopen {
            fold_gate& g;
            ~reopen() { g.open(); }
        } const reopen_gate{gate_};
        for (auto& sh : shards_) collect_shard(sh, now_ms, all, due);
    }
    for (auto& em : due) out(std::move(em));
    return due.size();
}

std::vector<series_state> overflow_store::save_state() const {
    std::vector<series_state> out;
    for (const auto& sh : shards_) {
        std::lock_guard lock(sh.mu);
        for (const auto& [key, p] : sh.series) {
            const auto& e = *p;
            series_state st;
            st.key = key;
            st.tenant = e.tenant;
            st.metric_name = e.metric_name;
            st.labels = e.labels;
            st.kind = e.kind;
            st.delta = e.delta;
            st.interval_ms = e.interval_ms;
            st.last_fold_ms = e.last_fold_ms;
            st.first_ts = e.first_ts;
            st.newest_ts = e.newest_ts;
            st.last_emit_ms = e.last_emit_ms;
            st.zero_emitted = e.zero_emitted;
            st.emitted_total = e.emitted_total;
            st.from_otlp = e.from_otlp;
            st.unit = e.unit;
            if (e.histogram) {
                st.max_tracked = e.histogram->capacity();
                st.histogram_total = e.histogram->total();
                st.histogram_has_layout = e.histogram->has_layout();
                e.histogram->for_each_tracked([&](std::uint64_t s, const native_histogram& h) {
                    st.histogram_last.emplace_back(s, h);
                });
            } else if (e.explicit_hist) {
                st.max_tracked = e.explicit_hist->capacity();
                st.explicit_total = e.explicit_hist->total();
                st.explicit_has_bounds = e.explicit_hist->has_layout();
                e.explicit_hist->for_each_tracked(
                    [&](std::uint64_t s, const explicit_histogram& h) {
                        st.explicit_last.emplace_back(s, h);
                    });
            } else if (e.counter) {
                st.max_tracked = e.counter->capacity();
                st.total = e.counter->total();
                e.counter->for_each_tracked(
                    [&](std::uint64_t s, double v) { st.counter_last.emplace_back(s, v); });
            } else {
                st.max_tracked = e.gauge->capacity();
                st.aggregation = e.gauge->aggregation();
                st.gauge_last_series = e.gauge->last_series();
                e.gauge->for_each_tracked([&](std::uint64_t s, const gauge_fold::sample& v) {
                    st.gauge_latest.emplace_back(s, v);
                });
            }
            out.push_back(std::move(st));
        }
    }
    return out;
}

std::size_t overflow_store::restore_state(std::vector<series_state> saved, std::int64_t now_ms) {
    std::size_t restored = 0;
    for (auto& st : saved) {
        auto& sh = shard_of(st.key);
        std::lock_guard lock(sh.mu);
        if (sh.series.count(st.key) != 0 ||
            size_.load(std::memory_order_relaxed) >= options_.max_series)
            continue;
        fold_target t;
        t.tenant = st.tenant;
        t.metric_name = st.metric_name;
        t.kind = st.kind;
        t.delta = st.delta;
        t.aggregation = st.aggregation;
        t.max_tracked = static_cast<std::size_t>(st.max_tracked);
        t.interval = std::chrono::milliseconds(st.interval_ms);
        t.from_otlp = st.from_otlp;
        t.unit = st.unit;
        auto e = std::make_unique<entry>(t, options_, now_ms);
        e->labels = std::move(st.labels);
        e->last_fold_ms = st.last_fold_ms;
        e->first_ts = st.first_ts;
        e->newest_ts = st.newest_ts;
        e->last_emit_ms = st.last_emit_ms;
        e->zero_emitted = st.zero_emitted;
        e->emitted_total = st.emitted_total;
        if (e->histogram) {
            e->histogram->restore(std::move(st.histogram_total), st.histogram_has_layout,
                                  std::move(st.histogram_last));
        } else if (e->explicit_hist) {
            e->explicit_hist->restore(std::move(st.explicit_total), st.explicit_has_bounds,
                                      std::move(st.explicit_last));
        } else if (e->counter) {
            e->counter->restore(st.total, std::move(st.counter_last));
        } else {
            e->gauge->restore(std::move(st.gauge_latest), st.gauge_last_series);
        }
        tracked_.fetch_add(static_cast<std::int64_t>(e->tracked()), std::memory_order_relaxed);
        size_.fetch_add(1, std::memory_order_relaxed);
        sh.series.emplace(std::move(st.key), std::move(e));
        ++restored;
    }
    restored_.fetch_add(restored, std::memory_order_relaxed);
    return restored;
}

store_stats overflow_store::stats() const {
    store_stats s;
    s.series_folded = series_folded_.load(std::memory_order_relaxed);
    s.samples_folded = samples_folded_.load(std::memory_order_relaxed);
    s.samples_refused = samples_refused_.load(std::memory_order_relaxed);
    s.emitted = emitted_.load(std::memory_order_relaxed);
    s.emit_refused = emit_refused_.load(std::memory_order_relaxed);
    s.evictions = evictions_.load(std::memory_order_relaxed);
    s.tracked = static_cast<std::uint64_t>(std::max<std::int64_t>(0, tracked_.load()));
    s.overflow_series = size_.load(std::memory_order_relaxed);
    s.restored = restored_.load(std::memory_order_relaxed);
    s.state_refused = state_refused_.load(std::memory_order_relaxed);
    return s;
}

}  // namespace mg::overflow
