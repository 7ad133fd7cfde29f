// The governor's cluster path (governor.h, docs/cluster.md): decide_async() asks the cluster for
// the locally-new series of shared limits and finishes the decision when the answer comes.
//
// One request is one job. Round 1 decides everything it can locally: series and label values the
// local trackers know pass (a locally refreshed one is also sent to the cluster so its copy there
// stays live, without waiting for the answer to it), limits without a max_cardinality stay local,
// and the rest become queries. A series with a new value of a limited label waits for the label's
// answer before its metric query (round 2), so a series a label limit drops never takes a place
// under the metric's limit. The answer runs on the cluster's thread.
//
// Tenants: a non-default tenant's trackers are named "\x1e" + escape_tenant(tenant) + "\x1e" +
// the default tenant's name for them (tenant_tracker_name), so its Redis keys carry the tenant and
// never meet another tenant's; the default tenant's names (and keys) are those without tenancy.
// A tenant's max_series is this replica's own count: a locally-new series of a tenant at its cap
// is dropped here without asking the cluster.
#include <algorithm>
#include <unordered_map>

#include "limits/governor_internal.h"
#include "logging/log.h"

namespace mg::limits {

namespace {

// Ids waiting for write-back, over every tracker: about 16 MB at most. Past it the oldest
// outage's admissions stay unknown to the cluster (counted); they are refreshed there anyway the
// next time this replica sees them in a new period.
constexpr std::size_t k_max_writeback_ids = 1 << 20;

// The cluster's tracker of -limits-max-series: every admitted series of every metric. No metric
// name is empty, so no metric or label tracker has this name.
const std::string k_global_tracker = "\x1f*";

}  // namespace

struct governor::cluster_job {
    std::shared_ptr<const rules_state> rules;
    std::span<const series_ref> series;
    std::span<decision> out;
    decided done;
    std::chrono::steady_clock::time_point now;
    std::vector<std::shared_ptr<metric_entry>> runs;  // per run of one tenant and metric name
    std::vector<run_tenant> run_tenants;              // per run
    std::vector<std::uint32_t> run_of;                // per series: its run
    std::vector<pending> work;                        // per series
    std::vector<std::uint8_t> waiting;                // per series: label answers outstanding

    // One identity asked of the cluster for one series.
    struct ask {
        std::size_t series = 0;
        std::size_t query = 0;
        std::size_t slot = 0;
        std::shared_ptr<cardinality::bloom_tracker> tracker;  // the local cache to fill
        std::uint64_t id = 0;
        std::uint64_t limit = 0;
        std::size_t label_at = SIZE_MAX;  // the label's position; SIZE_MAX: the metric's tracker
        std::string tracker_name;
        bool global = false;  // the -limits-max-series tracker (label_at is SIZE_MAX then too)
    };
    std::vector<ask> asks;
    std::vector<cluster_query> queries;
    std::vector<std::unordered_map<std::uint64_t, std::size_t>> slots;  // per query: id -> slot
    std::unordered_map<std::string, std::size_t> query_index;           // tracker -> query

