#include "limits/governor.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <unordered_map>

#include "limits/governor_internal.h"
#include "logging/log.h"

namespace mg::limits {

namespace {

constexpr auto k_drop_log_interval = std::chrono::seconds(10);
// A tenant with room for this many runs of the current one is decided in batches (far_from_cap).
constexpr std::uint64_t k_cap_batch_margin = 16;

// The series of one request usually view one tenant string: equal views need no memcmp.
bool same_tenant(std::string_view a, std::string_view b) {
    return a.size() == b.size() && (a.data() == b.data() || a == b);
}

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
        case drop_reason::tenant_max_series:
            return "tenant_max_series";
    }
    return "unknown";
}

void tenant_metric_key(std::string_view tenant, std::string_view metric, std::string& out) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, tenant.size());
    out.assign(digits, end);
    out += ':';
    out += tenant;
    out += metric;
}

bool split_tenant_metric_key(std::string_view key, std::string_view& tenant,
                             std::string_view& metric) {
    const auto colon = key.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    std::size_t n = 0;
    const auto [p, ec] = std::from_chars(key.data(), key.data() + colon, n);
    if (ec != std::errc() || p != key.data() + colon || n > key.size() - colon - 1) return false;
    tenant = key.substr(colon + 1, n);
    metric = key.substr(colon + 1 + n);
    return true;
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
    default_tenant_ = std::make_unique<tenant_state>(std::string());
    labels_ = std::make_unique<tenant_labels>();
    labels_->max = options_.max_tenants_in_metrics;
    if (registry) export_ = std::make_unique<governor_metrics>(*registry);
    set_limits(std::make_shared<limits_file>());
}

governor::~governor() = default;

std::unique_ptr<governor::rules_state> governor::compile_rules(
    std::shared_ptr<const limits_file> file, std::uint64_t generation, bool tenant_caps) {
    auto state = std::make_unique<rules_state>();
    state->file = std::move(file);
    state->matcher = std::make_unique<rule_matcher>(state->file, clock_);
    state->generation = generation;
    const auto add_counters = [&](std::string name, action a) {
        auto c = std::make_unique<rule_counters>();
        c->name = std::move(name);
        if (export_) {
            export_->resolve(*c, options_.dry_run ? "dry_run" : to_string(a), tenant_caps);
        }
        state->counters.push_back(std::move(c));
    };
    for (const auto& r : state->file->rules) add_counters(r.name, r.on_limit);
    add_counters("default", state->file->defaults.on_limit);
    add_counters("none", action::drop);
    return state;
}

