#include "protocol/otlp_to_prw.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "protocol/otlp_internal.h"
#include "protocol/otlp_json_internal.h"
#include "protocol/otlp_point_values.h"
#include "protocol/otlp_schema.h"
#include "protocol/prometheus_names.h"
#include "protocol/remote_write_schema.h"
#include "protocol/wire.h"

namespace mg::protocol {

using json = nlohmann::json;
using otlp_detail::json_monotonic;
using otlp_detail::json_temporality;
using otlp_detail::read_json_point;
using otlp_detail::read_pb_point;
using otlp_json_detail::member;
using namespace otlp_schema;  // field numbers, kind_of, k_kinds

std::string_view to_string(prw_conversion_drop r) {
    switch (r) {
        case prw_conversion_drop::delta_temporality:
            return "delta_temporality";
        case prw_conversion_drop::unspecified_temporality:
            return "unspecified_temporality";
        case prw_conversion_drop::invalid_metric_name:
            return "invalid_metric_name";
        case prw_conversion_drop::invalid_label_name:
            return "invalid_label_name";
        case prw_conversion_drop::invalid_point:
            return "invalid_point";
        case prw_conversion_drop::unsupported_scale:
            return "unsupported_scale";
        case prw_conversion_drop::exponential_histogram:
            return "exponential_histogram";
    }
    return "unknown";
}

namespace {

namespace v1 = rw_schema::v1;  // the output: remote write 1.0 TimeSeries

constexpr double k_default_zero_threshold = 1e-128;
constexpr std::int64_t k_min_schema = -4, k_max_schema = 8;

// An array field, or nullptr (absent or not an array: the decoder refused the latter already).
const json* array_of(const json& obj, const char* camel, const char* snake) {
    const json* a = member(obj, camel, snake);
    return a != nullptr && a->is_array() ? a : nullptr;
}

}  // namespace

struct otlp_to_prw_converter::walker {
    otlp_to_prw_converter& c;
    const series_batch& batch;
    std::span<const std::uint8_t> keep;
    std::span<const std::uint64_t> masks;
    wire_writer w;
    prw_conversion_result& result;
    prw_conversion_options options;
    std::size_t next = 0;  // index of the next point in decode order
    bool mismatch = false;
    // The current metric: its unit and name type, and whether c.metric_name_ is computed (once
    // per metric, at its first kept point).
    std::string_view unit{};
    bool name_ready = false;
    std::string_view series_name{};      // the name begin_series() writes (plus a suffix)
    std::uint64_t resource_time_ns = 0;  // latest time of the current resource's kept points

    otlp_point_values& v() { return *c.point_; }

    // ---- walking the request in the decoder's order ----

    void protobuf(bytes_view body) {
        wire_reader r(body);
        wire_field f;
        while (r.next(f)) {
            if (f.number != req_resource_metrics || f.type != wire_type::len) continue;
            resource_time_ns = 0;
            wire_reader rr(f.bytes);
            wire_field g;
            while (rr.next(g)) {
                if (g.number != rm_scope_metrics || g.type != wire_type::len) continue;
                wire_reader sr(g.bytes);
                wire_field m;
                while (sr.next(m)) {
                    if (m.number == sm_metrics && m.type == wire_type::len) pb_metric(m.bytes);
                }
            }
            if (options.target_info && resource_time_ns != 0) pb_target_info(f.bytes);
        }
    }

