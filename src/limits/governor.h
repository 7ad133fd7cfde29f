// governor: the per-series keep/drop decision of the proxy, and the cardinality statistics
// operators see. It owns one bloom_tracker per metric name (the count of distinct active series
// that limits are compared with), per-(metric, label) trackers for label_limits, per-label
// distinct-value sketches for the cardinality API, and the drop counters.
//
// Decision for one series (first matching rule wins, defaults otherwise; see docs/limits.md):
//   1. label_limits of the rule: a series bringing a new value of a limited label past its limit
//      is dropped (reason label_limit), or has the label stripped (label_limit_action: strip).
//   2. the metric's tracker: a series active in the window passes (known series always pass); a
//      new series passes while the metric has fewer active series than the rule's
//      max_cardinality and, with -limits-max-series, while all metrics together have fewer than
//      that; otherwise it is over the limit (reason cardinality_limit or max_series).
//   3. over the limit: action drop drops it (it is not inserted, so it stays new); action log and
//      dry run keep it, count it and insert it, so counts follow the data that really passes.
//
// Cluster mode (set_cluster, docs/cluster.md): the limits with a max_cardinality (a metric's own
// and label limits) are shared by every replica through the cluster port. The local trackers
// then cache what the cluster admitted: a series they know passes at once; a locally-new one is
// asked of the cluster (decide_async), all of a request's in one round trip, and the failure
// policy decides when no answer comes in time. Series admitted without the cluster (policies
// local and open, action log, dry run) are written back to it once it answers again.
//
// Tenants (docs/limits.md "Tenants"): every series belongs to a tenant, "" being the default
// tenant (tenancy off, or the tenant named by tenancy.default_tenant). The default tenant keeps
// the state layout of a governor without tenants (trackers keyed by metric name, the top-level
// rules); every other tenant has its own trackers per metric name, its rules (the limits file's
// tenants.<name> or tenant_defaults, falling back to the top level) and its cap max_series on
// all its metrics together (reason tenant_max_series), checked like -limits-max-series, which
// still caps every tenant together. In cluster mode a tenant's cap is this replica's own count.
//
// Thread-safety: decide() runs concurrently on every I/O thread. The rules are an immutable
// snapshot swapped by set_limits() (SIGHUP); one call of decide() uses one snapshot throughout.
// Trackers survive reloads. The statistics methods may run concurrently with decide().
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cardinality/bloom_tracker.h"
#include "cardinality/series_hash.h"
#include "common/clock.h"
#include "common/hyperloglog.h"
#include "common/sharded_map.h"
#include "limits/cluster_port.h"
#include "limits/limits_file.h"

namespace prometheus {
class Registry;
}

