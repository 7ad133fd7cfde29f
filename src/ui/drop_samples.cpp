#include "ui/drop_samples.h"

#include <algorithm>
#include <stdexcept>

namespace mg::ui {

std::string truncate_utf8(std::string_view s, std::size_t max) {
    if (s.size() <= max) return std::string(s);
    std::size_t end = max;
    // Back off continuation bytes (10xxxxxx) so the cut falls between characters.
    while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
    return std::string(s.substr(0, end)) + "\u2026";
}

drop_samples::drop_samples(std::size_t capacity, const mg::clock& clock,
                           std::chrono::nanoseconds min_gap)
    : capacity_(capacity), clock_(clock), min_gap_(min_gap) {
    if (capacity_ == 0) throw std::invalid_argument("drop_samples: capacity must be > 0");
    ring_.reserve(capacity_);
}

void drop_samples::on_drop(const limits::series_ref& s, limits::drop_reason reason) noexcept {
    // The gate: most drops of an explosion end here, after one clock read and one shared load.
    const auto now = clock_.monotonic_now().time_since_epoch();
    const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
    auto next = next_ns_.load(std::memory_order_relaxed);
    if (now_ns < next) return;
    if (!next_ns_.compare_exchange_strong(next, now_ns + min_gap_.count(),
                                          std::memory_order_relaxed))
        return;  // another thread took this slot
    try {
        std::unique_lock lock(mu_, std::try_to_lock);
        if (!lock.owns_lock()) return;  // another thread is recording: skip, never wait
        dropped_series d;
        d.unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        clock_.wall_now().time_since_epoch())
                        .count();
        d.reason = reason;
        d.tenant = truncate_utf8(s.tenant, k_max_name_bytes);
        d.metric = truncate_utf8(s.metric_name, k_max_name_bytes);
        const auto n = std::min(s.labels.size(), k_max_labels);
        d.labels.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            d.labels.emplace_back(truncate_utf8(s.labels[i].name, k_max_name_bytes),
                                  truncate_utf8(s.labels[i].value, k_max_value_bytes));
        }
        d.labels_cut = s.labels.size() > k_max_labels;
        if (ring_.size() < capacity_) {
            ring_.push_back(std::move(d));
        } else {
            ring_[next_] = std::move(d);
        }
        next_ = (next_ + 1) % capacity_;
    } catch (...) {
        // Out of memory while sampling: the sample is lost, the decision is not affected.
    }
}

std::vector<dropped_series> drop_samples::recent(std::string_view metric, std::size_t limit,
                                                 std::optional<std::string_view> tenant) const {
    // Compared as stored: a long tenant name was cut the same way.
    const auto cut =
        tenant ? std::optional(truncate_utf8(*tenant, k_max_name_bytes)) : std::nullopt;
    std::vector<dropped_series> out;
    std::lock_guard lock(mu_);
    for (std::size_t k = 0; k < ring_.size() && out.size() < limit; ++k) {
        const auto& d = ring_[(next_ + ring_.size() - 1 - k) % ring_.size()];
        if ((metric.empty() || d.metric == metric) && (!cut || d.tenant == *cut)) out.push_back(d);
    }
    return out;
}

}  // namespace mg::ui
