// The overflow series and their emission (see overflow_store.h).
#include "overflow/overflow_store.h"

#include <algorithm>
#include <optional>

#include "overflow/counter_fold.h"

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
          interval_ms((t.interval.count() > 0 ? t.interval : o.default_interval).count()),
          last_fold_ms(now_ms),
          next_emit_ms(now_ms + interval_ms) {
        for (const auto& l : t.kept_labels) labels.emplace_back(l.name, l.value);
        labels.emplace_back(t.overflow_label, "true");
        std::sort(labels.begin(), labels.end());
        if (kind == fold_kind::counter) {
            counter.emplace(t.max_tracked);
        } else {
            gauge.emplace(t.aggregation, o.staleness.count(), t.max_tracked);
        }
    }

    std::size_t tracked() const { return counter ? counter->tracked() : gauge->tracked(); }
    std::uint64_t evictions() const { return counter ? counter->evictions() : gauge->evictions(); }

    std::string tenant;
    std::string metric_name;
    std::vector<std::pair<std::string, std::string>> labels;
    fold_kind kind;
    bool delta;
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
};

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
    thread_local std::string key;
    key_of(target, key);
    auto& sh = shard_of(key);
    std::lock_guard lock(sh.mu);
    auto it = sh.series.find(key);
    if (it == sh.series.end()) {
        if (size_.load(std::memory_order_relaxed) >= options_.max_series) {
            samples_refused_.fetch_add(samples.size(), std::memory_order_relaxed);
            return false;
        }
        size_.fetch_add(1, std::memory_order_relaxed);
        it = sh.series.emplace(key, std::make_unique<entry>(target, options_, now_ms)).first;
    }
    auto& e = *it->second;
    const auto tracked_before = static_cast<std::int64_t>(e.tracked());
    const auto evictions_before = e.evictions();
    if (e.first_ts == INT64_MIN && !samples.empty()) {
        e.first_ts = INT64_MAX;
        for (const auto& s : samples) e.first_ts = std::min(e.first_ts, s.timestamp_ms);
    }
    for (const auto& s : samples) {
        e.newest_ts = std::max(e.newest_ts, s.timestamp_ms);
        if (e.counter) {
            if (target.delta) {
                e.counter->add_delta(s.value);
            } else {
                e.counter->add(series, s.value);
            }
        } else if (!target.delta) {
            e.gauge->add(series, s.value, s.timestamp_ms);
        }
    }
    e.last_fold_ms = std::max(e.last_fold_ms, now_ms);
    tracked_.fetch_add(static_cast<std::int64_t>(e.tracked()) - tracked_before,
                       std::memory_order_relaxed);
    evictions_.fetch_add(e.evictions() - evictions_before, std::memory_order_relaxed);
    series_folded_.fetch_add(1, std::memory_order_relaxed);
    samples_folded_.fetch_add(samples.size(), std::memory_order_relaxed);
    return true;
}

std::size_t overflow_store::collect(std::int64_t now_ms,
                                    const std::function<void(emitted_series&&)>& out, bool all) {
    std::vector<emitted_series> due;
    std::size_t made = 0;
    for (auto& sh : shards_) {
        due.clear();
        {
            std::lock_guard lock(sh.mu);
            for (auto it = sh.series.begin(); it != sh.series.end();) {
                auto& e = *it->second;
                if (now_ms < e.next_emit_ms && !all) {
                    ++it;
                    continue;
                }
                emitted_series em;
                em.kind = e.kind;
                // Stamped with the newest folded sample's time (never past now): the value is
                // what the folded series said up to then. Nothing new folded: nothing emitted,
                // as a series that stopped sends nothing.
                const auto ts = std::min(e.newest_ts, now_ms);
                if (e.counter) {
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
                if (!em.samples.empty()) {
                    e.last_emit_ms = em.samples.back().timestamp_ms;
                    em.tenant = e.tenant;
                    em.metric_name = e.metric_name;
                    em.labels = e.labels;
                    due.push_back(std::move(em));
                }
                if (now_ms - e.last_fold_ms >= options_.idle.count()) {
                    tracked_.fetch_sub(static_cast<std::int64_t>(e.tracked()),
                                       std::memory_order_relaxed);
                    size_.fetch_sub(1, std::memory_order_relaxed);
                    it = sh.series.erase(it);
                } else {
                    ++it;
                }
            }
        }
        for (auto& em : due) {
            emitted_.fetch_add(1, std::memory_order_relaxed);
            ++made;
            out(std::move(em));
        }
    }
    return made;
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
            if (e.counter) {
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
        auto e = std::make_unique<entry>(t, options_, now_ms);
        e->labels = std::move(st.labels);
        e->last_fold_ms = st.last_fold_ms;
        e->first_ts = st.first_ts;
        e->newest_ts = st.newest_ts;
        e->last_emit_ms = st.last_emit_ms;
        e->zero_emitted = st.zero_emitted;
        e->emitted_total = st.emitted_total;
        if (e->counter) {
            e->counter->restore(st.total, st.counter_last);
        } else {
            e->gauge->restore(st.gauge_latest, st.gauge_last_series);
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