namespace mg::limits {

struct governor_options {
    cardinality::tracker_config tracker;
    bool dry_run = false;          // -limits-dry-run
    std::uint64_t max_series = 0;  // -limits-max-series; 0 = no global cap
    // -limits-max-tenants-in-metrics: tenants with their own `tenant` label value in the tenant
    // metric families, the first ones seen; the rest share "__other__".
    std::size_t max_tenants_in_metrics = 100;
    // The default tenant's name in metrics and the stats API (tenancy.default_tenant).
    std::string default_tenant_name = "default";
};

// How long a rule set replaced by a reload stays alive (decision::overflow_rule points into it).
inline constexpr std::chrono::seconds k_retired_rules_life{60};

// The tenant label value for tenants past max_tenants_in_metrics.
inline constexpr std::string_view k_other_tenants = "__other__";

// One series of a request as the ingest layer sees it.
struct series_ref {
    std::string_view metric_name;
    std::string_view tenant;  // "" = the default tenant (tenancy off, or none given)
    std::span<const cardinality::label_view> labels;  // sorted by name, unique, without __name__
    std::uint64_t datapoints = 1;
    // series_hash_sorted(metric_name, labels) when the caller has it already (the remote-write
    // decoder takes it from the wire bytes); otherwise the governor computes it.
    bool has_identity = false;
    std::uint64_t identity = 0;
};

enum class drop_reason : std::uint8_t {
    none,
    cardinality_limit,
    label_limit,
    max_series,
    // Complexity limits, checked by the receivers before the governor (rule "none").
    too_many_labels,
    label_name_too_long,
    label_value_too_long,
    tenant_max_series,  // a tenant at its max_series (limits file tenants / tenant_defaults)
};
std::string_view reason_name(drop_reason r);
// drop_reason values, for arrays indexed by reason.
inline constexpr std::size_t k_drop_reasons = 8;
static_assert(static_cast<std::size_t>(drop_reason::tenant_max_series) + 1 == k_drop_reasons);

struct decision {
    bool keep = true;
    // Why the series was dropped, or, under action log or dry run, why it would have been.
    drop_reason reason = drop_reason::none;
    // Bit i set: remove labels[i] before forwarding (label_limit_action: strip).
    std::uint64_t strip_mask = 0;
    // Not forwarded (keep is false) but folded into an overflow series (action overflow or
    // label_limit_action overflow): `rule` is the rule whose overflow keys apply. Its samples are
    // the ingest side's to fold (ingest/overflow_sink.h); the governor only decides.
    bool overflow = false;
    // Valid for at least k_retired_rules_life after a reload replaced the rules it is from (the
    // governor keeps replaced rule sets that long): the ingest side folds within the request.
    const rule* overflow_rule = nullptr;
};

struct batch_summary {
    std::uint64_t kept_series = 0;
    std::uint64_t dropped_series = 0;
    std::uint64_t kept_datapoints = 0;
    std::uint64_t dropped_datapoints = 0;
    std::uint64_t folded_series = 0;  // not forwarded, folded into an overflow series
    std::uint64_t stripped_series = 0;
    std::uint64_t over_limit_series = 0;  // includes those kept by action log or dry run
};

struct metric_summary {
    std::string name;
    std::uint64_t active_series = 0;
    std::uint64_t limit = 0;  // 0: unlimited
    std::string rule;         // the rule of the latest decision; "" when no rule applied
    std::uint64_t dropped_series = 0;
    std::uint64_t dropped_datapoints = 0;
    // Cluster mode: the metric's active series over every replica, as Redis last answered
    // (-1: not known, e.g. no shared limit or no new series since this replica started).
    std::int64_t cluster_active_series = -1;
    // dropped_series split by reason, indexed by drop_reason (governor drops only).
    std::array<std::uint64_t, k_drop_reasons> dropped_by_reason{};
};

struct tenant_summary {
    std::string name;  // the default tenant as governor_options::default_tenant_name
    bool is_default = false;
    std::uint64_t active_series = 0;
    std::uint64_t max_series = 0;  // the tenant's cap; 0: none
    std::uint64_t metrics = 0;     // metric names with a tracker
    std::uint64_t dropped_series = 0;
    std::uint64_t dropped_datapoints = 0;
};

struct label_summary {
    std::string name;
    std::uint64_t distinct_values = 0;  // HyperLogLog estimate over the window (about 6.5% error)
};

class governor_metrics;

// Sees every series the governor drops (not those kept under action log or dry run), on the
// deciding thread: it must be cheap and must not block (src/ui/drop_samples.h samples them).
class drop_observer {
  public:
    virtual ~drop_observer() = default;
    virtual void on_drop(const series_ref& s, drop_reason reason) noexcept = 0;
};

class governor {
  public:
    struct metric_entry;

    // `registry` may be null (no metrics exported: unit tests, benchmarks). The clock must
    // outlive the governor. Throws std::invalid_argument for an invalid tracker config.
    governor(governor_options options, mg::clock& clock,
             std::shared_ptr<prometheus::Registry> registry);
    ~governor();
    governor(const governor&) = delete;
    governor& operator=(const governor&) = delete;

    // Installs a rule set (startup and SIGHUP). Trackers and counts are kept.
    void set_limits(std::shared_ptr<const limits_file> file);
    std::shared_ptr<const limits_file> limits() const;

