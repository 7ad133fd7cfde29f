// governor_internal: the governor's private types shared by its source files (governor.cpp,
// governor_metrics.cpp, governor_cluster.cpp): the per-rule counters, the immutable rules state
// and the per-series working state of a decision. Not part of the module's interface.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/sharded_map.h"
#include "limits/governor.h"
#include "limits/log_gate.h"
#include "limits/rule_matcher.h"

namespace mg::limits {

inline constexpr std::uint32_t k_no_rule = 0;
inline constexpr std::uint32_t k_defaults_rule = UINT32_MAX;
inline constexpr std::size_t k_reasons = 8;  // indexed by drop_reason

std::uint64_t value_hash(std::string_view v);

// Counters of one rule, resolved once per rule set so the drop path does no label lookups.
struct rule_counters {
    std::string name;
    std::array<prometheus::Counter*, k_reasons> dropped{};
    std::array<prometheus::Counter*, k_reasons> over_limit{};  // labelled with the rule's action
    prometheus::Counter* datapoints_dropped = nullptr;
    log_gate log;
};

// The tenant metric families' counters of one `tenant` label value.
// A reason's row is made on its first drop, so a reason that never happens adds no row.
struct tenant_counters {
    std::string label;
    std::array<std::atomic<prometheus::Counter*>, k_reasons> dropped{};
    prometheus::Counter* datapoints_dropped = nullptr;
};

// The metric families the governor exports through the registry (counters) and its own
// collectable (gauges computed at scrape time, so their label sets stay bounded by top-N).
class governor_metrics {
  public:
    explicit governor_metrics(prometheus::Registry& registry);
    // tenant_caps: the limits file caps tenants, so the rule's tenant_max_series rows exist.
    void resolve(rule_counters& c, std::string_view action_label, bool tenant_caps);
    // The counters of one tenant label value (the label bound is the caller's), made once.
    tenant_counters* tenant(const std::string& label);
    // Counts one dropped series of a tenant label value.
    void count_tenant_drop(tenant_counters& c, drop_reason reason, std::uint64_t datapoints);
    // Complexity-limit drops: rule "none", counters resolved on first use (a handful of series).
    void count_rejected(drop_reason reason, std::uint64_t series, std::uint64_t datapoints);
    // Cluster mode: series the failure policy decided because Redis did not answer.
    void count_fallback(cluster_failure_policy policy, std::uint64_t series);
    // Cluster mode: identities queued for write-back that did not fit its bound.
    void count_writeback_lost(std::uint64_t ids);

  private:
    std::mutex mu_;
    std::array<prometheus::Counter*, k_reasons> rejected_{};
    prometheus::Counter* none_datapoints_ = nullptr;
    prometheus::Family<prometheus::Counter>& dropped_;
    prometheus::Family<prometheus::Counter>& over_limit_;
    prometheus::Family<prometheus::Counter>& datapoints_dropped_;
    prometheus::Family<prometheus::Counter>& fallback_;
    prometheus::Family<prometheus::Counter>& writeback_lost_;
    prometheus::Family<prometheus::Counter>& tenant_dropped_;
    prometheus::Family<prometheus::Counter>& tenant_datapoints_dropped_;
    std::unordered_map<std::string, std::unique_ptr<tenant_counters>> tenants_;  // by label
};

// The state of one tenant beside its metric entries: the figures its cap and statistics use.
struct governor::tenant_state {
    explicit tenant_state(std::string n) : name(std::move(n)) {}
    std::string name;                        // "" for the default tenant
    std::atomic<std::uint64_t> active{0};    // active series of all its metrics, last refresh()
    std::atomic<std::uint64_t> admitted{0};  // new series admitted since
    std::atomic<std::uint64_t> metrics{0};   // metric entries, last refresh()
    std::atomic<std::uint64_t> dropped_series{0};
    std::atomic<std::uint64_t> dropped_datapoints{0};
    std::atomic<tenant_counters*> counters{nullptr};  // resolved on its first drop
};

// The bound on `tenant` label values: the first `max` tenants seen keep their own value for the
// life of the process (counters must not change series), every later one is "__other__".
struct governor::tenant_labels {
    std::mutex mu;
    std::unordered_set<std::string> named;
    std::size_t max = 0;