    // The resource's attributes (a repeated Resource merges: they accumulate), rendered as the
    // decoder renders them, sorted by key (unique: the decoder refused duplicates).
    void pb_target_info(bytes_view resource_metrics) {
        c.resource_arena_.clear();
        c.resource_labels_.clear();
        wire_reader r(resource_metrics);
        wire_field f;
        while (r.next(f)) {
            if (f.number != rm_resource || f.type != wire_type::len) continue;
            wire_reader rr(f.bytes);
            wire_field g;
            while (rr.next(g)) {
                if (g.number != resource_attributes || g.type != wire_type::len) continue;
                label_view l;
                bytes_view value;
                wire_reader kr(g.bytes);
                wire_field kv;
                while (kr.next(kv)) {
                    if (kv.type != wire_type::len) continue;
                    if (kv.number == kv_key) l.name = kv.bytes;
                    if (kv.number == kv_value) value = kv.bytes;
                }
                c.number_.clear();
                if (!value.empty() && !otlp_detail::render_attribute_value(value, c.number_)) {
                    continue;  // the decoder accepted it: not reached
                }
                l.value = c.resource_arena_.store(c.number_);
                c.resource_labels_.push_back(l);
            }
        }
        target_info();
    }

    void pb_metric(bytes_view payload) {
        wire_reader r(payload);
        wire_field f;
        unit = {};
        while (r.next(f)) {
            if (f.number == metric_unit && f.type == wire_type::len) unit = f.bytes;
        }
        wire_reader r2(payload);
        while (r2.next(f)) {
            const metric_kind k = kind_of(f.number);
            if (k == metric_kind::unknown || f.type != wire_type::len) continue;
            // Metric-level fields may follow the points on the wire: read them first.
            std::uint64_t temporality = 0;
            bool monotonic = false;
            wire_reader dr(f.bytes);
            wire_field g;
            while (dr.next(g)) {
                if (g.type != wire_type::varint) continue;
                if (g.number == data_temporality) temporality = g.value;
                if (g.number == data_is_monotonic) monotonic = g.value != 0;
            }
            name_ready = false;  // the name depends on the kind and monotonicity
            wire_reader pr(f.bytes);
            while (pr.next(g)) {
                if (g.number != data_points || g.type != wire_type::len) continue;
                const std::size_t n = next++;
                if (n >= batch.size() || batch.entry(n).raw.data() != g.raw.data()) {
                    mismatch = true;
                    return;
                }
                if (keep[n] == 0) continue;
                v().reset(k, temporality, monotonic);
                read_pb_point(g.bytes, v());
                point(n);
            }
        }
    }

    void json_request(const json& root) {
        const json* rms = array_of(root, "resourceMetrics", "resource_metrics");
        if (rms == nullptr) return;
        for (const json& rm : *rms) {
            const json* sms = array_of(rm, "scopeMetrics", "scope_metrics");
            if (sms == nullptr) continue;
            resource_time_ns = 0;
            for (const json& sm : *sms) {
                const json* metrics = array_of(sm, "metrics", nullptr);
                if (metrics == nullptr) continue;
                for (const json& m : *metrics) json_metric(m);
            }
            if (options.target_info && resource_time_ns != 0) json_target_info(rm);
        }
    }

    void json_target_info(const json& rm) {
        c.resource_arena_.clear();
        c.resource_labels_.clear();
        const json* res = member(rm, "resource", nullptr);
        const json* attrs = res != nullptr ? array_of(*res, "attributes", nullptr) : nullptr;
        if (attrs != nullptr) {
            for (const json& kv : *attrs) {
                const json* key = member(kv, "key", nullptr);
                if (key == nullptr || !key->is_string()) continue;
                const json* value = member(kv, "value", nullptr);
                c.number_.clear();
                if (value != nullptr &&
                    !otlp_json_detail::render_attribute_value(*value, c.number_)) {
                    continue;  // the decoder accepted it: not reached
                }
                c.resource_labels_.push_back(
                    {key->get_ref<const std::string&>(), c.resource_arena_.store(c.number_)});
            }
        }
        target_info();
    }

    static bool identifying(std::string_view key) {
        return key == "service.name" || key == "service.namespace" || key == "service.instance.id";
    }