    // The query slot of `id` in this round's query for `tracker`.
    std::pair<std::size_t, std::size_t> add(const std::string& tracker, std::uint64_t limit,
                                            std::uint64_t id) {
        const auto [qi, fresh] = query_index.try_emplace(tracker, queries.size());
        if (fresh) {
            queries.push_back({tracker, limit, true, {}});
            slots.emplace_back();
        }
        auto& q = queries[qi->second];
        const auto [si, new_id] = slots[qi->second].try_emplace(id, q.ids.size());
        if (new_id) q.ids.push_back(id);
        return {qi->second, si->second};
    }
    metric_entry& entry(std::size_t i) const { return *runs[run_of[i]]; }
    const rules_state& rules_of(std::size_t i) const { return *run_tenants[run_of[i]].rules; }
    void clear_round() {
        asks.clear();
        queries.clear();
        slots.clear();
        query_index.clear();
    }
};

void governor::set_cluster(std::shared_ptr<cluster_port> port, cluster_failure_policy policy) {
    cluster_ = std::move(port);
    policy_ = policy;
    writeback_ = std::make_unique<writeback>();
}

void governor::decide_async(std::span<const series_ref> series, std::span<decision> out,
                            decided done) {
    if (!cluster_ || series.empty()) {
        done(decide(series, out));
        return;
    }
    auto job = std::make_shared<cluster_job>();
    job->rules = rules_snapshot();
    job->series = series;
    job->out = out;
    job->done = std::move(done);
    job->now = clock_.monotonic_now();
    cluster_start(job);
}

void governor::cluster_start(const std::shared_ptr<cluster_job>& job) {
    using cardinality::observe_result;
    const auto n = job->series.size();
    job->run_of.resize(n);
    job->work.assign(n, pending{});
    job->waiting.assign(n, 0);
    // The metric trackers' questions of one run, asked together (prefetching, as decide() does).
    thread_local std::vector<std::uint64_t> hashes, limits;
    thread_local std::vector<std::size_t> index;
    thread_local std::vector<observe_result> results;
    for (std::size_t begin = 0; begin < n;) {
        std::size_t end = begin + 1;
        const auto name = job->series[begin].metric_name;
        const auto tenant_name = job->series[begin].tenant;
        while (end < n && job->series[end].metric_name == name &&
               job->series[end].tenant == tenant_name)
            ++end;
        const auto entry =
            tenant_name.empty() ? entry_for(name) : tenant_entry_for(tenant_name, name);
        job->runs.push_back(entry);
        job->run_tenants.push_back(tenant_of(tenant_name, *job->rules));
        const auto& tenant = job->run_tenants.back();
        const auto& rules = *tenant.rules;
        const auto candidates = rules.candidates_for(name);
        hashes.clear();
        limits.clear();
        index.clear();
        for (std::size_t i = begin; i < end; ++i) {
            const auto& s = job->series[i];
            job->run_of[i] = static_cast<std::uint32_t>(job->runs.size() - 1);
            auto& d = job->out[i];
            d = decision{};
            auto& p = job->work[i];
            p.tenant = tenant.state;
            p.tenant_cap = tenant.cap;
            p.r = select_rule(s, *entry, rules, *candidates);
            if (p.r != nullptr && !p.r->label_limits.empty()) {
                std::lock_guard lock(entry->labels_mu);
                for (const auto& [label_name, limit] : p.r->label_limits) {
                    const auto at = label_position(s, label_name);
                    if (at == s.labels.size()) continue;
                    auto& tracker = label_tracker(*entry, label_name, limit);
                    const auto h = value_hash(s.labels[at].value);
                    const auto res =
                        tracker.observe(h, 0, job->now);  // a test: inserts nothing new
                    if (res == observe_result::known) continue;
                    const auto tname =
                        tenant_tracker_name(tenant_name, label_tracker_name(name, label_name));
                    if (res == observe_result::refreshed) {
                        job->add(tname, limit, h);  // keeps the cluster's copy live; not awaited
                    } else {
                        const auto [q, slot] = job->add(tname, limit, h);
                        job->asks.push_back({i, q, slot, entry->label(label_name).limit_tracker, h,
                                             limit, at, tname});
                        job->waiting[i] = 1;
                    }
                }
            }
            if (job->waiting[i] != 0 || !end_labels(s, *entry, rules, p, job->now, d)) continue;
            cluster_query_for(s, d, p);
            hashes.push_back(p.hash);
            // A shared limit is only tested here (limit 0 inserts nothing new); the rest is
            // decided here as in one process.
            limits.push_back(asks_cluster(p) ? 0 : p.limit);
            index.push_back(i);
        }
        if (tenant.cap == 0) {
            results.resize(hashes.size());
            entry->tracker->observe_batch(hashes, limits, results, job->now);
            for (std::size_t k = 0; k < index.size(); ++k)
                cluster_settle(*job, index[k], results[k]);
        } else {
            // The tenant's cap must see each admission (or reservation) before the next series.
            for (const auto i : index) {
                auto& p = job->work[i];
                if (!asks_cluster(p)) check_caps(p);
                cluster_settle(
                    *job, i,
                    entry->tracker->observe(p.hash, asks_cluster(p) ? 0 : p.limit, job->now));
            }
        }
        begin = end;
    }
    cluster_round(job);
}

bool governor::shared(const pending& p) {
    return p.rule_limit != UINT64_MAX;
}

bool governor::asks_cluster(const pending& p) const {
    // With -limits-max-series the cap is the cluster's too: every locally-new series asks.
    return shared(p) || options_.max_series != 0;
}

bool governor::local_cap_full() const {
    return options_.max_series != 0 &&
           total_active_.load(std::memory_order_relaxed) +
                   admitted_since_refresh_.load(std::memory_order_relaxed) >=
               options_.max_series;
}

void governor::cluster_query_for(const series_ref& s, const decision& d, pending& p) {
    metric_query(s, p.r, d, p);
    if (options_.max_series != 0) {
        // The cluster decides the cap (the global tracker); this replica's totals only when it
        // does not answer.
        p.global_full = false;
        p.limit = p.rule_limit;
    }
}

void governor::ask_global(cluster_job& job, std::size_t i) {
    auto& p = job.work[i];
    const auto [q, slot] = job.add(k_global_tracker, options_.max_series, p.hash);
    job.asks.push_back({i, q, slot, job.entry(i).tracker, p.hash, options_.max_series, SIZE_MAX,
                        k_global_tracker, true});
}

void governor::cluster_metric_step(cluster_job& job, std::size_t i) {
    const auto& s = job.series[i];
    auto& entry = job.entry(i);
    auto& d = job.out[i];
    auto& p = job.work[i];
    if (!end_labels(s, entry, job.rules_of(i), p, job.now, d)) return;
    cluster_query_for(s, d, p);
    cluster_settle(job, i, entry.tracker->observe(p.hash, asks_cluster(p) ? 0 : p.limit, job.now));
}

void governor::cluster_settle(cluster_job& job, std::size_t i, cardinality::observe_result res) {
    const auto& s = job.series[i];
    auto& entry = job.entry(i);
    auto& p = job.work[i];
    // A tenant at its cap (this replica's count) drops its new series without asking; one under
    // it holds a place while the cluster decides.
    bool local =
        !asks_cluster(p) || res != cardinality::observe_result::over_limit || p.tenant_full;
    if (!local && !reserve_tenant(p)) local = true;
    if (local) {
        settle(s, entry, job.rules_of(i), job.now, res, p, job.out[i]);
        if (res == cardinality::observe_result::refreshed) {
            // Keeps the cluster's copies live; not awaited.
            if (shared(p))
                job.add(tenant_tracker_name(s.tenant, std::string(s.metric_name)), p.rule_limit,
                        p.hash);
            if (options_.max_series != 0) job.add(k_global_tracker, options_.max_series, p.hash);
        }
        return;
    }
    if (!shared(p)) return ask_global(job, i);  // no limit of its own: only the cap
    auto name = tenant_tracker_name(s.tenant, std::string(s.metric_name));
    const auto [q, slot] = job.add(name, p.rule_limit, p.hash);
    job.asks.push_back(
        {i, q, slot, entry.tracker, p.hash, p.rule_limit, SIZE_MAX, std::move(name)});
}

void governor::cluster_round(const std::shared_ptr<cluster_job>& job) {
    if (job->queries.empty()) {
        job->done(tally(job->series, job->out));
        return;
    }
    auto queries = std::move(job->queries);
    job->queries.clear();
    if (job->asks.empty()) {
        // Only refreshes of known series: nothing waits for them.
        cluster_->admit(std::move(queries), [](std::vector<cluster_answer>) {});
        job->clear_round();
        job->done(tally(job->series, job->out));
        return;
    }
    cluster_->admit(std::move(queries), [this, job](std::vector<cluster_answer> answers) {
        on_cluster_answer(job, std::move(answers));
    });
}

void governor::on_cluster_answer(const std::shared_ptr<cluster_job>& job,
                                 std::vector<cluster_answer> answers) {
    using cardinality::observe_result;
    std::uint64_t fallback = 0;
    bool any_ok = false;
    std::vector<std::size_t> next_global;  // admitted under their metric's limit: the cap next
    for (const auto& a : job->asks) {
        const cluster_answer* ans = a.query < answers.size() ? &answers[a.query] : nullptr;
        const bool ok = ans != nullptr && ans->ok && a.slot < ans->verdicts.size();
        any_ok = any_ok || ok;
        auto& tracker = *a.tracker;
        // Every branch below sets it; the initial value only quiets GCC's -O3 flow analysis.
        observe_result res = observe_result::over_limit;
        bool record = false;  // admitted without the cluster: write it back
        auto& p = job->work[a.series];
        if (ok) {
            const auto v = ans->verdicts[a.slot];
            if (v == cluster_verdict::admitted && a.label_at == SIZE_MAX && !a.global &&
                options_.max_series != 0) {
                // New in the metric's limit: the cluster's cap decides next (a refusal there
                // leaves it counted under the metric's limit until its period ends).
                job->entry(a.series).cluster_active.store(ans->live_total,
                                                          std::memory_order_relaxed);
                next_global.push_back(a.series);
                continue;
            }
            if (v == cluster_verdict::over_limit) {
                res = observe_result::over_limit;
                if (a.global) p.global_full = true;  // reason max_series
            } else {
                tracker.insert(a.id, job->now);
                res = v == cluster_verdict::admitted ? observe_result::admitted
                                                     : observe_result::refreshed;
            }
            if (a.label_at == SIZE_MAX && !a.global) {
                job->entry(a.series).cluster_active.store(ans->live_total,
                                                          std::memory_order_relaxed);
            }
        } else {
            ++fallback;
            const bool metric = a.label_at == SIZE_MAX;
            switch (policy_) {
                case cluster_failure_policy::local: {
                    // This replica's own limits: the metric's (none for a cap-only ask) and
                    // its own view of the cap.
                    const bool cap_full = metric && local_cap_full();
                    if (metric) p.global_full = cap_full;
                    const auto limit = cap_full ? 0 : (a.global ? p.rule_limit : a.limit);
                    res = tracker.observe(a.id, limit, job->now);
                    record = res == observe_result::admitted;
                    break;
                }
                case cluster_failure_policy::open:
                    res = tracker.insert(a.id, job->now);
                    record = true;
                    break;
                case cluster_failure_policy::closed:
                    res = observe_result::over_limit;
                    if (a.global) p.global_full = true;
                    break;
            }
        }
        const auto& s = job->series[a.series];
        auto& d = job->out[a.series];
        if (a.label_at != SIZE_MAX) {
            if (res == observe_result::over_limit) {
                const bool was_kept = d.keep && (d.strip_mask >> a.label_at & 1) == 0;
                label_over_limit(s, job->work[a.series].r, a.label_at, tracker, a.id, job->now, d);
                // Passed anyway (action log, dry run): the cluster should count it.
                record = record || (was_kept && d.keep && (d.strip_mask >> a.label_at & 1) == 0);
            }
        } else {
            settle(s, job->entry(a.series), job->rules_of(a.series), job->now, res, p, d);
            record = record || (res == observe_result::over_limit && d.keep);
        }
        if (record) {
            queue_writeback(a.tracker_name, a.limit, a.id);
            // Passed without the cluster's cap: the cap's tracker should count it too.
            if (!a.global && a.label_at == SIZE_MAX && options_.max_series != 0)
                queue_writeback(k_global_tracker, options_.max_series, a.id);
        }
    }
    if (export_) export_->count_fallback(policy_, fallback);
    if (any_ok && writeback_->pending.load(std::memory_order_relaxed)) flush_writeback();

    // The next round: the cap for what its metric's limit admitted, and the series that waited
    // for their label answers.
    job->clear_round();
    for (const auto i : next_global) ask_global(*job, i);
    for (std::size_t i = 0; i < job->waiting.size(); ++i) {
        if (job->waiting[i] == 0) continue;
        job->waiting[i] = 0;
        cluster_metric_step(*job, i);
    }
    cluster_round(job);
}

void governor::queue_writeback(const std::string& tracker, std::uint64_t limit, std::uint64_t id) {
    auto& w = *writeback_;
    std::lock_guard lock(w.mu);
    if (w.ids >= k_max_writeback_ids) {
        if (export_) export_->count_writeback_lost(1);
        return;
    }
    auto& q = w.queries[tracker];
    if (q.tracker.empty()) {
        q.tracker = tracker;
        q.enforce = false;
    }
    q.limit = limit;
    q.ids.push_back(id);
    ++w.ids;
    w.pending.store(true, std::memory_order_relaxed);
}

void governor::flush_writeback() {
    auto& w = *writeback_;
    if (w.flushing.exchange(true, std::memory_order_acq_rel)) return;
    std::vector<cluster_query> queries;
    {
        std::lock_guard lock(w.mu);
        for (auto& [name, q] : w.queries) queries.push_back(std::move(q));
        w.queries.clear();
        w.ids = 0;
        w.pending.store(false, std::memory_order_relaxed);
    }
    if (queries.empty()) {
        w.flushing.store(false, std::memory_order_release);
        return;
    }
    auto sent = std::make_shared<std::vector<cluster_query>>(queries);
    cluster_->admit(std::move(queries), [this, sent](std::vector<cluster_answer> answers) {
        // What failed goes back in the buffer for the next attempt.
        std::uint64_t written = 0;
        for (std::size_t i = 0; i < sent->size(); ++i) {
            const auto& q = (*sent)[i];
            if (i < answers.size() && answers[i].ok) {
                written += q.ids.size();
                continue;
            }
            for (const auto id : q.ids) queue_writeback(q.tracker, q.limit, id);
        }
        if (written > 0) {
            logging::info("cluster write-back: series admitted without the cluster are now in it",
                          {{"series", written}});
        }
        writeback_->flushing.store(false, std::memory_order_release);
    });
}

}  // namespace mg::limits
