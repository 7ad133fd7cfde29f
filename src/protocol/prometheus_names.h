// prometheus_names: OTLP names and numbers spelled the way Prometheus' OTLP translator spells
// them with its "underscore escaping, without suffixes" strategy (docs/protocols.md): metric
// names, label names, and the `le` / `quantile` values of histogram and summary series. Used by
// the OTLP to remote-write converter (otlp_to_prw.h). Pure functions.
#pragma once

#include <string>
#include <string_view>

namespace mg::protocol {

// Sanitized names, as used for the output (exposed for tests). Both return an empty string for a
// name that cannot be made valid (empty, or only underscores).
std::string prometheus_metric_name(std::string_view otlp_name);
std::string prometheus_label_name(std::string_view otlp_key);

// The same into `out` (replaced), which keeps its capacity: the converter names every point.
void sanitize_metric_name(std::string_view in, std::string& out);
void sanitize_label_name(std::string_view in, std::string& out);

// Go's strconv.FormatFloat(v, 'f', -1, 64) into `out` (replaced): the shortest decimal that
// round-trips, never in exponent form; +Inf, -Inf, NaN.
void format_fixed(double v, std::string& out);

}  // namespace mg::protocol