    std::string label(const std::string& display) {
        std::lock_guard lock(mu);
        if (named.contains(display)) return display;
        if (named.size() < max && display != k_other_tenants) {
            named.insert(display);
            return display;
        }
        return std::string(k_other_tenants);
    }
};

struct governor::rules_state {
    // The rule set one tenant decides with, and its cap.
    struct tenant_rules {
        const rules_state* rules = nullptr;
        std::uint64_t max_series = 0;
    };
    struct name_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };

    std::shared_ptr<const limits_file> file;
    std::unique_ptr<rule_matcher> matcher;
    std::uint64_t generation = 0;
    // Rule indexes whose metric_name matches, per metric name: regexes run once per name.
    mutable sharded_map<const std::vector<std::size_t>> candidates;

    // The candidate rules of a metric name, computed on its first use.
    std::shared_ptr<const std::vector<std::size_t>> candidates_for(std::string_view name) const {
        return candidates.get_or_create(name, [&] {
            return std::make_shared<const std::vector<std::size_t>>(matcher->candidates(name));
        });
    }
    // One per rule, then the defaults, then "none" (the global cap with no rule).
    std::vector<std::unique_ptr<rule_counters>> counters;

    // Top level only: the rules of tenants listed in the file and of the rest (tenant_defaults).
    // A tenant without defaults or rules of its own decides with this state itself; the others
    // with a child state compiled from their rules (over the top level's where they give none).
    std::unordered_map<std::string, tenant_rules, name_hash, std::equal_to<>> tenants;
    tenant_rules unlisted;
    std::vector<std::unique_ptr<rules_state>> children;
    bool tenant_caps = false;  // any tenant has a max_series

    const tenant_rules& for_tenant(std::string_view tenant) const {
        const auto it = tenants.find(tenant);
        return it == tenants.end() ? unlisted : it->second;
    }

    rule_counters& counters_for(const rule* r) const {
        if (r == nullptr) return *counters.back();
        if (r == &file->defaults) return *counters[counters.size() - 2];
        return *counters[static_cast<std::size_t>(r - file->rules.data())];
    }
    std::uint32_t rule_id(const rule* r) const {
        if (r == nullptr) return k_no_rule;
        if (r == &file->defaults) return k_defaults_rule;
        return static_cast<std::uint32_t>(r - file->rules.data()) + 1;
    }
    const rule* rule_by_id(std::uint32_t id) const {
        if (id == k_no_rule) return nullptr;
        if (id == k_defaults_rule) return file->has_defaults ? &file->defaults : nullptr;
        return id - 1 < file->rules.size() ? &file->rules[id - 1] : nullptr;
    }
};

// Per-series working state between the phases of decide(), kept in thread-local vectors so a
// request allocates nothing once a thread has seen a request of its size.
struct governor::pending {
    const rule* r = nullptr;
    std::uint64_t hash = 0;
    std::uint64_t limit = UINT64_MAX;  // passed to the tracker: 0 when the global cap is full
    std::uint64_t rule_limit = UINT64_MAX;
    bool global_full = false;
    tenant_state* tenant = nullptr;  // never null in a decision (the default tenant's state)
    std::uint64_t tenant_cap = 0;    // the tenant's max_series; 0: none
    bool tenant_full = false;
    bool reserved = false;  // cluster mode: holds a place under the tenant's cap (reserve_tenant)
};

struct governor::run_tenant {
    std::shared_ptr<tenant_state> holder;  // keeps a non-default tenant's state alive
    tenant_state* state = nullptr;
    const rules_state* rules = nullptr;
    std::uint64_t cap = 0;
    std::string key_prefix;  // tenant_metric_key(tenant, ""): its entries' keys start with it
};

// The key of a non-default tenant's metric in tenant_metrics_: the tenant's length, ':', the
// tenant, the metric name, so no two (tenant, metric) pairs share a key whatever their bytes.
void tenant_metric_key(std::string_view tenant, std::string_view metric, std::string& out);
// The inverse; false for a key tenant_metric_key never makes.
bool split_tenant_metric_key(std::string_view key, std::string_view& tenant,
                             std::string_view& metric);

// Cluster mode: series admitted without the cluster, waiting to be written to it.
struct governor::writeback {
    std::mutex mu;
    std::unordered_map<std::string, cluster_query> queries;  // by tracker
    std::size_t ids = 0;
    std::atomic<bool> pending{false};   // ids > 0, read without the lock
    std::atomic<bool> flushing{false};  // one flush at a time
};

}  // namespace mg::limits
