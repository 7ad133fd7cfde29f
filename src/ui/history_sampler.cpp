#include "ui/history_sampler.h"

namespace mg::ui {

history_input sample_governor(limits::governor& g, const prometheus::Registry* registry,
                              std::size_t top_n, const mg::clock& clock) {
    history_input in;
    in.unix_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock.wall_now().time_since_epoch())
            .count();
    g.refresh();
    in.total_series = g.active_series();
    in.max_series = g.options().max_series;
    in.metrics = g.top_metrics(top_n);
    // Every other tenant's own top_n: the history ranks them all together and keeps top_n.
    for (const auto& t : g.tenants()) {
        if (!t.is_default && t.metrics == 0 && t.active_series == 0) continue;
        in.tenant_series.emplace_back(t.is_default ? std::string() : t.name, t.active_series);
        if (t.is_default || t.metrics == 0) continue;
        for (auto& m : g.top_metrics(top_n, t.name)) in.tenant_metrics.emplace_back(t.name, m);
    }
    if (registry == nullptr) return in;
    std::uint64_t received = 0;
    std::uint64_t dropped = 0;
    for (const auto& family : registry->Collect()) {
        const bool is_received = family.name == "metrics_governor_series_received_total";
        const bool is_dropped = family.name == "metrics_governor_series_dropped_total";
        if (!is_received && !is_dropped) continue;
        for (const auto& m : family.metric) {
            const auto v = static_cast<std::uint64_t>(m.counter.value);
            if (is_received) {
                received += v;
                continue;
            }
            dropped += v;
            for (const auto& l : m.label) {
                if (l.name != "reason") continue;
                for (std::size_t r = 0; r < limits::k_drop_reasons; ++r) {
                    if (limits::reason_name(static_cast<limits::drop_reason>(r)) == l.value)
                        in.dropped_total[r] += v;
                }
            }
        }
    }
    in.kept_total = received >= dropped ? received - dropped : 0;
    return in;
}

}  // namespace mg::ui