void governor::set_limits(std::shared_ptr<const limits_file> file) {
    const auto generation = rules_generation_.fetch_add(1, std::memory_order_acq_rel) + 1;
    bool tenant_caps = file->has_tenant_defaults && file->tenant_defaults.max_series != 0;
    for (const auto& [name, t] : file->tenants) tenant_caps = tenant_caps || t.max_series != 0;
    std::shared_ptr<rules_state> state = compile_rules(file, generation, tenant_caps);
    state->tenant_caps = tenant_caps;
    // A tenant's own defaults and rules replace the top level's; what it leaves out falls back.
    const auto rules_for = [&](const tenant_limits& t) -> const rules_state* {
        if (!t.has_defaults && !t.has_rules) return state.get();
        auto own = std::make_shared<limits_file>();
        own->source = file->source;
        own->has_defaults = t.has_defaults || file->has_defaults;
        own->defaults = t.has_defaults ? t.defaults : file->defaults;
        own->rules = t.has_rules ? t.rules : file->rules;
        state->children.push_back(compile_rules(std::move(own), generation, tenant_caps));
        return state->children.back().get();
    };
    for (const auto& [name, t] : file->tenants) {
        state->tenants.emplace(name, rules_state::tenant_rules{rules_for(t), t.max_series});
        if (name == options_.default_tenant_name) {
            logging::warn(
                "limits file: tenants entry for the default tenant does not apply; the top level "
                "and -limits-max-series govern the default tenant",
                {{"tenant", name}, {"file", file->source}});
        }
    }
    state->unlisted = {state.get(), 0};
    if (file->has_tenant_defaults) {
        state->unlisted = {rules_for(file->tenant_defaults), file->tenant_defaults.max_series};
    }
    const auto now = clock_.monotonic_now();
    std::lock_guard lock(rules_mu_);
    std::erase_if(retired_rules_,
                  [&](const auto& r) { return now - r.first > k_retired_rules_life; });
    if (rules_) retired_rules_.emplace_back(now, std::move(rules_));
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

std::shared_ptr<governor::tenant_state> governor::tenant_for(std::string_view tenant) {
    return tenants_.get_or_create(
        tenant, [&] { return std::make_shared<tenant_state>(std::string(tenant)); });
}

std::shared_ptr<governor::metric_entry> governor::tenant_entry_for(std::string_view tenant,
                                                                   std::string_view metric_name) {
    thread_local std::string key;
    tenant_metric_key(tenant, metric_name, key);
    return tenant_metrics_.get_or_create(key, [this] {
        return std::make_shared<metric_entry>(
            std::make_shared<cardinality::bloom_tracker>(options_.tracker, clock_));
    });
}

std::shared_ptr<governor::metric_entry> governor::tenant_entry_for(const run_tenant& tenant,
                                                                   std::string_view metric_name) {
    // The key's tenant part was made once per tenant lookup; only the name is appended here.
    thread_local std::string key;
    key.assign(tenant.key_prefix);
    key.append(metric_name);
    return tenant_metrics_.get_or_create(key, [this] {
        return std::make_shared<metric_entry>(
            std::make_shared<cardinality::bloom_tracker>(options_.tracker, clock_));
    });
}

std::shared_ptr<governor::metric_entry> governor::find_entry(std::string_view tenant,
                                                             std::string_view metric_name) const {
    if (tenant.empty()) return metrics_.find(metric_name);
    std::string key;
    tenant_metric_key(tenant, metric_name, key);
    return tenant_metrics_.find(key);
}

governor::run_tenant governor::tenant_of(std::string_view tenant, const rules_state& rules) {
    run_tenant t;
    if (tenant.empty()) {
        t.state = default_tenant_.get();
        t.rules = &rules;
        return t;
    }
    t.holder = tenant_for(tenant);
    t.state = t.holder.get();
    tenant_metric_key(tenant, {}, t.key_prefix);
    const auto& tr = rules.for_tenant(tenant);
    t.rules = tr.rules;
    t.cap = tr.max_series;
    return t;
}

void governor::check_caps(pending& p) const {
    p.global_full = options_.max_series != 0 &&
                    total_active_.load(std::memory_order_relaxed) +
                            admitted_since_refresh_.load(std::memory_order_relaxed) >=
                        options_.max_series;
    p.tenant_full =
        p.tenant_cap != 0 && p.tenant->active.load(std::memory_order_relaxed) +
                                     p.tenant->admitted.load(std::memory_order_relaxed) >=
                                 p.tenant_cap;
    p.limit = p.global_full || p.tenant_full ? 0 : p.rule_limit;
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
    // batched tracker query (with prefetching) per run of the same tenant and metric name. A
    // request's series usually share one tenant: it is looked up when it changes, not per run.
    run_tenant tenant;
    std::string_view tenant_name;
    for (std::size_t begin = 0; begin < series.size();) {
        std::size_t end = begin + 1;
        const auto name = series[begin].metric_name;
        if (tenant.state == nullptr || !same_tenant(series[begin].tenant, tenant_name)) {
            tenant_name = series[begin].tenant;
            tenant = tenant_of(tenant_name, *rules);
        }
        while (end < series.size() && series[end].metric_name == name &&
               same_tenant(series[end].tenant, tenant_name))
            ++end;
        const auto& rs = *tenant.rules;
        const auto entry = tenant_name.empty() ? entry_for(name) : tenant_entry_for(tenant, name);
        const auto candidates = rs.candidates_for(name);

        const std::size_t n = end - begin;
        pending start;
        start.tenant = tenant.state;
        start.tenant_cap = tenant.cap;
        work.assign(n, start);
        hashes.clear();
        limits.clear();
        index.clear();
        for (std::size_t i = 0; i < n; ++i) {
            out[begin + i] = decision{};
            if (prepare(series[begin + i], *entry, rs, *candidates, now, out[begin + i], work[i])) {
                hashes.push_back(work[i].hash);
                limits.push_back(work[i].limit);
                index.push_back(i);
            }
        }
        results.resize(hashes.size());
        if (options_.max_series == 0 && (tenant.cap == 0 || far_from_cap(tenant, index.size()))) {
            entry->tracker->observe_batch(hashes, limits, results, now);
            for (std::size_t q = 0; q < index.size(); ++q) {
                const auto i = index[q];
                settle(series[begin + i], *entry, rs, now, results[q], work[i], out[begin + i]);
            }
        } else {
            // A cap (global or the tenant's) must see each admission before the next series is
            // decided: one at a time, re-reading the totals for each.
            for (std::size_t q = 0; q < index.size(); ++q) {
                const auto i = index[q];
                auto& p = work[i];
                check_caps(p);
                const auto res = entry->tracker->observe(p.hash, p.limit, now);
                settle(series[begin + i], *entry, rs, now, res, p, out[begin + i]);
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
        } else if (out[i].overflow) {
            ++sum.folded_series;
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
    if (!end_labels(s, entry, rules, p, now, d)) return false;
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
    const bool enforce = r == nullptr || r->on_limit != action::log;
    const bool strip =
        r != nullptr && r->label_action == label_limit_action::strip && s.labels.size() <= 64;
    if (enforce && !options_.dry_run) {
        if (strip) {
            d.strip_mask |= std::uint64_t{1} << at;
        } else {
            d.keep = false;
            if (r != nullptr && r->label_action == label_limit_action::overflow) {
                d.overflow = true;
                d.overflow_rule = r;
            }
        }
    } else {
        tracker.insert(value, now);  // the value passes: count it
    }
}

bool governor::end_labels(const series_ref& s, metric_entry& entry, const rules_state& rules,
                          const pending& p, std::chrono::steady_clock::time_point now,
                          const decision& d) {
    const rule* r = p.r;
    if (!d.keep) {
        note_over_limit(rules, r, drop_reason::label_limit, s, !d.overflow, now);
        if (!d.overflow) count_drop(s, entry, p, drop_reason::label_limit);
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
    check_caps(p);
}

bool governor::far_from_cap(const run_tenant& t, std::size_t n) {
    // Room for this run many times over: even if every series of it is new, and other threads
    // admit runs of their own meanwhile, the cap holds; the run is decided in one batch then.
    const auto used = t.state->active.load(std::memory_order_relaxed) +
                      t.state->admitted.load(std::memory_order_relaxed);
    return used < t.cap && t.cap - used > k_cap_batch_margin * (n + 1);
}

bool governor::reserve_tenant(pending& p) {
    if (p.tenant_cap == 0) return true;
    auto& t = *p.tenant;
    if (t.active.load(std::memory_order_relaxed) + t.admitted.load(std::memory_order_relaxed) >=
        p.tenant_cap) {
        p.tenant_full = true;
        return false;
    }
    t.admitted.fetch_add(1, std::memory_order_relaxed);
    p.reserved = true;
    return true;
}

void governor::release_tenant(tenant_state& t) {
    // Never below 0: a refresh() meanwhile reset the count (and the place with it).
    auto v = t.admitted.load(std::memory_order_relaxed);
    while (v != 0 && !t.admitted.compare_exchange_weak(v, v - 1, std::memory_order_relaxed)) {
    }
}

void governor::count_drop(const series_ref& s, metric_entry& entry, const pending& p,
                          drop_reason reason) {
    entry.dropped_series.fetch_add(1, std::memory_order_relaxed);
    entry.dropped_datapoints.fetch_add(s.datapoints, std::memory_order_relaxed);
    entry.dropped_by_reason[static_cast<std::size_t>(reason)].fetch_add(1,
                                                                        std::memory_order_relaxed);
    if (drop_observer_) drop_observer_->on_drop(s, reason);
    auto& t = *p.tenant;
    t.dropped_series.fetch_add(1, std::memory_order_relaxed);
    t.dropped_datapoints.fetch_add(s.datapoints, std::memory_order_relaxed);
    if (!export_) return;
    auto* c = t.counters.load(std::memory_order_acquire);
    if (c == nullptr) {
        // Racing threads resolve the same counters (the label bound is sticky): either store wins.
        c = export_->tenant(labels_->label(t.name.empty() ? options_.default_tenant_name : t.name));
        t.counters.store(c, std::memory_order_release);
    }
    export_->count_tenant_drop(*c, reason, s.datapoints);
}

void governor::settle(const series_ref& s, metric_entry& entry, const rules_state& rules,
                      std::chrono::steady_clock::time_point now, cardinality::observe_result res,
                      const pending& p, decision& d) {
    auto& tracker = *entry.tracker;
    bool sketch = res == cardinality::observe_result::admitted ||
                  res == cardinality::observe_result::refreshed;
    if (res == cardinality::observe_result::over_limit) {
        auto reason = drop_reason::cardinality_limit;
        if (tracker.count() < p.rule_limit) {
            if (p.global_full) {
                reason = drop_reason::max_series;
            } else if (p.tenant_full) {
                reason = drop_reason::tenant_max_series;
            }
        }
        // The caps always drop; a rule's limit drops unless its action is log, and folds the
        // series into the overflow series under action overflow.
        const bool cap =
            reason == drop_reason::max_series || reason == drop_reason::tenant_max_series;
        const bool enforce = p.r == nullptr || p.r->on_limit != action::log;
        const bool drop = !options_.dry_run && (cap || enforce);
        const bool fold = drop && !cap && p.r != nullptr && p.r->on_limit == action::overflow;
        if (d.reason == drop_reason::none || drop) d.reason = reason;
        note_over_limit(rules, p.r, reason, s, drop && !fold, now, p.tenant_cap);
        if (drop) {
            d.keep = false;
            d.strip_mask = 0;
            if (p.reserved) release_tenant(*p.tenant);
            if (fold) {
                d.overflow = true;
                d.overflow_rule = p.r;
                return;
            }
            count_drop(s, entry, p, reason);
            return;
        }
        res = tracker.insert(p.hash, now);  // passes under log or dry run: count it
        sketch = true;
    }
    const bool admitted = res == cardinality::observe_result::admitted;
    if (admitted && options_.max_series != 0)
        admitted_since_refresh_.fetch_add(1, std::memory_order_relaxed);
    // The default tenant's total is only the sum at refresh(): its hot path stays as it was.
    if (p.reserved) {
        if (!admitted) release_tenant(*p.tenant);
    } else if (admitted && p.tenant != default_tenant_.get()) {
        p.tenant->admitted.fetch_add(1, std::memory_order_relaxed);
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
                               std::chrono::steady_clock::time_point now, std::uint64_t cap) {
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
    // Not dropped outside dry run and action log: folded (action overflow, or a label limit's
    // label_limit_action overflow).
    const bool folded = !dropped && !options_.dry_run && r != nullptr &&
                        (r->on_limit == action::overflow ||
                         (reason == drop_reason::label_limit && r->on_limit != action::log &&
                          r->label_action == label_limit_action::overflow));
    const char* what = dropped            ? "series dropped over limit"
                       : folded           ? "series over limit folded into the overflow series"
                       : options_.dry_run ? "series over limit (dry run, not dropped)"
                                          : "series over limit (action log, not dropped)";
    const auto limit = reason == drop_reason::tenant_max_series ? cap
                       : r != nullptr                           ? r->max_cardinality
                                                                : options_.max_series;
    if (s.tenant.empty()) {
        logging::warn(what, {{"rule", c.name},
                             {"reason", std::string(reason_name(reason))},
                             {"metric_name", std::string(s.metric_name)},
                             {"limit", limit},
                             {"sample_series", render_series(s)}});
    } else {
        logging::warn(what, {{"rule", c.name},
                             {"reason", std::string(reason_name(reason))},
                             {"tenant", std::string(s.tenant.substr(0, 256))},
                             {"metric_name", std::string(s.metric_name)},
                             {"limit", limit},
                             {"sample_series", render_series(s)}});
    }
}

}  // namespace mg::limits