    // One target_info sample for the resource in c.resource_labels_, as Prometheus makes it:
    // only when the resource has attributes besides the identifying ones, and job or instance.
    void target_info() {
        std::stable_sort(c.resource_labels_.begin(), c.resource_labels_.end(),
                         [](const label_view& a, const label_view& b) { return a.name < b.name; });
        if (std::all_of(c.resource_labels_.begin(), c.resource_labels_.end(),
                        [](const label_view& l) { return identifying(l.name); })) {
            return;
        }
        std::string_view bad_key;
        if (!labels(c.resource_labels_, 0, bad_key, /*drop_identifying=*/true)) return;
        const bool has_identifier =
            std::any_of(c.labels_.begin(), c.labels_.end(),
                        [](const out_label& l) { return l.name == "job" || l.name == "instance"; });
        if (!has_identifier) return;
        series_name = "target_info";
        sample_series("", "", "", 1.0, to_ms(resource_time_ns));
        ++result.target_info;
    }

    void json_metric(const json& m) {
        const json* u = member(m, "unit", nullptr);
        unit = u != nullptr && u->is_string() ? std::string_view(u->get_ref<const std::string&>())
                                              : std::string_view();
        for (const kind_key& k : k_kinds) {
            name_ready = false;
            const json* data = member(m, k.camel, k.snake);
            if (data == nullptr || !data->is_object()) continue;
            const json* points = array_of(*data, "dataPoints", "data_points");
            if (points == nullptr) continue;
            const std::uint64_t temporality = json_temporality(*data);
            const bool monotonic = json_monotonic(*data);
            for (const json& p : *points) {
                const std::size_t n = next++;
                if (n >= batch.size() || batch[n].kind != k.kind) {
                    mismatch = true;
                    return;
                }
                if (keep[n] == 0) continue;
                v().reset(k.kind, temporality, monotonic);
                read_json_point(p, v());
                point(n);
            }
        }
    }

    // ---- one kept point ----

    void drop(prw_conversion_drop why, std::string_view name, std::string_view detail) {
        ++result.dropped[static_cast<std::size_t>(why)];
        if (result.first_drop.empty()) {
            result.first_drop = "metric \"" + std::string(name) + "\": " + std::string(detail);
        }
    }

    void point(std::size_t n) {
        const series_view s = batch[n];
        otlp_point_values& p = v();
        resource_time_ns = std::max(resource_time_ns, p.time_ns);
        if (p.kind == metric_kind::exponential_histogram && !options.native_histograms) {
            return drop(prw_conversion_drop::exponential_histogram, s.metric_name,
                        "exponential histograms are not exported: native histograms are off");
        }
        if (p.kind == metric_kind::sum || p.kind == metric_kind::histogram ||
            p.kind == metric_kind::exponential_histogram) {
            if (p.temporality == 1) {
                return drop(prw_conversion_drop::delta_temporality, s.metric_name,
                            "delta temporality cannot be stored by a remote-write backend");
            }
            if (p.temporality != 2) {
                return drop(prw_conversion_drop::unspecified_temporality, s.metric_name,
                            "aggregation temporality is not cumulative (unspecified)");
            }
        }
        if (p.bad != nullptr) return drop(prw_conversion_drop::invalid_point, s.metric_name, p.bad);
        if (p.time_ns == 0) {
            return drop(prw_conversion_drop::invalid_point, s.metric_name,
                        "the data point has no time_unix_nano");
        }
        if (const char* why = validate(p); why != nullptr) {
            return drop(p.kind == metric_kind::exponential_histogram && p.scale < k_min_schema
                            ? prw_conversion_drop::unsupported_scale
                            : prw_conversion_drop::invalid_point,
                        s.metric_name, why);
        }
        if (!name_ready) {
            metric_name(s.metric_name, p);
            name_ready = true;
        }
        if (c.metric_name_.empty()) {
            return drop(prw_conversion_drop::invalid_metric_name, s.metric_name,
                        "the name has no character valid in a Prometheus metric name");
        }
        const std::uint64_t mask = masks.empty() ? 0 : masks[n];
        std::string_view bad_key;
        if (!labels(s.labels, mask, bad_key)) {
            return drop(prw_conversion_drop::invalid_label_name, s.metric_name,
                        "attribute \"" + std::string(bad_key) +
                            "\" has no character valid in a Prometheus label name");
        }
        series_name = c.metric_name_;
        write_point(p);
        ++result.points_converted;
    }

