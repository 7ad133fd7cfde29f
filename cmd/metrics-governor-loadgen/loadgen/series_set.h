// series_set: the active series of one load-generator run and how they churn, fully determined
// by the seed (the same seed gives the same series in the same slots, cycle after cycle).
//
// The run keeps N active series in N slots. Slot s always belongs to metric s * M / N, so the
// series of one metric name sit next to each other (as in a scrape target's exposition) and the
// M names share the slots evenly (sizes differ by at most one). Each slot holds a series id; a
// series is its metric name plus L labels whose values derive from (seed, id), one of which
// (`series_id`) is the id itself, so two different ids never collide. advance() starts the next
// cycle by giving exactly round(churn * N) slots, chosen by the seeded generator, fresh ids that
// were never used before: those series disappear and new ones take their place.
//
// Label names are realistic (instance, job, pod, namespace, ...) and so are their values (IPs
// with ports, pod names with hash suffixes, small enums), so requests have the sizes and the
// compressibility of real traffic rather than of "l0=v0". With a shape template (-shape) the
// names and label sets are a recorded sender's instead (shape_template.h).
//
// Thread-safety: none; owned by the request builder, which one thread uses at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "loadgen/shape_template.h"

namespace mg::loadgen {

// The largest number of labels a series can carry (besides __name__).
inline constexpr std::uint32_t k_max_labels = 100;
// The largest N: slots are indexed with 32 bits, and 10M series already take gigabytes.
inline constexpr std::uint64_t k_max_series = 10'000'000;
// The label that carries the series id.
inline constexpr const char* k_series_id_label = "series_id";

struct series_shape {
    std::uint64_t series = 1;   // N, active series
    std::uint32_t metrics = 1;  // M, 1..N
    std::uint32_t labels = 1;   // L, 1..k_max_labels (the first one is series_id)
    double churn = 0;           // 0..1: fraction of slots replaced per cycle
    std::uint64_t seed = 1;
};

// splitmix64's finalizer: a bijective 64-bit mix, used for every seeded choice of the generator
// (std:: distributions are not the same across standard libraries; this is).
std::uint64_t mix64(std::uint64_t x);

class series_set {
  public:
    // `templ`: -shape, series shaped like recorded traffic (shape.labels is then ignored).
    explicit series_set(const series_shape& shape,
                        std::shared_ptr<const shape_template> templ = nullptr);

    const series_shape& shape() const { return shape_; }
    std::uint64_t size() const { return shape_.series; }
    std::uint64_t id_of(std::uint64_t slot) const { return ids_[slot]; }
    std::uint32_t metric_of(std::uint64_t slot) const;
    const std::string& metric_name(std::uint32_t metric) const { return metric_names_[metric]; }
    // The L label names, sorted (remote write wants labels sorted by name).
    const std::vector<std::string>& label_names() const { return label_names_; }
    // Writes the value of label `label` (an index into label_names()) of series `id`.
    void label_value(std::uint64_t id, std::uint32_t label, std::string& out) const;
    // With a shape template (shape_template.h), the series' labels differ from series to series:
    // the labels besides __name__ of the series in `slot` now, sorted by name.
    bool templated() const { return template_ != nullptr; }
    void template_labels(std::uint64_t slot, std::vector<owned_label>& out) const;

    // Slots replaced per cycle: round(churn * N).
    std::uint64_t replaced_per_cycle() const { return replaced_per_cycle_; }
    // Starts the next cycle: replaced_per_cycle() distinct slots get new ids. Returns those slots
    // (valid until the next call).
    std::span<const std::uint64_t> advance();
    // The cycle the set is in (0 before the first advance()).
    std::uint64_t cycle() const { return cycle_; }
    // Distinct series that existed so far: N plus every replacement.
    std::uint64_t created() const { return next_id_; }

  private:
    std::uint64_t next_random();
    std::uint64_t bounded(std::uint64_t n);  // uniform enough in [0, n)

    series_shape shape_;
    std::shared_ptr<const shape_template> template_;
    std::vector<std::string> metric_names_;
    std::vector<std::string> label_names_;
    std::vector<std::uint32_t> label_kinds_;  // per sorted label: index into the label catalogue
    std::vector<std::uint64_t> ids_;          // per slot
    std::vector<std::uint32_t> permutation_;  // partial Fisher-Yates state, for churn
    std::vector<std::uint64_t> replaced_;
    std::uint64_t replaced_per_cycle_ = 0;
    std::uint64_t next_id_ = 0;
    std::uint64_t cycle_ = 0;
    std::uint64_t rng_state_ = 0;
};

}  // namespace mg::loadgen
