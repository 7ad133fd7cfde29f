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
#include <vector>

#include "common/sharded_map.h"
#include "limits/governor.h"
#include "limits/log_gate.h"
#include "limits/rule_matcher.h"

namespace mg::limits {

inline constexpr std::uint32_t k_no_rule = 0;
inline constexpr std::uint32_t k_defaults_rule = UINT32_MAX;
inline constexpr std::size_t k_reasons = 7;  // indexed by drop_reason

std::uint64_t value_hash(std::string_view v);

// Counters of one rule, resolved once per rule set so the drop path does no label lookups.
struct rule_counters {
    std::string name;
    std::array<prometheus::Counter*, k_reasons> dropped{};
    std::array<prometheus::Counter*, k_reasons> over_limit{};  // labelled with the rule's action
    prometheus::Counter* datapoints_dropped = nullptr;
    log_gate log;
};

// The metric families the governor exports through the registry (counters) and its own
// collectable (gauges computed at scrape time, so their label sets stay bounded by top-N).
class governor_metrics {
  public:
    explicit governor_metrics(prometheus::Registry& registry);
    void resolve(rule_counters& c, std::string_view action_label);
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
};

struct governor::rules_state {
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
};

// Cluster mode: series admitted without the cluster, waiting to be written to it.
struct governor::writeback {
    std::mutex mu;
    std::unordered_map<std::string, cluster_query> queries;  // by tracker
    std::size_t ids = 0;
    std::atomic<bool> pending{false};   // ids > 0, read without the lock
    std::atomic<bool> flushing{false};  // one flush at a time
};

}  // namespace mg::limits
