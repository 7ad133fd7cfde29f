// clock: the one source of time for the daemon, injectable so tests drive rotation, TTLs and
// timeouts with simulated time (the Envoy TimeSource idea).
// Implementations are thread-safe; callers share one instance and do not own it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace mg {

class clock {
public:
    virtual ~clock() = default;
    // Wall time: timestamps written to disk and shown to people.
    virtual std::chrono::system_clock::time_point wall_now() const = 0;
    // Monotonic time: intervals, windows and deadlines; never jumps backwards.
    virtual std::chrono::steady_clock::time_point monotonic_now() const = 0;
};

// The real clocks. A process-wide instance is available from system_clock_instance().
class system_clock final : public clock {
public:
    std::chrono::system_clock::time_point wall_now() const override {
        return std::chrono::system_clock::now();
    }
    std::chrono::steady_clock::time_point monotonic_now() const override {
        return std::chrono::steady_clock::now();
    }
};

clock& system_clock_instance();

// A clock that only moves when told to. Both readings advance together.
class fake_clock final : public clock {
public:
    explicit fake_clock(std::chrono::system_clock::time_point wall_start =
                            std::chrono::system_clock::time_point{std::chrono::hours(24 * 365 * 50)})
        : wall_ns_(wall_start.time_since_epoch().count()) {}

    std::chrono::system_clock::time_point wall_now() const override {
        return std::chrono::system_clock::time_point{
            std::chrono::system_clock::duration{wall_ns_.load(std::memory_order_acquire)}};
    }
    std::chrono::steady_clock::time_point monotonic_now() const override {
        return std::chrono::steady_clock::time_point{
            std::chrono::steady_clock::duration{mono_ns_.load(std::memory_order_acquire)}};
    }
    template <typename Rep, typename Period>
    void advance(std::chrono::duration<Rep, Period> d) {
        wall_ns_.fetch_add(std::chrono::duration_cast<std::chrono::system_clock::duration>(d).count(),
                           std::memory_order_acq_rel);
        mono_ns_.fetch_add(std::chrono::duration_cast<std::chrono::steady_clock::duration>(d).count(),
                           std::memory_order_acq_rel);
    }

private:
    std::atomic<std::int64_t> wall_ns_;
    std::atomic<std::int64_t> mono_ns_{std::chrono::steady_clock::duration(std::chrono::hours(1)).count()};
};

}  // namespace mg