    void metric_name(std::string_view otlp_name, const otlp_point_values& p) {
        if (!options.name_suffixes) return sanitize_metric_name(otlp_name, c.metric_name_);
        const otlp_name_type type = p.kind == metric_kind::gauge ? otlp_name_type::gauge
                                    : p.kind == metric_kind::sum && p.monotonic
                                        ? otlp_name_type::monotonic_sum
                                        : otlp_name_type::other;
        suffixed_metric_name(otlp_name, unit, type, c.metric_name_);
    }

    // Checks the values against what the point type promises; nullptr when they are usable.
    static const char* validate(otlp_point_values& p) {
        switch (p.kind) {
            case metric_kind::histogram: {
                if (!p.bucket_counts.empty() && p.bucket_counts.size() != p.bounds.size() + 1) {
                    return "bucket_counts must have one more entry than explicit_bounds";
                }
                for (std::size_t i = 0; i < p.bounds.size(); ++i) {
                    if (!std::isfinite(p.bounds[i])) return "explicit_bounds must be finite";
                    if (i > 0 && !(p.bounds[i - 1] < p.bounds[i])) {
                        return "explicit_bounds must be strictly increasing";
                    }
                }
                std::uint64_t total = 0;
                for (std::uint64_t b : p.bucket_counts) {
                    if (__builtin_add_overflow(total, b, &total)) return "bucket counts overflow";
                }
                if (!p.bucket_counts.empty() && total != p.count) {
                    return "count is not the sum of bucket_counts";
                }
                return nullptr;
            }
            case metric_kind::summary: {
                std::sort(p.quantiles.begin(), p.quantiles.end());
                for (std::size_t i = 0; i < p.quantiles.size(); ++i) {
                    const double q = p.quantiles[i].first;
                    if (!(q >= 0 && q <= 1)) return "a quantile is outside [0, 1]";
                    if (i > 0 && p.quantiles[i - 1].first == q) return "a quantile appears twice";
                }
                return nullptr;
            }
            case metric_kind::exponential_histogram: {
                if (p.scale < k_min_schema) {
                    return "exponential histogram scale is below -4, the smallest Prometheus "
                           "schema";
                }
                std::uint64_t total = p.zero_count;
                for (const auto* counts : {&p.pos_counts, &p.neg_counts}) {
                    for (std::uint64_t b : *counts) {
                        if (__builtin_add_overflow(total, b, &total))
                            return "bucket counts overflow";
                    }
                }
                if (total > p.count) return "count is less than zero_count plus the bucket counts";
                for (const auto& [offset, counts] : {std::pair{p.pos_offset, &p.pos_counts},
                                                     std::pair{p.neg_offset, &p.neg_counts}}) {
                    if (offset + static_cast<std::int64_t>(counts->size()) >=
                        std::numeric_limits<std::int32_t>::max()) {
                        return "bucket indexes past the int32 range";
                    }
                }
                if (!(p.zero_threshold >= 0) || std::isinf(p.zero_threshold)) {
                    return "zero_threshold must be a finite non-negative number";
                }
                return nullptr;
            }
            default:
                return nullptr;
        }
    }