    // Decides for every series of a request; out.size() must be >= series.size(). Never waits
    // on the network: in cluster mode it decides as a single process would (tests, tools).
    batch_summary decide(std::span<const series_ref> series, std::span<decision> out);

    // Cluster mode (docs/cluster.md): set once, before any decide_async().
    void set_cluster(std::shared_ptr<cluster_port> port, cluster_failure_policy policy);
    bool clustered() const { return cluster_ != nullptr; }
    // As decide(), but in cluster mode the locally-new series of shared limits are decided by the
    // cluster, and `done` runs when its answer comes (or its deadline passes), on another thread;
    // `series` and `out` must stay valid until then. Without cluster mode `done` runs before this
    // returns.
    using decided = std::function<void(batch_summary)>;
    void decide_async(std::span<const series_ref> series, std::span<decision> out, decided done);
    // Counts series the receivers dropped before asking (complexity limits), under rule "none",
    // so every drop shows in metrics_governor_series_dropped_total.
    void note_rejected(drop_reason reason, std::uint64_t series, std::uint64_t datapoints);
    // Set once, before any decide(); null (the default) observes nothing.
    void set_drop_observer(std::shared_ptr<drop_observer> o) { drop_observer_ = std::move(o); }

    // Statistics.
    std::uint64_t active_series() const;  // as of the last refresh()
    std::size_t trackers() const;
    std::size_t memory_bytes() const;  // trackers and sketches
    // A tenant's metrics ("": the default tenant), by active series, descending.
    std::vector<metric_summary> top_metrics(std::size_t n, std::string_view tenant = {}) const;
    std::optional<metric_summary> metric(std::string_view name, std::string_view tenant = {}) const;
    std::vector<label_summary> label_values(std::string_view metric_name,
                                            std::string_view tenant = {}) const;
    // Every tenant with state or listed in the limits file, the default tenant first, then by
    // active series, descending. Counts of a tenant whose state went idle start again at 0.
    std::vector<tenant_summary> tenants() const;
    // The tenant a stats API caller names: "" or default_tenant_name is the default tenant ("");
    // nullopt when the governor knows no such tenant.
    std::optional<std::string> resolve_tenant(std::string_view name) const;
    // The `tenant` label value of a tenant ("" = the default tenant) in the tenant metric
    // families: its name for the first max_tenants_in_metrics tenants seen, else "__other__".
    std::string tenant_label(std::string_view tenant) const;
    // Recomputes the total of active series (the -limits-max-series cap uses it, plus what was
    // admitted since) and rotates idle trackers so expired generations release their memory.
    // Called periodically and by the stats endpoints.
    void refresh();

    const governor_options& options() const { return options_; }
    // The default tenant's per-metric state (other tenants: for_each_tracker).
    const sharded_map<metric_entry>& entries() const { return metrics_; }

    // Persistence (src/persistence/governor_host.h). Every tracker that enforces a limit: the
    // metric's own (label empty) and one per label_limits label that has seen a value.
    // `tenant` is "" for the default tenant.
    using tracker_visitor =
        std::function<void(std::string_view tenant, std::string_view metric, std::string_view label,
                           const std::shared_ptr<cardinality::bloom_tracker>&)>;
    void for_each_tracker(const tracker_visitor& fn) const;
    // Installs a restored tracker, replacing what is there (startup, before decide() runs).
    void adopt_tracker(std::string_view tenant, std::string_view metric, std::string_view label,
                       std::shared_ptr<cardinality::bloom_tracker> tracker);
    // Forgets a metric (label empty: its whole state, label trackers included) or one label
    // tracker. Returns the labels whose trackers went with it ("" for the metric's own); empty
    // when there was nothing. Concurrent decide() calls holding the old state finish on it.
    std::vector<std::string> evict_tracker(std::string_view tenant, std::string_view metric,
                                           std::string_view label);

    struct tenant_state;

