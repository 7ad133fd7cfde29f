// The governor's counters (governor_internal.h): drops and over-limit series by rule and reason,
// drops by tenant (label values bounded by the caller), and in cluster mode the series its failure
// policy decided.
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include "limits/governor_internal.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace mg::limits {

std::uint64_t value_hash(std::string_view v) {
    return XXH3_64bits(v.data(), v.size());
}

std::string_view policy_name(cluster_failure_policy p) {
    switch (p) {
        case cluster_failure_policy::local:
            return "local";
        case cluster_failure_policy::open:
            return "open";
        case cluster_failure_policy::closed:
            return "closed";
    }
    return "unknown";
}

governor_metrics::governor_metrics(prometheus::Registry& registry)
    : dropped_(prometheus::BuildCounter()
                   .Name("metrics_governor_series_dropped_total")
                   .Help("Series dropped by the governor, by rule and reason.")
                   .Register(registry)),
      over_limit_(
          prometheus::BuildCounter()
              .Name("metrics_governor_series_over_limit_total")
              .Help("Series over a limit, by rule, reason and what was done: drop, overflow, log "
                    "(action log) or dry_run (-limits-dry-run).")
              .Register(registry)),
      datapoints_dropped_(prometheus::BuildCounter()
                              .Name("metrics_governor_datapoints_dropped_total")
                              .Help("Data points in the series the governor dropped, by rule.")
                              .Register(registry)),
      fallback_(prometheus::BuildCounter()
                    .Name("metrics_governor_cluster_fallback_series_total")
                    .Help("Cluster mode: locally-new series (or label values) decided by the "
                          "failure policy because Redis did not answer in time, by policy.")
                    .Register(registry)),
      writeback_lost_(prometheus::BuildCounter()
                          .Name("metrics_governor_cluster_writeback_dropped_total")
                          .Help("Cluster mode: series admitted during a Redis outage that did "
                                "not fit the write-back buffer, so Redis never learns them.")
                          .Register(registry)),
      tenant_dropped_(prometheus::BuildCounter()
                          .Name("metrics_governor_tenant_series_dropped_total")
                          .Help("Series dropped by the governor, by tenant and reason (tenants "
                                "past -limits-max-tenants-in-metrics as __other__).")
                          .Register(registry)),
      tenant_datapoints_dropped_(
          prometheus::BuildCounter()
              .Name("metrics_governor_tenant_datapoints_dropped_total")
              .Help("Data points in the series the governor dropped, by tenant (tenants past "
                    "-limits-max-tenants-in-metrics as __other__).")
              .Register(registry)) {}

tenant_counters* governor_metrics::tenant(const std::string& label) {
    std::lock_guard lock(mu_);
    auto& c = tenants_[label];
    if (!c) {
        c = std::make_unique<tenant_counters>();
        c->label = label;
        c->datapoints_dropped = &tenant_datapoints_dropped_.Add({{"tenant", label}});
    }
    return c.get();
}

void governor_metrics::count_tenant_drop(tenant_counters& c, drop_reason reason,
                                         std::uint64_t datapoints) {
    auto& slot = c.dropped[static_cast<std::size_t>(reason)];
    auto* counter = slot.load(std::memory_order_acquire);
    if (counter == nullptr) {
        std::lock_guard lock(mu_);
        counter = &tenant_dropped_.Add(
            {{"tenant", c.label}, {"reason", std::string(reason_name(reason))}});
        slot.store(counter, std::memory_order_release);
    }
    counter->Increment();
    c.datapoints_dropped->Increment(static_cast<double>(datapoints));
}

void governor_metrics::resolve(rule_counters& c, std::string_view action_label, bool tenant_caps) {
    for (auto r : {drop_reason::cardinality_limit, drop_reason::label_limit,
                   drop_reason::max_series, drop_reason::tenant_max_series}) {
        // Without tenant caps the reason never happens: no rows, so /metrics stays as it was.
        if (r == drop_reason::tenant_max_series && !tenant_caps) continue;
        const auto i = static_cast<std::size_t>(r);
        c.dropped[i] = &dropped_.Add({{"rule", c.name}, {"reason", std::string(reason_name(r))}});
        c.over_limit[i] = &over_limit_.Add({{"rule", c.name},
                                            {"reason", std::string(reason_name(r))},
                                            {"action", std::string(action_label)}});
    }
    c.datapoints_dropped = &datapoints_dropped_.Add({{"rule", c.name}});
}

void governor_metrics::count_rejected(drop_reason reason, std::uint64_t series,
                                      std::uint64_t datapoints) {
    std::lock_guard lock(mu_);
    auto& c = rejected_[static_cast<std::size_t>(reason)];
    if (c == nullptr)
        c = &dropped_.Add({{"rule", "none"}, {"reason", std::string(reason_name(reason))}});
    c->Increment(static_cast<double>(series));
    if (none_datapoints_ == nullptr)
        none_datapoints_ = &datapoints_dropped_.Add({{"rule", "none"}});
    none_datapoints_->Increment(static_cast<double>(datapoints));
}

void governor_metrics::count_fallback(cluster_failure_policy policy, std::uint64_t series) {
    if (series == 0) return;
    std::lock_guard lock(mu_);
    fallback_.Add({{"policy", std::string(policy_name(policy))}})
        .Increment(static_cast<double>(series));
}

void governor_metrics::count_writeback_lost(std::uint64_t ids) {
    if (ids == 0) return;
    std::lock_guard lock(mu_);
    writeback_lost_.Add({}).Increment(static_cast<double>(ids));
}

}  // namespace mg::limits
