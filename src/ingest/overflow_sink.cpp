// The folded series of a request into the overflow store (see overflow_sink.h).
#include "ingest/overflow_sink.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <vector>

#include "protocol/series_samples.h"

namespace mg::ingest {

namespace {

overflow::fold_kind kind_of(std::string_view metric_name, protocol::series_type type) {
    switch (type) {
        case protocol::series_type::counter:
        case protocol::series_type::delta_counter:
            return overflow::fold_kind::counter;
        case protocol::series_type::gauge:
            return overflow::fold_kind::gauge;
        case protocol::series_type::unknown:
        case protocol::series_type::delta_other:
            break;
    }
    return overflow::cumulative_by_name(metric_name) ? overflow::fold_kind::counter
                                                     : overflow::fold_kind::gauge;
}

}  // namespace

void overflow_sink::fold(const protocol::series_batch& batch,
                         std::span<const limits::series_ref> refs,
                         std::span<const std::size_t> ref_index,
                         std::span<const limits::decision> decisions,
                         const std::function<std::string_view(std::size_t)>& tenant_of) {
    thread_local protocol::series_samples read;
    thread_local std::vector<protocol::sum_shape> shapes;
    shapes.clear();
    // OTLP: a Sum's or histogram's temporality (and a Sum's monotonicity) are its metric's,
    // read from the request once.
    if (batch.protocol() == protocol::source_protocol::otlp_protobuf) {
        for (std::size_t k = 0; k < refs.size() && shapes.empty(); ++k) {
            const auto kind = batch.entry(ref_index[k]).kind;
            if (decisions[k].overflow && (kind == protocol::metric_kind::sum ||
                                          kind == protocol::metric_kind::exponential_histogram ||
                                          kind == protocol::metric_kind::histogram))
                protocol::read_sum_shapes(batch, shapes);
        }
    }
    thread_local std::vector<overflow::fold_sample> samples;
    thread_local std::vector<label_view> kept;
    const auto now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_.wall_now().time_since_epoch())
            .count();
    std::uint64_t lost = 0;
    // The request's folds as one step for the emitter (an emission holds all of them or none),
    // entered at the first folded series.
    std::optional<overflow::overflow_store::request_folds> folding;
    for (std::size_t k = 0; k < refs.size(); ++k) {
        const auto& d = decisions[k];
        if (d.keep || !d.overflow || d.overflow_rule == nullptr) continue;
        if (!folding) folding.emplace(store_);
        const auto& s = refs[k];
        const auto& r = *d.overflow_rule;
        const auto i = ref_index[k];
        protocol::read_series_samples(batch, i, read, shapes.empty() ? nullptr : &shapes[i]);
        lost += read.unreadable;
        if (read.type == protocol::series_type::delta_other) {
            lost += read.samples.size();  // a non-monotonic delta has no overflow series
            continue;
        }
        if (read.samples.empty() && read.histograms.empty() && read.explicit_histograms.empty())
            continue;
        samples.clear();
        for (const auto& p : read.samples) samples.push_back({p.value, p.timestamp_ms});
        // keep_labels and the series' labels are both sorted by name: one merge.
        kept.clear();
        auto l = s.labels.begin();
        for (const auto& name : r.keep_labels) {
            l = std::lower_bound(
                l, s.labels.end(), name,
                [](const label_view& a, const std::string& n) { return a.name < n; });
            if (l != s.labels.end() && l->name == name) kept.push_back(*l);
        }
        overflow::fold_target t;
        t.tenant = tenant_of(i);
        t.metric_name = s.metric_name;
        t.kept_labels = kept;
        t.overflow_label = r.overflow_label;
        t.kind = kind_of(s.metric_name, read.type);
        t.delta = read.type == protocol::series_type::delta_counter;
        t.aggregation = r.overflow_aggregation;
        t.from_otlp = batch.protocol() == protocol::source_protocol::otlp_protobuf;
        t.unit = batch.entry(i).unit;
        t.max_tracked = static_cast<std::size_t>(r.overflow_max_tracked);
        t.interval = r.overflow_interval;
        const auto id =
            s.has_identity ? s.identity : cardinality::series_hash_sorted(s.metric_name, s.labels);
        if (!samples.empty() && !store_.fold(t, id, samples, now_ms)) lost += samples.size();
        if (!read.histograms.empty()) lost += fold_histograms(t, id, read.histograms, now_ms);
        if (!read.explicit_histograms.empty()) {
            t.kind = batch.entry(i).kind == protocol::metric_kind::summary
                         ? overflow::fold_kind::summary
                         : overflow::fold_kind::explicit_histogram;
            lost += read.explicit_histograms.size() -
                    store_.fold_explicit_histograms(t, id, read.explicit_histograms, now_ms);
        }
    }
    if (lost != 0) unfolded_.fetch_add(lost, std::memory_order_relaxed);
}

std::uint64_t overflow_sink::fold_histograms(const overflow::fold_target& target,
                                             std::uint64_t series,
                                             std::vector<histogram_sample>& histograms,
                                             std::int64_t now_ms) {
    // A gauge histogram is no counter: it has no increases to sum (lost, counted).
    const auto gauge = [](const histogram_sample& h) {
        return h.hint == histogram_reset_hint::gauge;
    };
    const auto n = histograms.size();
    histograms.erase(std::remove_if(histograms.begin(), histograms.end(), gauge), histograms.end());
    std::uint64_t lost = n - histograms.size();
    if (histograms.empty()) return lost;
    auto t = target;
    t.kind = overflow::fold_kind::histogram;
    return lost + histograms.size() - store_.fold_histograms(t, series, histograms, now_ms);
}

}  // namespace mg::ingest