  private:
    struct rules_state;
    struct tenant_labels;
    struct pending;
    struct cluster_job;
    struct writeback;
    // Rule, label limits and the tracker query of one series; false when it is already decided
    // (dropped by a label limit) and needs no tracker query.
    bool prepare(const series_ref& s, metric_entry& entry, const rules_state& rules,
                 std::span<const std::size_t> candidates, std::chrono::steady_clock::time_point now,
                 decision& d, pending& p);
    // The pieces of prepare(), shared with the cluster path (governor_cluster.cpp).
    const rule* select_rule(const series_ref& s, metric_entry& entry, const rules_state& rules,
                            std::span<const std::size_t> candidates);
    static std::size_t label_position(const series_ref& s, std::string_view name);  // or size()
    cardinality::bloom_tracker& label_tracker(metric_entry& entry, std::string_view label,
                                              std::uint64_t limit);  // labels_mu held
    // A label value over its limit: strip or drop, or let it pass (counted) under log/dry run.
    void label_over_limit(const series_ref& s, const rule* r, std::size_t at,
                          cardinality::bloom_tracker& tracker, std::uint64_t value,
                          std::chrono::steady_clock::time_point now, decision& d);
    // After the label limits: counts a series they dropped (false) or marked.
    bool end_labels(const series_ref& s, metric_entry& entry, const rules_state& rules,
                    const pending& p, std::chrono::steady_clock::time_point now, const decision& d);
    // Cluster mode: a place under the tenant's max_series taken before the cluster is asked
    // (false: the tenant is full), and given back when the series is not admitted after all.
    bool reserve_tenant(pending& p);
    static void release_tenant(tenant_state& t);
    // A dropped series in its metric's and its tenant's counts.
    void count_drop(const series_ref& s, metric_entry& entry, const pending& p, drop_reason reason);
    // The metric tracker's query: identity of what is forwarded, rule and global limits.
    void metric_query(const series_ref& s, const rule* r, const decision& d, pending& p);
    static batch_summary tally(std::span<const series_ref> series, std::span<const decision> out);
    // Cluster path (governor_cluster.cpp).
    void cluster_start(const std::shared_ptr<cluster_job>& job);
    void cluster_metric_step(cluster_job& job, std::size_t i);
    // A metric tracker's answer in cluster mode: settled, or asked of the cluster.
    void cluster_settle(cluster_job& job, std::size_t i, cardinality::observe_result res);
    static bool shared(const pending& p);       // the series' limit is the cluster's
    bool asks_cluster(const pending& p) const;  // a locally-new series asks the cluster
    bool local_cap_full() const;                // -limits-max-series by this replica's own totals
    // metric_query, with the cap left to the cluster.
    void cluster_query_for(const series_ref& s, const decision& d, pending& p);
    void ask_global(cluster_job& job, std::size_t i);  // the cap's tracker, next round
    void cluster_round(const std::shared_ptr<cluster_job>& job);
    void on_cluster_answer(const std::shared_ptr<cluster_job>& job,
                           std::vector<cluster_answer> answers);
    void queue_writeback(const std::string& tracker, std::uint64_t limit, std::uint64_t id);
    void flush_writeback();
    // Acts on the tracker's answer: drop, or keep (inserting under log and dry run), and sketches.
    void settle(const series_ref& s, metric_entry& entry, const rules_state& rules,
                std::chrono::steady_clock::time_point now, cardinality::observe_result res,
                const pending& p, decision& d);
    std::shared_ptr<metric_entry> entry_for(std::string_view metric_name);
    // Non-default tenants: the tenant's state and its entry of a metric.
    std::shared_ptr<tenant_state> tenant_for(std::string_view tenant);
    std::shared_ptr<metric_entry> tenant_entry_for(std::string_view tenant,
                                                   std::string_view metric_name);
    struct run_tenant;
    std::shared_ptr<metric_entry> tenant_entry_for(const run_tenant& tenant,
                                                   std::string_view metric_name);
    std::shared_ptr<metric_entry> find_entry(std::string_view tenant,
                                             std::string_view metric_name) const;
    // The state and rules of a run of series of one tenant, for pending::tenant and the rules.
    run_tenant tenant_of(std::string_view tenant, const rules_state& rules);
    // A run of n series of a capped tenant that cannot reach its cap, whatever it admits.
    static bool far_from_cap(const run_tenant& t, std::size_t n);
    std::shared_ptr<const rules_state> rules_snapshot() const;
    std::unique_ptr<rules_state> compile_rules(std::shared_ptr<const limits_file> file,
                                               std::uint64_t generation, bool tenant_caps);
    // The caps of one series (-limits-max-series, the tenant's) and so the tracker's limit.
    void check_caps(pending& p) const;
    // `cap`: the tenant's max_series, logged as the limit of reason tenant_max_series.
    void note_over_limit(const rules_state& rules, const rule* r, drop_reason reason,
                         const series_ref& s, bool dropped,
                         std::chrono::steady_clock::time_point now, std::uint64_t cap = 0);
    metric_summary summarize(std::string_view name, const metric_entry& e,
                             const rules_state& rules) const;