    // The point's labels into c.labels_: sanitized, collisions joined with ';' in the order of
    // the original keys, job/instance derived, sorted, empty values left out (an empty value is
    // no label in Prometheus). False with `bad_key` set when a key cannot be made valid.
    // drop_identifying (target_info): service.name/namespace/instance.id only make job/instance.
    bool labels(std::span<const label_view> in, std::uint64_t mask, std::string_view& bad_key,
                bool drop_identifying = false) {
        c.arena_.clear();
        c.labels_.clear();
        std::string_view svc_name, svc_ns, svc_instance;
        bool has_name = false, has_instance = false;
        for (std::size_t j = 0; j < in.size(); ++j) {
            if (j < 64 && ((mask >> j) & 1U) != 0) continue;
            const label_view& l = in[j];
            if (l.name == "service.name") {
                svc_name = l.value;
                has_name = true;
            } else if (l.name == "service.namespace") {
                svc_ns = l.value;
            } else if (l.name == "service.instance.id") {
                svc_instance = l.value;
                has_instance = true;
            }
            if (drop_identifying && identifying(l.name)) continue;
            sanitize_label_name(l.name, c.name_);
            if (c.name_.empty()) {
                bad_key = l.name;
                return false;
            }
            const std::string_view name = c.name_ == l.name ? l.name : c.arena_.store(c.name_);
            c.labels_.push_back({name, l.value});
        }
        // Stable: equal sanitized names keep the order of their original (sorted) keys. The
        // input is sorted by original name and sanitizing rarely reorders, so an insertion sort
        // is linear here and, unlike std::stable_sort, allocates nothing.
        const auto less = [](const out_label& a, const out_label& b) { return a.name < b.name; };
        if (c.labels_.size() <= 64) {
            for (std::size_t i = 1; i < c.labels_.size(); ++i) {
                for (std::size_t k = i; k > 0 && less(c.labels_[k], c.labels_[k - 1]); --k) {
                    std::swap(c.labels_[k], c.labels_[k - 1]);
                }
            }
        } else {
            std::stable_sort(c.labels_.begin(), c.labels_.end(), less);
        }
        std::size_t kept = 0;
        for (std::size_t i = 0; i < c.labels_.size(); ++i) {
            if (kept > 0 && c.labels_[kept - 1].name == c.labels_[i].name) {
                c.number_.assign(c.labels_[kept - 1].value);
                c.number_ += ';';
                c.number_ += c.labels_[i].value;
                c.labels_[kept - 1].value = c.arena_.store(c.number_);
            } else {
                c.labels_[kept++] = c.labels_[i];
            }
        }
        c.labels_.resize(kept);
        if (has_name) {
            if (svc_ns.empty()) {
                set_label("job", svc_name);
            } else {
                c.number_.assign(svc_ns);
                c.number_ += '/';
                c.number_ += svc_name;
                set_label("job", c.arena_.store(c.number_));
            }
        }
        if (has_instance) set_label("instance", svc_instance);
        std::erase_if(c.labels_, [](const out_label& l) {
            return l.value.empty() || l.name == "__name__";  // the metric name wins
        });
        return true;
    }

    void set_label(std::string_view name, std::string_view value) {
        auto it =
            std::lower_bound(c.labels_.begin(), c.labels_.end(), name,
                             [](const out_label& l, std::string_view n) { return l.name < n; });
        if (it != c.labels_.end() && it->name == name) {
            it->value = value;
        } else {
            c.labels_.insert(it, {name, value});
        }
    }

    // ---- output ----

    static std::int64_t to_ms(std::uint64_t ns) { return static_cast<std::int64_t>(ns / 1000000U); }

    // Begins one TimeSeries named series_name + suffix, with c.labels_ and at most one
    // extra label (le / quantile; empty name: none). Returns the token for end_message().
    std::size_t begin_series(std::string_view suffix, std::string_view extra_name,
                             std::string_view extra_value) {
        c.name_.assign(series_name);
        c.name_ += suffix;
        const out_label extras[2] = {{"__name__", c.name_}, {extra_name, extra_value}};
        const std::size_t n_extra = extra_name.empty() ? 1 : 2;  // "__name__" < "le", "quantile"
        const std::size_t t = w.begin_message(v1::req_timeseries);
        std::size_t e = 0;
        const auto write = [&](const out_label& l) {
            const std::size_t lt = w.begin_message(v1::ts_labels);
            w.bytes_field(v1::label_name, l.name);
            w.bytes_field(v1::label_value, l.value);
            w.end_message(lt);
        };
        for (const out_label& l : c.labels_) {
            while (e < n_extra && extras[e].name < l.name) write(extras[e++]);
            if (e < n_extra && extras[e].name == l.name) {
                write(extras[e++]);  // the extra label overrides an attribute of that name
                continue;
            }
            write(l);
        }
        while (e < n_extra) write(extras[e++]);
        ++result.series;
        return t;
    }

