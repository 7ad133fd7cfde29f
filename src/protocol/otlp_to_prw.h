// otlp_to_prw: converts the kept data points of a decoded OTLP batch (protobuf or JSON) into
// Prometheus remote write 1.0 TimeSeries, for a remote-write backend (the exporter with
// -exporter-protocol=prw). It follows the OpenTelemetry "Prometheus and OpenMetrics
// compatibility" specification with the defaults of Prometheus' own OTLP translator (2.47-2.55:
// unit and type suffixes, target_info); docs/protocols.md has the full mapping:
//   - names (prometheus_names.h): by default the name's letters and digits in `_`-joined tokens,
//     the unit as a suffix (`s` -> `_seconds`, `By` -> `_bytes`, `1/s` -> `_per_second`),
//     `_total` for a monotonic sum, `_ratio` for a gauge of unit `1`; with
//     options.name_suffixes off only invalid characters are replaced (the older spelling);
//   - labels: the series' flattened labels (resource, scope, point attributes; see otlp.h) minus
//     the stripped ones; characters outside [a-zA-Z0-9] become `_` with runs collapsed (`__x__`
//     keeps its wrapping underscores), a leading digit gets `key_`; keys that collide after that
//     are joined with `;` in the order of the original keys; `job` and `instance` are derived
//     from service.namespace/service.name and service.instance.id; sorted, with `__name__`.
//     Unlike Prometheus the resource attributes stay on every series: they are part of the
//     governor's series identity;
//   - gauge and cumulative sum: one sample; histogram: `_bucket{le}` (cumulative, with `+Inf`),
//     `_sum`, `_count`; summary: `{quantile}`, `_sum`, `_count`; cumulative exponential
//     histogram: one native histogram (scale above 8 is downscaled to 8), unless the options
//     turn native histograms off (then such points are dropped and counted);
//   - target_info (options.target_info): one sample of value 1 per resource that has a kept
//     point, `job` or `instance`, and attributes besides service.name / service.namespace /
//     service.instance.id: those attributes as labels plus job/instance, at the latest time of
//     the resource's kept points, as Prometheus makes it. The governor never sees this series
//     (it is not in the batch), so no limit applies to it;
//   - timestamps ns -> ms; the no-recorded-value flag -> Prometheus' stale NaN.
// A point that cannot be converted is not written and is counted under one reason
// (prw_conversion_drop): delta or unspecified temporality (Prometheus stores cumulative data
// only), an unusable metric or label name, inconsistent values, an exponential scale below -4.
// Exemplars and metric metadata (description, unit) are not converted.
//
// The values come from the request itself: the converter walks the protobuf body (or the parsed
// JSON document) again in decode order, so decoding stays as it is (views, no value copies);
// only kept points are parsed (otlp_point_values.h). Names are spelled by prometheus_names.h.
//
// Thread-safety: a converter holds reusable scratch buffers; use one per thread. The batch must
// be the one the decoder filled, with its body (and JSON document) still alive.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/series_batch.h"
#include "protocol/status.h"

namespace mg::protocol {

// Why a kept OTLP data point produced no remote-write output.
enum class prw_conversion_drop : std::uint8_t {
    delta_temporality,        // sum, histogram or exponential histogram with delta temporality
    unspecified_temporality,  // the same with AGGREGATION_TEMPORALITY_UNSPECIFIED (or none)
    invalid_metric_name,      // the name is empty or only underscores once sanitized
    invalid_label_name,       // an attribute key is only underscores once sanitized
    invalid_point,            // no timestamp, wrong field types, counts that do not add up
    unsupported_scale,        // exponential histogram scale below -4 (Prometheus' minimum)
    exponential_histogram,    // native histograms are off (prw_conversion_options)
};
inline constexpr std::size_t k_prw_conversion_drop_reasons = 7;

struct prw_conversion_options {
    // Exponential histograms become native histograms. Off: they are dropped (reason
    // exponential_histogram), for backends that cannot store native histograms: Prometheus
    // without --enable-feature=native-histograms answers 500 to a request carrying one (the
    // whole request fails, and a retrying sender is stuck), VictoriaMetrics 1.79 drops them
    // silently.
    bool native_histograms = true;
    // Unit and type suffixes on metric names (Prometheus' default; -exporter-otlp-name-suffixes).
    // Off: the names without suffixes, as Prometheus with addMetricSuffixes=false.
    bool name_suffixes = true;
    // One target_info series per resource (Prometheus' default). Off: none (tests).
    bool target_info = true;
};

// The value of the `reason` label: "delta_temporality", ...
std::string_view to_string(prw_conversion_drop r);

struct prw_conversion_result {
    std::uint32_t series = 0;            // TimeSeries written (target_info included)
    std::uint64_t samples = 0;           // float samples written (target_info included)
    std::uint64_t histograms = 0;        // native histograms written
    std::uint64_t points_converted = 0;  // kept OTLP points that were written
    std::uint32_t target_info = 0;       // target_info series written
    std::array<std::uint64_t, k_prw_conversion_drop_reasons> dropped{};  // OTLP points, by reason
    std::string first_drop;  // what happened to the first dropped point, for logs and answers

    std::uint64_t points_dropped() const {
        std::uint64_t n = 0;
        for (auto d : dropped) n += d;
        return n;
    }
};

// Prometheus' stale marker (a NaN with a fixed payload), written for no-recorded-value points.
inline constexpr std::uint64_t k_prometheus_stale_nan = 0x7ff0000000000002ULL;

struct otlp_point_values;  // otlp_point_values.h

class otlp_to_prw_converter {
  public:
    // Appends to `out` one remote write 1.0 TimeSeries field (WriteRequest field 1) per output
    // series of every point i with keep[i] != 0, without the labels strip_masks[i] selects
    // (strip_masks empty, or batch.size() entries: see series_batch.h). `out` stays a valid
    // WriteRequest (it only ever holds TimeSeries fields), so it can be concatenated with
    // others. `result` is reset and filled. Fails (malformed) only on caller errors: a batch
    // that is not OTLP, keep or masks of the wrong size, a mask bit past a point's labels, a
    // batch whose source changed since decoding; then `out` may hold a partial result.
    decode_status convert(const series_batch& batch, std::span<const std::uint8_t> keep,
                          std::span<const std::uint64_t> strip_masks, std::string& out,
                          prw_conversion_result& result, prw_conversion_options options = {});

    otlp_to_prw_converter();
    ~otlp_to_prw_converter();
    otlp_to_prw_converter(const otlp_to_prw_converter&) = delete;
    otlp_to_prw_converter& operator=(const otlp_to_prw_converter&) = delete;

    struct out_label {
        std::string_view name;
        std::string_view value;
    };

  private:
    struct walker;
    friend struct walker;

    std::unique_ptr<otlp_point_values> point_;  // one point's values, reused
    string_arena arena_;                        // sanitized names and joined values, per point
    std::vector<out_label> labels_;             // the point's labels, sorted, without __name__
    std::vector<out_label> merged_;             // labels_ + __name__ + le/quantile, for one series
    std::string name_;                          // full metric name of one series
    std::string number_;                        // a formatted le / quantile value
    std::string metric_name_;                   // the current metric's Prometheus name
    string_arena resource_arena_;               // a resource's rendered attributes (target_info)
    std::vector<label_view> resource_labels_;   // a resource's attributes, sorted by key
};

}  // namespace mg::protocol
