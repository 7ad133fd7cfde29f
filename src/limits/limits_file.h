// The limits file: per-metric cardinality rules in YAML, in the shape of the Go metrics-governor's
// limits file (`defaults` plus a list of `rules`). See docs/limits.md for the format and what the
// governor does with each field.
//
// Parsing is strict: every problem in the file (unknown keys at any depth, wrong types, negative
// numbers, regexes that do not compile, duplicate rule names, unsupported Go-governor features)
// is reported at once, one per line, each naming its path (rules[2].match.metric_name) and the
// accepted form. A file that fails to parse is never partly applied.
//
// The types are plain values; nothing here is synchronized or global. rule_matcher.h compiles a
// parsed file into the immutable matcher used on the ingest path.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "overflow/gauge_fold.h"

namespace mg::limits {

// What happens to a new series of a metric that is at its max_cardinality.
enum class action {
    drop,  // the series is dropped; series already known keep passing
    log,   // the series passes; the excess is counted and logged
    // The series is not forwarded as itself; its samples are folded into the rule's overflow
    // series for the metric (issue 21, docs/overflow.md).
    overflow,
};

// What happens to a series that brings one distinct value too many for a label_limits entry.
enum class label_limit_action {
    drop,   // the whole series is dropped
    strip,  // the label is removed from the series, which then passes (if its other limits allow)
    overflow,  // the whole series is folded into the overflow series, as action overflow does
};

// Defaults of the overflow keys of a rule (docs/overflow.md).
inline constexpr std::string_view k_default_overflow_label = "overflow";
inline constexpr std::uint64_t k_default_overflow_max_tracked = 100000;

struct label_matcher {
    std::string name;
    std::string value;       // the exact value; empty when any_value
    bool any_value = false;  // written "*": the series carries the label, whatever its value

    bool operator==(const label_matcher&) const = default;
};

struct rule {
    std::string name;            // "default" for the defaults
    std::string metric_pattern;  // as written; empty = every metric (defaults, or no metric_name)
    std::vector<label_matcher> labels;  // sorted by name, names unique
    std::uint64_t max_cardinality = 0;  // active series per metric name; 0 = unlimited
    action on_limit = action::drop;
    // Distinct values of a label per metric name, sorted by label name; every limit is >= 1.
    std::vector<std::pair<std::string, std::uint64_t>> label_limits;
    label_limit_action label_action = label_limit_action::drop;
    // Overflow (action overflow or label_limit_action overflow): the labels the overflow series
    // keeps from the folded series (sorted, unique), the label that marks it (value "true"), the
    // aggregation of a gauge, the bound on the folded series it remembers, and how often it is
    // emitted (0: the daemon's -overflow-interval).
    std::vector<std::string> keep_labels;
    std::string overflow_label = std::string(k_default_overflow_label);
    overflow::gauge_aggregation overflow_aggregation = overflow::gauge_aggregation::sum;
    std::uint64_t overflow_max_tracked = k_default_overflow_max_tracked;
    std::chrono::milliseconds overflow_interval{0};

    // Whether the rule folds what it would otherwise drop.
    bool overflows() const {
        return on_limit == action::overflow || label_action == label_limit_action::overflow;
    }

    bool operator==(const rule&) const = default;
};

// The limits of one tenant (issue 19, docs/limits.md "Tenants"): a cap on all its metrics
// together, and optionally its own defaults and rules, each replacing the top level's when given.
struct tenant_limits {
    std::uint64_t max_series = 0;  // active series of all the tenant's metrics; 0 = no cap
    rule defaults;                 // meaningful only when has_defaults
    bool has_defaults = false;
    std::vector<rule> rules;  // meaningful only when has_rules (an empty list is a choice too)
    bool has_rules = false;

    bool operator==(const tenant_limits&) const = default;
};

struct limits_file {
    rule defaults;  // name "default", empty pattern; meaningful only when has_defaults
    bool has_defaults = false;
    std::vector<rule> rules;  // in file order: the first rule that matches a series wins
    std::string source;       // the file path (or the name given to parse_limits_yaml)
    // Per tenant, by tenant name (never the default tenant, which the top level governs).
    std::map<std::string, tenant_limits, std::less<>> tenants;
    tenant_limits tenant_defaults;  // tenants not listed; meaningful only when has_tenant_defaults
    bool has_tenant_defaults = false;
};

// Longest tenant name the limits file accepts (the ingest side's bound is smaller by default).
inline constexpr std::size_t k_max_tenant_name_bytes = 1024;

// Largest limits file load_limits_file reads; a bigger one is an error, not a slow startup.
inline constexpr std::uintmax_t k_max_limits_file_bytes = 16U * 1024U * 1024U;

// Parses a limits file from text. source_name prefixes every message (and becomes
// limits_file::source). On failure the message lists every problem, one per line. An empty
// document (or one with only comments) is a valid file with no limits.
result<limits_file> parse_limits_yaml(std::string_view text, std::string_view source_name);

// Reads and parses the file at path. A missing, unreadable or oversized file is an error naming
// the path.
result<limits_file> load_limits_file(const std::string& path);

// True when a metric_name pattern holds no regex metacharacter, so it is matched as an exact name
// without a regex (the fast path).
bool is_literal_pattern(std::string_view pattern);

// "drop" / "log" / "overflow", "drop" / "strip" / "overflow": as written in the file.
std::string_view to_string(action a);
std::string_view to_string(label_limit_action a);

}  // namespace mg::limits