    void sample_series(std::string_view suffix, std::string_view extra_name,
                       std::string_view extra_value, double value, std::int64_t ts) {
        const std::size_t t = begin_series(suffix, extra_name, extra_value);
        const std::size_t st = w.begin_message(v1::ts_samples);
        w.double_field(v1::sample_value, value);
        w.int64_field(v1::sample_timestamp, ts);
        w.end_message(st);
        w.end_message(t);
        ++result.samples;
    }

    void write_point(const otlp_point_values& p) {
        const std::int64_t ts = to_ms(p.time_ns);
        const bool stale = (p.flags & flag_no_recorded_value) != 0;
        const double stale_nan = std::bit_cast<double>(k_prometheus_stale_nan);
        const auto val = [&](double x) { return stale ? stale_nan : x; };
        switch (p.kind) {
            case metric_kind::gauge:
            case metric_kind::sum:
                sample_series("", "", "", val(p.value), ts);
                break;
            case metric_kind::histogram: {
                std::uint64_t cumulative = 0;
                if (!p.bucket_counts.empty()) {
                    for (std::size_t i = 0; i < p.bounds.size(); ++i) {
                        cumulative += p.bucket_counts[i];
                        format_fixed(p.bounds[i], c.number_);
                        sample_series("_bucket", "le", c.number_,
                                      val(static_cast<double>(cumulative)), ts);
                    }
                }
                sample_series("_bucket", "le", "+Inf", val(static_cast<double>(p.count)), ts);
                if (p.has_sum) sample_series("_sum", "", "", val(p.sum), ts);
                sample_series("_count", "", "", val(static_cast<double>(p.count)), ts);
                break;
            }
            case metric_kind::summary:
                for (const auto& [q, value] : p.quantiles) {
                    format_fixed(q, c.number_);
                    sample_series("", "quantile", c.number_, val(value), ts);
                }
                sample_series("_sum", "", "", val(p.sum), ts);
                sample_series("_count", "", "", val(static_cast<double>(p.count)), ts);
                break;
            case metric_kind::exponential_histogram:
                native_histogram(p, ts, stale);
                break;
            case metric_kind::unknown:
                break;
        }
    }

    // prompb.Histogram with integer counts (schema is a sint32, the deltas packed sint64);
    // reset_hint left UNKNOWN.
    void native_histogram(const otlp_point_values& p, std::int64_t ts, bool stale) {
        std::int64_t scale = p.scale;
        unsigned down = 0;
        if (scale > k_max_schema) {
            down = static_cast<unsigned>(std::min<std::int64_t>(scale - k_max_schema, 63));
            scale = k_max_schema;
        }
        const std::size_t t = begin_series("", "", "");
        const std::size_t ht = w.begin_message(v1::ts_histograms);
        if (stale) {
            w.varint_field(v1::histogram_count_int, k_prometheus_stale_nan);
            w.double_field(v1::histogram_sum, std::bit_cast<double>(k_prometheus_stale_nan));
        } else {
            w.varint_field(v1::histogram_count_int, p.count);
            w.double_field(v1::histogram_sum, p.has_sum ? p.sum : 0.0);
        }
        w.varint_field(v1::histogram_schema, zigzag_encode32(static_cast<std::int32_t>(scale)));
        w.double_field(v1::histogram_zero_threshold,
                       p.zero_threshold > 0 ? p.zero_threshold : k_default_zero_threshold);
        w.varint_field(v1::histogram_zero_count_int, p.zero_count);
        buckets(p.neg_offset, p.neg_counts, down, v1::histogram_negative_spans,
                v1::histogram_negative_deltas);
        buckets(p.pos_offset, p.pos_counts, down, v1::histogram_positive_spans,
                v1::histogram_positive_deltas);
        w.int64_field(v1::histogram_timestamp, ts);
        w.end_message(ht);
        w.end_message(t);
        ++result.histograms;
    }

