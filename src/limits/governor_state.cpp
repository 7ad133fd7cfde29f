// The governor's state as others see it (governor.h): statistics for /metrics and the stats API,
// per metric and per tenant, the hooks persistence saves and restores trackers through, and
// refresh(), which recomputes the totals the caps use and frees idle state. None of it is on the
// ingest path; everything may run concurrently with decide().
#include <algorithm>
#include <unordered_map>

#include "limits/governor_internal.h"

namespace mg::limits {

namespace {

// A non-default tenant's entries, by tenant, as one walk over tenant_metrics_ collects them.
struct tenant_walk {
    std::uint64_t active = 0;
    std::uint64_t metrics = 0;
};

}  // namespace

std::uint64_t governor::active_series() const {
    return total_active_.load(std::memory_order_relaxed) +
           admitted_since_refresh_.load(std::memory_order_relaxed);
}

std::size_t governor::trackers() const {
    return metrics_.size() + tenant_metrics_.size();
}

std::size_t governor::memory_bytes() const {
    std::size_t total = 0;
    const auto add = [&](std::string_view key, const std::shared_ptr<metric_entry>& e) {
        total += e->tracker->memory_bytes() + sizeof(metric_entry) + key.size();
        std::lock_guard lock(e->labels_mu);
        for (const auto& l : e->labels) {
            total += sizeof(*l) + l->name.size();
            if (l->limit_tracker) total += l->limit_tracker->memory_bytes();
        }
    };
    metrics_.for_each(add);
    tenant_metrics_.for_each(add);
    tenants_.for_each([&](std::string_view name, const std::shared_ptr<tenant_state>&) {
        total += sizeof(tenant_state) + 2 * name.size();
    });
    return total;
}

void governor::for_each_tracker(const tracker_visitor& fn) const {
    // Collected first and visited with no lock held: the visitor may call back into the governor
    // (evict_tracker), and lock order stays shard -> labels_mu everywhere.
    struct item {
        std::string tenant, metric, label;
        std::shared_ptr<cardinality::bloom_tracker> tracker;
    };
    std::vector<item> items;
    const auto collect = [&](std::string_view tenant, std::string_view name,
                             const std::shared_ptr<metric_entry>& e) {
        items.push_back({std::string(tenant), std::string(name), {}, e->tracker});
        std::lock_guard lock(e->labels_mu);
        for (const auto& l : e->labels) {
            if (l->limit_tracker)
                items.push_back(
                    {std::string(tenant), std::string(name), l->name, l->limit_tracker});
        }
    };
    metrics_.for_each([&](std::string_view name, const std::shared_ptr<metric_entry>& e) {
        collect({}, name, e);
    });
    tenant_metrics_.for_each([&](std::string_view key, const std::shared_ptr<metric_entry>& e) {
        std::string_view tenant, name;
        if (split_tenant_metric_key(key, tenant, name)) collect(tenant, name, e);
    });
    for (const auto& i : items) fn(i.tenant, i.metric, i.label, i.tracker);
}

void governor::adopt_tracker(std::string_view tenant, std::string_view metric,
                             std::string_view label,
                             std::shared_ptr<cardinality::bloom_tracker> tracker) {
    if (!tracker) return;
    auto& map = tenant.empty() ? metrics_ : tenant_metrics_;
    std::string key;
    if (tenant.empty()) {
        key = std::string(metric);
    } else {
        tenant_metric_key(tenant, metric, key);
        tenant_for(tenant);  // listed by tenants() before its first series comes
    }
    if (label.empty()) {
        // The label trackers already adopted for this metric move into the new entry.
        auto fresh = std::make_shared<metric_entry>(std::move(tracker));
        if (const auto old = map.find(key)) {
            std::scoped_lock lock(old->labels_mu, fresh->labels_mu);
            fresh->labels = std::move(old->labels);
            fresh->labels_window_start = old->labels_window_start;
        }
        map.put(key, std::move(fresh));
        return;
    }
    const auto e = tenant.empty() ? entry_for(metric) : tenant_entry_for(tenant, metric);
    std::lock_guard lock(e->labels_mu);
    e->label(label).limit_tracker = std::move(tracker);
}

std::vector<std::string> governor::evict_tracker(std::string_view tenant, std::string_view metric,
                                                 std::string_view label) {
    std::vector<std::string> gone;
    auto& map = tenant.empty() ? metrics_ : tenant_metrics_;
    std::string key;
    if (tenant.empty()) {
        key = std::string(metric);
    } else {
        tenant_metric_key(tenant, metric, key);
    }
    const auto e = map.find(key);
    if (!e) return gone;
    if (label.empty()) {
        gone.emplace_back();
        {
            std::lock_guard lock(e->labels_mu);
            for (const auto& l : e->labels)
                if (l->limit_tracker) gone.push_back(l->name);
        }
        map.erase(key);  // not under labels_mu: the shard lock comes first elsewhere
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
    tenants_.for_each([](std::string_view, const std::shared_ptr<tenant_state>& t) {
        t->admitted.store(0, std::memory_order_relaxed);
    });
    std::uint64_t default_metrics = 0;
    metrics_.for_each([&](std::string_view name, const std::shared_ptr<metric_entry>& e) {
        e->tracker->advance(now);
        const auto n = e->tracker->count();
        total += n;
        ++default_metrics;
        // A metric unseen for a whole window has no active series left: free its state.
        if (n == 0 && now - e->tracker->last_seen() >= options_.tracker.window)
            idle.emplace_back(name);
    });
    for (const auto& name : idle) metrics_.erase(name);
    default_tenant_->active.store(total, std::memory_order_relaxed);
    default_tenant_->metrics.store(default_metrics - idle.size(), std::memory_order_relaxed);

    idle.clear();
    std::unordered_map<std::string, tenant_walk> by_tenant;
    tenant_metrics_.for_each([&](std::string_view key, const std::shared_ptr<metric_entry>& e) {
        e->tracker->advance(now);
        const auto n = e->tracker->count();
        total += n;
        std::string_view tenant, name;
        if (!split_tenant_metric_key(key, tenant, name)) return;
        if (n == 0 && now - e->tracker->last_seen() >= options_.tracker.window) {
            idle.emplace_back(key);
            return;
        }
        auto& w = by_tenant[std::string(tenant)];
        w.active += n;
        ++w.metrics;
    });
    for (const auto& key : idle) tenant_metrics_.erase(key);
    // A tenant with no metric left goes too (its drop counts with it); a series of it arriving
    // meanwhile makes it again.
    std::vector<std::string> gone;
    tenants_.for_each([&](std::string_view name, const std::shared_ptr<tenant_state>& t) {
        const auto it = by_tenant.find(std::string(name));
        if (it == by_tenant.end()) {
            t->active.store(0, std::memory_order_relaxed);
            t->metrics.store(0, std::memory_order_relaxed);
            if (t->admitted.load(std::memory_order_relaxed) == 0) gone.emplace_back(name);
            return;
        }
        t->active.store(it->second.active, std::memory_order_relaxed);
        t->metrics.store(it->second.metrics, std::memory_order_relaxed);
    });
    for (const auto& name : gone) tenants_.erase(name);

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
    for (std::size_t i = 0; i < k_drop_reasons; ++i)
        m.dropped_by_reason[i] = e.dropped_by_reason[i].load(std::memory_order_relaxed);
    if (e.rules_generation.load(std::memory_order_relaxed) == rules.generation) {
        if (const rule* r = rules.rule_by_id(e.last_rule.load(std::memory_order_relaxed))) {
            m.rule = r->name;
            m.limit = r->max_cardinality;
        }
    }
    return m;
}

std::vector<metric_summary> governor::top_metrics(std::size_t n, std::string_view tenant) const {
    const auto top = rules_snapshot();
    const auto& rules = tenant.empty() ? *top : *top->for_tenant(tenant).rules;
    std::vector<std::pair<std::uint64_t, std::shared_ptr<metric_entry>>> all;
    std::vector<std::string> names;
    if (tenant.empty()) {
        metrics_.for_each([&](std::string_view name, const std::shared_ptr<metric_entry>& e) {
            all.emplace_back(e->tracker->count(), e);
            names.emplace_back(name);
        });
    } else {
        tenant_metrics_.for_each([&](std::string_view key, const std::shared_ptr<metric_entry>& e) {
            std::string_view t, name;
            if (!split_tenant_metric_key(key, t, name) || t != tenant) return;
            all.emplace_back(e->tracker->count(), e);
            names.emplace_back(name);
        });
    }
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
        out.push_back(summarize(names[order[i]], *all[order[i]].second, rules));
    return out;
}

std::optional<metric_summary> governor::metric(std::string_view name,
                                               std::string_view tenant) const {
    const auto e = find_entry(tenant, name);
    if (!e) return std::nullopt;
    const auto top = rules_snapshot();
    return summarize(name, *e, tenant.empty() ? *top : *top->for_tenant(tenant).rules);
}

std::vector<label_summary> governor::label_values(std::string_view metric_name,
                                                  std::string_view tenant) const {
    std::vector<label_summary> out;
    const auto e = find_entry(tenant, metric_name);
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

std::vector<tenant_summary> governor::tenants() const {
    const auto rules = rules_snapshot();
    const auto summary = [&](std::string_view name, const tenant_state& t, std::uint64_t cap) {
        tenant_summary s;
        s.name = std::string(name);
        s.active_series =
            t.active.load(std::memory_order_relaxed) + t.admitted.load(std::memory_order_relaxed);
        s.max_series = cap;
        s.metrics = t.metrics.load(std::memory_order_relaxed);
        s.dropped_series = t.dropped_series.load(std::memory_order_relaxed);
        s.dropped_datapoints = t.dropped_datapoints.load(std::memory_order_relaxed);
        return s;
    };
    std::vector<tenant_summary> out;
    out.push_back(summary(options_.default_tenant_name, *default_tenant_, options_.max_series));
    out.back().is_default = true;
    std::vector<tenant_summary> rest;
    tenants_.for_each([&](std::string_view name, const std::shared_ptr<tenant_state>& t) {
        rest.push_back(summary(name, *t, rules->for_tenant(name).max_series));
    });
    // Tenants the limits file lists show before their first series.
    for (const auto& [name, tr] : rules->tenants) {
        if (name == options_.default_tenant_name || tenants_.find(name)) continue;
        tenant_summary s;
        s.name = name;
        s.max_series = tr.max_series;
        rest.push_back(std::move(s));
    }
    std::sort(rest.begin(), rest.end(), [](const tenant_summary& a, const tenant_summary& b) {
        return a.active_series != b.active_series ? a.active_series > b.active_series
                                                  : a.name < b.name;
    });
    for (auto& t : rest) out.push_back(std::move(t));
    return out;
}

std::optional<std::string> governor::resolve_tenant(std::string_view name) const {
    if (name.empty() || name == options_.default_tenant_name) return std::string();
    if (tenants_.find(name)) return std::string(name);
    const auto rules = rules_snapshot();
    if (rules->tenants.contains(name)) return std::string(name);
    return std::nullopt;
}

std::string governor::tenant_label(std::string_view tenant) const {
    return labels_->label(tenant.empty() ? options_.default_tenant_name : std::string(tenant));
}

}  // namespace mg::limits
