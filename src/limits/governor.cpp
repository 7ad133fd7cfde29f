#include "limits/governor.h"

#include <algorithm>
#include <stdexcept>

#include "limits/governor_internal.h"
#include "logging/log.h"

namespace mg::limits {

namespace {

constexpr auto k_drop_log_interval = std::chrono::seconds(10);

std::string render_series(const series_ref& s) {
    std::string out(s.metric_name);
    out += '{';
    bool first = true;
    for (const auto& l : s.labels) {
        if (!first) out += ',';
        first = false;
        out += l.name;
        out += "=\"";
        out += l.value.substr(0, 128);
        out += '"';
    }
    out += '}';
    return out;
}

}  // namespace

std::string_view reason_name(drop_reason r) {
    switch (r) {
        case drop_reason::none:
            return "none";
        case drop_reason::cardinality_limit:
            return "cardinality_limit";
        case drop_reason::label_limit:
            return "label_limit";
        case drop_reason::max_series:
            return "max_series";
        case drop_reason::too_many_labels:
            return "too_many_labels";
        case drop_reason::label_name_too_long:
            return "label_name_too_long";
        case drop_reason::label_value_too_long:
            return "label_value_too_long";
    }
    return "unknown";
}

governor::metric_entry::label_state& governor::metric_entry::label(std::string_view name) {
    for (auto& l : labels) {
        if (l->name == name) return *l;
    }
    labels.push_back(std::make_unique<label_state>());
    labels.back()->name = std::string(name);
    return *labels.back();
}

governor::governor(governor_options options, mg::clock& clock,
                   std::shared_ptr<prometheus::Registry> registry)
    : options_(std::move(options)), clock_(clock) {
    if (auto st = options_.tracker.validate(); !st) throw std::invalid_argument(st.error_message());
    if (registry) export_ = std::make_unique<governor_metrics>(*registry);
    set_limits(std::make_shared<limits_file>());
}

governor::~governor() = default;

void governor::set_limits(std::shared_ptr<const limits_file> file) {
    auto state = std::make_shared<rules_state>();
    state->file = std::move(file);
    state->matcher = std::make_unique<rule_matcher>(state->file, clock_);
    state->generation = rules_generation_.fetch_add(1, std::memory_order_acq_rel) + 1;
    const auto add_counters = [&](std::string name, action a) {
        auto c = std::make_unique<rule_counters>();
        c->name = std::move(name);
        if (export_) {
            export_->resolve(*c,
                             options_.dry_run ? "dry_run" : (a == action::log ? "log" : "drop"));
        }
        state->counters.push_back(std::move(c));
    };
    for (const auto& r : state->file->rules) add_counters(r.name, r.on_limit);
    add_counters("default", state->file->defaults.on_limit);
    add_counters("none", action::drop);
    std::lock_guard lock(rules_mu_);
    rules_ = std::move(state);
}

std::shared_ptr<const limits_file> governor::limits() const {
    return rules_snapshot()->file;
}

std::shared_ptr<const governor::rules_state> governor::rules_snapshot() const {
    std::lock_guard lock(rules_mu_);
    return rules_;
}

std::shared_ptr<governor::metric_entry> governor::entry_for(std::string_view metric_name) {
    return metrics_.get_or_create(metric_name, [this] {
        return std::make_shared<metric_entry>(
            std::make_shared<cardinality::bloom_tracker>(options_.tracker, clock_));
    });
}

batch_summary governor::decide(std::span<const series_ref> series, std::span<decision> out) {
    if (series.empty()) return {};
    const auto rules = rules_snapshot();
    const auto now = clock_.monotonic_now();
    thread_local std::vector<pending> work;
    thread_local std::vector<std::uint64_t> hashes, limits;
    thread_local std::vector<std::size_t> index;  // position in the run of each tracker query
    thread_local std::vector<cardinality::observe_result> results;

    // Series of one metric usually come together: one entry lookup, one candidates lookup and one
    // batched tracker query (with prefetching) per run of the same metric name.
    for (std::size_t begin = 0; begin < series.size();) {
        std::size_t end = begin + 1;
        while (end < series.size() && series[end].metric_name == series[begin].metric_name) ++end;
        const auto name = series[begin].metric_name;
        const auto entry = entry_for(name);
        const auto candidates = rules->candidates_for(name);

        const std::size_t n = end - begin;
        work.assign(n, pending{});
        hashes.clear();
        limits.clear();
        index.clear();
        for (std::size_t i = 0; i < n; ++i) {
            out[begin + i] = decision{};
            if (prepare(series[begin + i], *entry, *rules, *candidates, now, out[begin + i],
                        work[i])) {
                hashes.push_back(work[i].hash);
                limits.push_back(work[i].limit);
                index.push_back(i);
            }
        }
        results.resize(hashes.size());
        if (options_.max_series == 0) {
            entry->tracker->observe_batch(hashes, limits, results, now);
            for (std::size_t q = 0; q < index.size(); ++q) {
                const auto i = index[q];
                settle(series[begin + i], *entry, *rules, now, results[q], work[i], out[begin + i]);
            }
        } else {
            // The global cap must see each admission before the next series is decided: one at a
            // time, re-reading the total for each.
            for (std::size_t q = 0; q < index.size(); ++q) {
                const auto i = index[q];
                auto& p = work[i];
                p.global_full = total_active_.load(std::memory_order_relaxed) +
                                    admitted_since_refresh_.load(std::memory_order_relaxed) >=
                                options_.max_series;
                p.limit = p.global_full ? 0 : p.rule_limit;
                const auto res = entry->tracker->observe(p.hash, p.limit, now);
                settle(series[begin + i], *entry, *rules, now, res, p, out[begin + i]);
            }
        }
        begin = end;
    }
    return tally(series, out);
}

batch_summary governor::tally(std::span<const series_ref> series, std::span<const decision> out) {
    batch_summary sum;
    for (std::size_t i = 0; i < series.size(); ++i) {
        if (out[i].keep) {
            ++sum.kept_series;
            sum.kept_datapoints += series[i].datapoints;
            if (out[i].strip_mask != 0) ++sum.stripped_series;
        } else {
            ++sum.dropped_series;
            sum.dropped_datapoints += series[i].datapoints;
        }
        if (out[i].reason != drop_reason::none) ++sum.over_limit_series;
    }
    return sum;
}

bool governor::prepare(const series_ref& s, metric_entry& entry, const rules_state& rules,
                       std::span<const std::size_t> candidates,
                       std::chrono::steady_clock::time_point now, decision& d, pending& p) {
    const rule* r = select_rule(s, entry, rules, candidates);
    p.r = r;

    // 1. Label limits: distinct values of a label per metric name.
    if (r != nullptr && !r->label_limits.empty()) {
        std::lock_guard lock(entry.labels_mu);
        for (const auto& [label_name, limit] : r->label_limits) {
            const auto at = label_position(s, label_name);
            if (at == s.labels.size()) continue;
            auto& tracker = label_tracker(entry, label_name, limit);
            const auto h = value_hash(s.labels[at].value);
            if (tracker.observe(h, limit, now) == cardinality::observe_result::over_limit)
                label_over_limit(s, r, at, tracker, h, now, d);
        }
    }
    if (!end_labels(s, entry, rules, r, now, d)) return false;
    // 2. What the metric's tracker is asked.
    metric_query(s, r, d, p);
    return true;
}

const rule* governor::select_rule(const series_ref& s, metric_entry& entry,
                                  const rules_state& rules,
                                  std::span<const std::size_t> candidates) {
    const rule* r = rules.matcher->select(candidates, s.labels);
    const auto id = rules.rule_id(r);
    if (entry.rules_generation.load(std::memory_order_relaxed) != rules.generation ||
        entry.last_rule.load(std::memory_order_relaxed) != id) {
        entry.last_rule.store(id, std::memory_order_relaxed);
        entry.rules_generation.store(rules.generation, std::memory_order_relaxed);
    }
    return r;
}

std::size_t governor::label_position(const series_ref& s, std::string_view name) {
    const auto it = std::lower_bound(
        s.labels.begin(), s.labels.end(), name,
        [](const cardinality::label_view& l, std::string_view n) { return l.name < n; });
    if (it == s.labels.end() || it->name != name) return s.labels.size();
    return static_cast<std::size_t>(it - s.labels.begin());
}

cardinality::bloom_tracker& governor::label_tracker(metric_entry& entry, std::string_view label,
                                                    std::uint64_t limit) {
    auto& ls = entry.label(label);
    if (!ls.limit_tracker) {
        auto cfg = options_.tracker;
        cfg.expected_items = std::max<std::uint64_t>(limit, 16);
        ls.limit_tracker = std::make_shared<cardinality::bloom_tracker>(cfg, clock_);
    }
    return *ls.limit_tracker;
}

void governor::label_over_limit(const series_ref& s, const rule* r, std::size_t at,
                                cardinality::bloom_tracker& tracker, std::uint64_t value,
                                std::chrono::steady_clock::time_point now, decision& d) {
    d.reason = drop_reason::label_limit;
    const bool enforce = r == nullptr || r->on_limit == action::drop;
    const bool strip =
        r != nullptr && r->label_action == label_limit_action::strip && s.labels.size() <= 64;
    if (enforce && !options_.dry_run) {
        if (strip) {
            d.strip_mask |= std::uint64_t{1} << at;
        } else {
            d.keep = false;
        }
    } else {
        tracker.insert(value, now);  // the value passes: count it
    }
}

bool governor::end_labels(const series_ref& s, metric_entry& entry, const rules_state& rules,
                          const rule* r, std::chrono::steady_clock::time_point now,
                          const decision& d) {
    if (!d.keep) {
        note_over_limit(rules, r, drop_reason::label_limit, s, true, now);
        entry.dropped_series.fetch_add(1, std::memory_order_relaxed);
        entry.dropped_datapoints.fetch_add(s.datapoints, std::memory_order_relaxed);
        return false;
    }
    if (d.reason == drop_reason::label_limit)
        note_over_limit(rules, r, drop_reason::label_limit, s, false, now);
    return true;
}

void governor::metric_query(const series_ref& s, const rule* r, const decision& d, pending& p) {
    p.r = r;
    // A stripped series is a different series: hash what is forwarded.
    if (d.strip_mask == 0) {
        p.hash =
            s.has_identity ? s.identity : cardinality::series_hash_sorted(s.metric_name, s.labels);
    } else {
        thread_local std::vector<cardinality::label_view> kept;
        kept.clear();
        for (std::size_t i = 0; i < s.labels.size(); ++i) {
            if ((d.strip_mask >> i & 1) == 0) kept.push_back(s.labels[i]);
        }
        p.hash = cardinality::series_hash_sorted(s.metric_name, kept);
    }
    p.rule_limit = r != nullptr && r->max_cardinality != 0 ? r->max_cardinality : UINT64_MAX;
    p.global_full = options_.max_series != 0 &&
                    total_active_.load(std::memory_order_relaxed) +
                            admitted_since_refresh_.load(std::memory_order_relaxed) >=
                        options_.max_series;
    p.limit = p.global_full ? 0 : p.rule_limit;
}

void governor::settle(const series_ref& s, metric_entry& entry, const rules_state& rules,
                      std::chrono::steady_clock::time_point now, cardinality::observe_result res,
                      const pending& p, decision& d) {
    auto& tracker = *entry.tracker;
    bool sketch = res == cardinality::observe_result::admitted ||
                  res == cardinality::observe_result::refreshed;
    if (res == cardinality::observe_result::over_limit) {
        const auto reason = p.global_full && tracker.count() < p.rule_limit
                                ? drop_reason::max_series
                                : drop_reason::cardinality_limit;
        // The global cap always drops; a rule's limit drops unless its action is log.
        const bool enforce = p.r == nullptr || p.r->on_limit == action::drop;
        const bool drop = !options_.dry_run && (reason == drop_reason::max_series || enforce);
        if (d.reason == drop_reason::none || drop) d.reason = reason;
        note_over_limit(rules, p.r, reason, s, drop, now);
        if (drop) {
            d.keep = false;
            d.strip_mask = 0;
            entry.dropped_series.fetch_add(1, std::memory_order_relaxed);
            entry.dropped_datapoints.fetch_add(s.datapoints, std::memory_order_relaxed);
            return;
        }
        res = tracker.insert(p.hash, now);  // passes under log or dry run: count it
        sketch = true;
    }
    if (res == cardinality::observe_result::admitted && options_.max_series != 0) {
        admitted_since_refresh_.fetch_add(1, std::memory_order_relaxed);
    }

    // 3. Per-label distinct values, for the cardinality API: fed by series that are new or seen
    // for the first time in this generation, so a known series costs nothing here.
    if (!sketch) return;
    std::lock_guard lock(entry.labels_mu);
    if (now - entry.labels_window_start >= options_.tracker.window) {
        for (auto& l : entry.labels) {
            l->previous.clear();
            l->previous.merge(l->current);
            l->current.clear();
        }
        entry.labels_window_start = now;
    }
    for (std::size_t i = 0; i < s.labels.size(); ++i) {
        if (d.strip_mask >> i & 1) continue;
        entry.label(s.labels[i].name).current.add(value_hash(s.labels[i].value));
    }
}

void governor::note_rejected(drop_reason reason, std::uint64_t series, std::uint64_t datapoints) {
    if (series == 0 || !export_) return;
    export_->count_rejected(reason, series, datapoints);
}

void governor::note_over_limit(const rules_state& rules, const rule* r, drop_reason reason,
                               const series_ref& s, bool dropped,
                               std::chrono::steady_clock::time_point now) {
    auto& c = rules.counters_for(r);
    const auto i = static_cast<std::size_t>(reason);
    if (c.over_limit[i] != nullptr) c.over_limit[i]->Increment();
    if (dropped) {
        if (c.dropped[i] != nullptr) c.dropped[i]->Increment();
        if (c.datapoints_dropped != nullptr)
            c.datapoints_dropped->Increment(static_cast<double>(s.datapoints));
    }
    // At most one log line per rule per 10 s, with the series that triggered it as a sample.
    if (!c.log.allow(now, k_drop_log_interval)) return;
    const char* what = dropped ? "series dropped over limit"
                               : (options_.dry_run ? "series over limit (dry run, not dropped)"
                                                   : "series over limit (action log, not dropped)");
    logging::warn(what, {{"rule", c.name},
                         {"reason", std::string(reason_name(reason))},
                         {"metric_name", std::string(s.metric_name)},
                         {"limit", r != nullptr ? r->max_cardinality : options_.max_series},
                         {"sample_series", render_series(s)}});
}

std::uint64_t governor::active_series() const {
    return total_active_.load(std::memory_order_relaxed) +
           admitted_since_refresh_.load(std::memory_order_relaxed);
}

std::size_t governor::trackers() const {
    return metrics_.size();
}

std::size_t governor::memory_bytes() const {
    std::size_t total = 0;
    metrics_.for_each([&](std::string_view, const std::shared_ptr<metric_entry>& e) {
        total += e->tracker->memory_bytes() + sizeof(metric_entry);
        std::lock_guard lock(e->labels_mu);
        for (const auto& l : e->labels) {
            total += sizeof(*l) + l->name.size();
            if (l->limit_tracker) total += l->limit_tracker->memory_bytes();
        }
    });
    return total;
}

void governor::for_each_tracker(const tracker_visitor& fn) const {
    // Collected first and visited with no lock held: the visitor may call back into the governor
    // (evict_tracker), and lock order stays shard -> labels_mu everywhere.
    struct item {
        std::string metric, label;
        std::shared_ptr<cardinality::bloom_tracker> tracker;
    };
    std::vector<item> items;
    metrics_.for_each([&](std::string_view name, const std::shared_ptr<metric_entry>& e) {
        items.push_back({std::string(name), {}, e->tracker});
        std::lock_guard lock(e->labels_mu);
        for (const auto& l : e->labels)
            if (l->limit_tracker) items.push_back({std::string(name), l->name, l->limit_tracker});
    });
    for (const auto& i : items) fn(i.metric, i.label, i.tracker);
}

void governor::adopt_tracker(std::string_view metric, std::string_view label,
                             std::shared_ptr<cardinality::bloom_tracker> tracker) {
    if (!tracker) return;
    if (label.empty()) {
        // The label trackers already adopted for this metric move into the new entry.
        auto fresh = std::make_shared<metric_entry>(std::move(tracker));
        if (const auto old = metrics_.find(metric)) {
            std::scoped_lock lock(old->labels_mu, fresh->labels_mu);
            fresh->labels = std::move(old->labels);
            fresh->labels_window_start = old->labels_window_start;
        }
        metrics_.put(metric, std::move(fresh));
        return;
    }
    const auto e = entry_for(metric);
    std::lock_guard lock(e->labels_mu);
    e->label(label).limit_tracker = std::move(tracker);
}

std::vector<std::string> governor::evict_tracker(std::string_view metric, std::string_view label) {
    std::vector<std::string> gone;
    const auto e = metrics_.find(metric);
    if (!e) return gone;
    if (label.empty()) {
        gone.emplace_back();
        {
            std::lock_guard lock(e->labels_mu);
            for (const auto& l : e->labels)
                if (l->limit_tracker) gone.push_back(l->name);
        }
        metrics_.erase(metric);  // not under labels_mu: the shard lock comes first elsewhere
        return gone;
    }
    std::lock_guard lock(e->labels_mu);
    for (auto& l : e->labels) {
        if (l->name == label && l->limit_tracker) {
            l->limit_tracker.reset();
            gone.emplace_back(label);
        }
    }
    return gone;
}

void governor::refresh() {
    const auto now = clock_.monotonic_now();
    std::uint64_t total = 0;
    std::vector<std::string> idle;
    // Reset first: what is admitted while we sum is counted again next time, never lost.
    admitted_since_refresh_.store(0, std::memory_order_relaxed);
    metrics_.for_each([&](std::string_view name, const std::shared_ptr<metric_entry>& e) {
        e->tracker->advance(now);
        const auto n = e->tracker->count();
        total += n;
        // A metric unseen for a whole window has no active series left: free its state.
        if (n == 0 && now - e->tracker->last_seen() >= options_.tracker.window)
            idle.emplace_back(name);
    });
    for (const auto& name : idle) metrics_.erase(name);
    total_active_.store(total, std::memory_order_relaxed);
    // Cluster mode: series admitted while the cluster did not answer reach it even when no new
    // series come to carry them.
    if (cluster_ && writeback_->pending.load(std::memory_order_relaxed)) flush_writeback();
}

metric_summary governor::summarize(std::string_view name, const metric_entry& e,
                                   const rules_state& rules) const {
    metric_summary m;
    m.name = std::string(name);
    m.active_series = e.tracker->count();
    m.dropped_series = e.dropped_series.load(std::memory_order_relaxed);
    m.dropped_datapoints = e.dropped_datapoints.load(std::memory_order_relaxed);
    m.cluster_active_series = e.cluster_active.load(std::memory_order_relaxed);
    if (e.rules_generation.load(std::memory_order_relaxed) == rules.generation) {
        if (const rule* r = rules.rule_by_id(e.last_rule.load(std::memory_order_relaxed))) {
            m.rule = r->name;
            m.limit = r->max_cardinality;
        }
    }
    return m;
}

std::vector<metric_summary> governor::top_metrics(std::size_t n) const {
    const auto rules = rules_snapshot();
    std::vector<std::pair<std::uint64_t, std::shared_ptr<metric_entry>>> all;
    std::vector<std::string> names;
    metrics_.for_each([&](std::string_view name, const std::shared_ptr<metric_entry>& e) {
        all.emplace_back(e->tracker->count(), e);
        names.emplace_back(name);
    });
    std::vector<std::size_t> order(all.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    const auto k = std::min(n, order.size());
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                      [&](std::size_t a, std::size_t b) {
                          return all[a].first != all[b].first ? all[a].first > all[b].first
                                                              : names[a] < names[b];
                      });
    std::vector<metric_summary> out;
    out.reserve(k);
    for (std::size_t i = 0; i < k; ++i)
        out.push_back(summarize(names[order[i]], *all[order[i]].second, *rules));
    return out;
}

std::optional<metric_summary> governor::metric(std::string_view name) const {
    const auto e = metrics_.find(name);
    if (!e) return std::nullopt;
    return summarize(name, *e, *rules_snapshot());
}

std::vector<label_summary> governor::label_values(std::string_view metric_name) const {
    std::vector<label_summary> out;
    const auto e = metrics_.find(metric_name);
    if (!e) return out;
    std::lock_guard lock(e->labels_mu);
    for (const auto& l : e->labels) {
        hyperloglog<8> both;
        both.merge(l->current);
        both.merge(l->previous);
        out.push_back({l->name, static_cast<std::uint64_t>(both.estimate() + 0.5)});
    }
    std::sort(out.begin(), out.end(), [](const label_summary& a, const label_summary& b) {
        return a.distinct_values != b.distinct_values ? a.distinct_values > b.distinct_values
                                                      : a.name < b.name;
    });
    return out;
}

}  // namespace mg::limits