    // OTLP bucket i (at `offset + i`) covers (base^i, base^(i+1)]; Prometheus' bucket k covers
    // (base^(k-1), base^k], hence k = i + 1. Downscaling by `down` merges 2^down neighbours:
    // i -> i >> down (floor). The merged indexes are contiguous, so one span carries them all
    // (empty buckets inside it are written as zero deltas); empty buckets at both ends are left
    // out.
    void buckets(std::int64_t offset, const std::vector<std::uint64_t>& counts, unsigned down,
                 std::uint32_t spans_field, std::uint32_t deltas_field) {
        std::size_t lo = 0, hi = counts.size();
        while (lo < hi && counts[lo] == 0) ++lo;
        while (hi > lo && counts[hi - 1] == 0) --hi;
        if (lo == hi) return;
        const auto merged_index = [&](std::size_t i) {
            return ((offset + static_cast<std::int64_t>(i)) >> down) + 1;
        };
        const std::int64_t first = merged_index(lo);
        const std::int64_t last = merged_index(hi - 1);
        const std::size_t st = w.begin_message(spans_field);
        w.varint_field(v1::span_offset, zigzag_encode32(static_cast<std::int32_t>(first)));
        w.varint_field(v1::span_length, static_cast<std::uint64_t>(last - first + 1));
        w.end_message(st);
        const std::size_t dt = w.begin_message(deltas_field);
        std::int64_t prev = 0;
        std::int64_t index = first;
        std::uint64_t acc = 0;
        for (std::size_t i = lo; i < hi; ++i) {
            const std::int64_t k = merged_index(i);
            if (k != index) {
                wire_writer::put_varint(w.out(),
                                        zigzag_encode64(static_cast<std::int64_t>(acc) - prev));
                prev = static_cast<std::int64_t>(acc);
                acc = 0;
                index = k;
            }
            acc += counts[i];
        }
        wire_writer::put_varint(w.out(), zigzag_encode64(static_cast<std::int64_t>(acc) - prev));
        w.end_message(dt);
    }
};

otlp_to_prw_converter::otlp_to_prw_converter() : point_(std::make_unique<otlp_point_values>()) {}
otlp_to_prw_converter::~otlp_to_prw_converter() = default;

decode_status otlp_to_prw_converter::convert(const series_batch& batch,
                                             std::span<const std::uint8_t> keep,
                                             std::span<const std::uint64_t> strip_masks,
                                             std::string& out, prw_conversion_result& result,
                                             prw_conversion_options options) {
    result = prw_conversion_result{};
    const bool json_input = batch.protocol() == source_protocol::otlp_json;
    if (batch.protocol() != source_protocol::otlp_protobuf && !json_input) {
        return decode_status::malformed("OTLP to remote write: the batch is not OTLP");
    }
    if (json_input && batch.json_document() == nullptr) {
        return decode_status::malformed("OTLP to remote write: the JSON batch has no document");
    }
    if (keep.size() != batch.size()) {
        return decode_status::malformed("OTLP to remote write: keep mask size does not match");
    }
    bool any = false;
    if (auto s = check_strip_masks(batch, keep, strip_masks, any); !s) return s;
    walker wk{*this,
              batch,
              keep,
              any ? strip_masks : std::span<const std::uint64_t>(),
              wire_writer(out),
              result,
              options};
    if (json_input) {
        wk.json_request(batch.json_document()->get().root);
    } else {
        wk.protobuf(batch.body());
    }
    if (wk.mismatch || wk.next != batch.size()) {
        return decode_status::malformed(
            "OTLP to remote write: batch source changed since decoding");
    }
    return decode_status::success();
}

}  // namespace mg::protocol
