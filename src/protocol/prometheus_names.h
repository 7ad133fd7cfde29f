// prometheus_names: OTLP names and numbers spelled the way Prometheus' OTLP translator spells
// them (docs/protocols.md): metric names, label names, and the `le` / `quantile` values of
// histogram and summary series. Used by the OTLP to remote-write converter (otlp_to_prw.h).
//
// Metric names come in two spellings:
//   - with suffixes (the default, as Prometheus 2.47-2.55 with its default
//     `otlp.translation_strategy` / addMetricSuffixes=true): the name's alphanumeric tokens
//     joined with `_`, then the unit (`s` -> `seconds`, `By` -> `bytes`, `m/s` ->
//     `meters_per_second`, `{...}` annotations left out), `_total` for a monotonic sum, `_ratio`
//     for a gauge of unit `1`; a suffix already among the name's tokens is not repeated;
//   - without suffixes: characters outside [a-zA-Z0-9_:] replaced, nothing appended.
// Pure functions.
#pragma once

#include <string>
#include <string_view>

namespace mg::protocol {

// The metric properties a suffixed name depends on.
enum class otlp_name_type : unsigned char {
    gauge,          // `_ratio` when the unit is exactly "1"
    monotonic_sum,  // `_total` (whatever the temporality: the converter drops delta anyway)
    other,          // non-monotonic sum, histogram, exponential histogram, summary
};

// Sanitized names, as used for the output (exposed for tests). All return an empty string for a
// name that cannot be made valid (empty, or no letter or digit / only underscores).
std::string prometheus_metric_name(std::string_view otlp_name);
std::string prometheus_metric_name(std::string_view otlp_name, std::string_view unit,
                                   otlp_name_type type);
std::string prometheus_label_name(std::string_view otlp_key);

// The same into `out` (replaced), which keeps its capacity: the converter names every metric.
void sanitize_metric_name(std::string_view in, std::string& out);
void suffixed_metric_name(std::string_view name, std::string_view unit, otlp_name_type type,
                          std::string& out);
void sanitize_label_name(std::string_view in, std::string& out);

// Go's strconv.FormatFloat(v, 'f', -1, 64) into `out` (replaced): the shortest decimal that
// round-trips, never in exponent form; +Inf, -Inf, NaN.
void format_fixed(double v, std::string& out);

}  // namespace mg::protocol