    governor_options options_;
    mg::clock& clock_;
    sharded_map<metric_entry> metrics_;  // the default tenant's, by metric name
    // Other tenants' entries by tenant_metric_key(tenant, metric), and their tenant states.
    sharded_map<metric_entry> tenant_metrics_;
    sharded_map<tenant_state> tenants_;
    std::unique_ptr<tenant_state> default_tenant_;
    std::unique_ptr<tenant_labels> labels_;
    mutable std::mutex rules_mu_;  // guards the rules_ pointer; the state itself is immutable
    std::shared_ptr<const rules_state> rules_;
    // Rule sets replaced by set_limits(), with when, kept k_retired_rules_life so that the rule
    // a decision points to (decision::overflow_rule) outlives the request holding it. Guarded by
    // rules_mu_.
    std::vector<
        std::pair<std::chrono::steady_clock::time_point, std::shared_ptr<const rules_state>>>
        retired_rules_;
    std::atomic<std::uint64_t> rules_generation_{0};
    std::atomic<std::uint64_t> total_active_{0};  // sum at the last refresh()
    std::atomic<std::uint64_t> admitted_since_refresh_{0};
    std::unique_ptr<governor_metrics> export_;
    std::shared_ptr<cluster_port> cluster_;
    cluster_failure_policy policy_ = cluster_failure_policy::local;
    std::unique_ptr<writeback> writeback_;
    std::shared_ptr<drop_observer> drop_observer_;
};

struct governor::metric_entry {
    explicit metric_entry(std::shared_ptr<cardinality::bloom_tracker> t) : tracker(std::move(t)) {}

    std::shared_ptr<cardinality::bloom_tracker> tracker;
    std::atomic<std::uint64_t> dropped_series{0};
    std::atomic<std::uint64_t> dropped_datapoints{0};
    std::array<std::atomic<std::uint64_t>, k_drop_reasons> dropped_by_reason{};
    // Rule of the latest decision, for statistics: index + 1 into the rules (0: none, and
    // UINT32_MAX: the defaults), valid for the rules generation stored beside it.
    std::atomic<std::uint64_t> rules_generation{0};
    std::atomic<std::uint32_t> last_rule{0};
    // Cluster mode: the live total Redis last reported for the metric's own tracker (-1: none).
    std::atomic<std::int64_t> cluster_active{-1};

    // Per-label state, created on first use. labels_mu is taken only for new or refreshed series
    // and for label-limited labels, never on the path of a known series.
    struct label_state {
        std::string name;
        hyperloglog<8> current;   // values of series seen since labels_window_start
        hyperloglog<8> previous;  // values of series seen in the window before
        std::shared_ptr<cardinality::bloom_tracker> limit_tracker;  // for label_limits
    };
    std::mutex labels_mu;
    std::vector<std::unique_ptr<label_state>> labels;
    std::chrono::steady_clock::time_point labels_window_start{};

    label_state& label(std::string_view name);  // labels_mu held
};

}  // namespace mg::limits
