// drop_samples: a bounded ring of recently dropped series, for the per-metric view of /ui
// (-ui-show-dropped-samples, off by default for privacy: off, the governor has no observer and
// nothing is collected). Each sample keeps the tenant, the metric name, the labels with their
// values cut to k_max_value_bytes (at most k_max_labels of them), the reason and the wall time.
//
// on_drop() runs on the governor's deciding threads in the middle of an explosion, so it never
// waits and costs little: at most one series is kept per `min_gap` (a clock read and an atomic
// load decide; default 5 ms, so at most 200 samples a second and the ring spans at least 5 s of
// drops), and when another thread holds the ring the series is skipped. These are samples, not
// a log.
// Memory: at most `capacity` samples of bounded size (about 4 KB each at worst: 16 labels of
// 128-byte names and 32-byte values; a few hundred bytes for a series of a few short labels).
// Thread-safety: every method may run concurrently from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "limits/governor.h"

namespace mg::ui {

struct dropped_series {
    std::int64_t unix_ms = 0;
    std::string tenant;  // "": the default tenant; cut to k_max_name_bytes
    std::string metric;  // cut to k_max_name_bytes
    std::vector<std::pair<std::string, std::string>> labels;
    bool labels_cut = false;  // more labels than k_max_labels
    limits::drop_reason reason = limits::drop_reason::none;
};

class drop_samples final : public limits::drop_observer {
  public:
    static constexpr std::size_t k_max_labels = 16;
    static constexpr std::size_t k_max_name_bytes = 128;
    static constexpr std::size_t k_max_value_bytes = 32;

    drop_samples(std::size_t capacity, const mg::clock& clock,
                 std::chrono::nanoseconds min_gap = std::chrono::milliseconds(5));

    void on_drop(const limits::series_ref& s, limits::drop_reason reason) noexcept override;
    // The newest first, at most `limit`, of one metric (empty: every metric) of one tenant
    // ("": the default tenant; nullopt: every tenant).
    std::vector<dropped_series> recent(std::string_view metric, std::size_t limit,
                                       std::optional<std::string_view> tenant = {}) const;
    std::size_t capacity() const { return capacity_; }

  private:
    std::size_t capacity_;
    const mg::clock& clock_;
    std::chrono::nanoseconds min_gap_;
    // Monotonic nanoseconds before which no series is kept.
    std::atomic<std::int64_t> next_ns_{std::numeric_limits<std::int64_t>::min()};
    mutable std::mutex mu_;
    std::vector<dropped_series> ring_;
    std::size_t next_ = 0;
};

// `s` cut to at most `max` bytes without splitting a UTF-8 sequence, with "…" when it was cut.
std::string truncate_utf8(std::string_view s, std::size_t max);

}  // namespace mg::ui
