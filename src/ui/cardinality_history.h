// cardinality_history: a bounded in-memory ring of what the governor held over the last hour,
// for the /ui page and GET /api/v1/cardinality/history. Each sample (one every `interval`, taken
// by the daemon on a timer) keeps the totals (active series, the global cap, series kept and
// dropped per second by reason) and, for the top `top_n` metrics by active series, their active
// series and the series dropped since the previous sample by reason. Nothing is kept on disk.
//
// With tenants a metric is keyed by (tenant, metric name): the top `top_n` of every tenant's
// metrics together, largest first, so a sample holds at most top_n points whatever the number of
// tenants (a small tenant's metrics are in the ring while they rank among the top_n). The
// totals are the daemon's, over every tenant; beside them each sample keeps the active series of
// the `top_tenants` largest tenants (the default tenant among them), for a tenant's own chart.
//
// Memory is bounded by slots * top_n points of 24 bytes plus one interned copy of each
// (tenant, metric name) present in the ring, plus slots * top_tenants tenant points of 8 bytes
// and their names; memory_bytes() measures it (about 6 MB for 240
// slots of 1000 metrics, docs/api.md; tests/unit/ui/cardinality_history_test.cpp checks the
// bound).
//
// Thread-safety: record() (the timer) and the queries (stats requests) may run concurrently on
// any thread; one mutex guards the ring. Queries copy what they answer.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "limits/governor.h"

namespace mg::ui {

struct history_options {
    std::chrono::seconds interval{15};
    std::size_t slots = 240;        // 1 h at 15 s
    std::size_t top_n = 1000;       // metrics kept per sample, largest first
    std::size_t top_tenants = 100;  // tenants whose active series are kept per sample
};

// The drop reasons kept per metric (the governor's own; complexity limits have no metric).
inline constexpr std::array<limits::drop_reason, 4> k_metric_reasons{
    limits::drop_reason::cardinality_limit, limits::drop_reason::label_limit,
    limits::drop_reason::max_series, limits::drop_reason::tenant_max_series};

// What one sample is made of; counters are cumulative since the daemon started.
struct history_input {
    std::int64_t unix_ms = 0;
    std::uint64_t total_series = 0;
    std::uint64_t max_series = 0;  // -limits-max-series; 0: none
    std::uint64_t kept_total = 0;  // series received and not dropped
    std::array<std::uint64_t, limits::k_drop_reasons> dropped_total{};  // by drop_reason
    std::vector<limits::metric_summary> metrics;                        // the default tenant's
    // Other tenants' metrics, by tenant name (never ""). Ranked with `metrics` by active series;
    // only the first top_n of them all are kept.
    std::vector<std::pair<std::string, limits::metric_summary>> tenant_metrics;
    // Every tenant's active series ("": the default tenant); the first top_tenants by active
    // series are kept.
    std::vector<std::pair<std::string, std::uint64_t>> tenant_series;
};

struct history_totals {
    std::int64_t unix_ms = 0;
    std::uint64_t total_series = 0;
    std::uint64_t max_series = 0;
    // Per second since the previous sample; 0 for the first one.
    double kept_per_second = 0;
    std::array<double, limits::k_drop_reasons> dropped_per_second{};
};

// One metric over the ring, aligned with the samples: -1 where the metric was not in that
// sample's top_n.
struct metric_history {
    std::string tenant;  // "": the default tenant
    std::string name;
    std::vector<std::int64_t> active_series;
    // Series dropped in the interval ending at each sample, by k_metric_reasons.
    std::array<std::vector<std::int64_t>, k_metric_reasons.size()> dropped{};
};

class cardinality_history {
  public:
    explicit cardinality_history(history_options options);

    const history_options& options() const { return options_; }
    // Adds a sample, replacing the oldest once the ring is full.
    void record(const history_input& in);

    // The samples' totals, oldest first.
    std::vector<history_totals> totals() const;
    // The first `limit` metrics of a tenant ("": the default tenant) in the newest sample, each
    // over every sample.
    std::vector<metric_history> top(std::size_t limit, std::string_view tenant = {}) const;
    // A tenant's active series ("": the default tenant) over every sample, -1 where the sample
    // did not keep it; empty when no sample has it.
    std::vector<std::int64_t> tenant_series(std::string_view tenant) const;
    // One metric of a tenant over every sample; nullopt when no sample has it.
    std::optional<metric_history> metric(std::string_view name, std::string_view tenant = {}) const;

    std::size_t samples() const;
    // Bytes held by the ring: the points, the totals and the interned names.
    std::size_t memory_bytes() const;

  private:
    struct point {
        std::uint32_t id = 0;
        std::uint32_t active = 0;                                      // saturated
        std::array<std::uint32_t, k_metric_reasons.size()> dropped{};  // saturated deltas
    };
    struct tenant_point {
        std::uint32_t id = 0;
        std::uint32_t active = 0;  // saturated
    };
    struct slot {
        history_totals totals;
        std::vector<point> points;
        std::vector<tenant_point> tenants;
    };
    struct name_entry {
        std::uint32_t id = 0;
        std::uint32_t refs = 0;  // points in the ring naming it
        // The metric's cumulative drops at its latest sample, for the next delta.
        std::array<std::uint64_t, k_metric_reasons.size()> last_dropped{};
    };

    // A name's key: the tenant escaped (limits/tenant_escape.h: no NUL), a NUL, the metric name.
    static std::string key_of(std::string_view tenant, std::string_view metric);
    // A tenant's own key: \x01 (which no metric key starts with), the tenant escaped.
    static std::string tenant_key_of(std::string_view tenant);
    std::uint32_t acquire(const std::string& name);  // mu_ held
    void release(std::uint32_t id);                  // mu_ held
    // Builds the rows of `ids` over the ring, oldest sample first; mu_ held.
    std::vector<metric_history> rows(const std::vector<std::uint32_t>& ids) const;
    const slot& at(std::size_t i) const;  // i-th oldest; mu_ held

    history_options options_;
    mutable std::mutex mu_;
    std::vector<slot> ring_;
    std::size_t next_ = 0;   // where the next sample goes
    std::size_t count_ = 0;  // samples held
    std::unordered_map<std::string, name_entry> names_;
    std::vector<const std::string*> by_id_;  // null: a free id
    std::vector<std::uint32_t> free_ids_;
    // Cumulative counters at the previous sample, for the rates.
    bool have_previous_ = false;
    std::int64_t previous_ms_ = 0;
    std::uint64_t previous_kept_ = 0;
    std::array<std::uint64_t, limits::k_drop_reasons> previous_dropped_{};
};

}  // namespace mg::ui
