// clock: the one source of time for the daemon, injectable so tests drive rotation, TTLs,
// timeouts and the background threads' waits with simulated time (the Envoy TimeSource idea).
// Anything that reads the time or waits for it asks a clock, never std::chrono or
// std::this_thread directly: a test that advances a fake_clock then moves every deadline in the
// code under test, and no test has to sleep for real.
//
// Waits: sleep_until() blocks the calling thread; wait_until()/wait_for() wait on the caller's
// condition variable (and mutex) with a deadline on this clock, like
// std::condition_variable::wait_until. The predicate forms return the predicate's value, so a
// caller cannot mistake a timeout for a wake-up or miss one.
//
// Implementations are thread-safe; callers share one instance and do not own it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

namespace mg {

class clock {
  public:
    using time_point = std::chrono::steady_clock::time_point;

    virtual ~clock() = default;
    // Wall time: timestamps written to disk and shown to people.
    virtual std::chrono::system_clock::time_point wall_now() const = 0;
    // Monotonic time: intervals, windows and deadlines; never jumps backwards.
    virtual time_point monotonic_now() const = 0;

    // Blocks until monotonic_now() >= deadline (returns at once when it already is).
    virtual void sleep_until(time_point deadline) = 0;

    // One wait on cv, as std::condition_variable::wait_until with this clock's deadline: `lock`
    // holds the mutex that guards what cv signals, and holds it again on return. Returns timeout
    // when monotonic_now() >= deadline on return; may wake spuriously, so callers loop (or use
    // the predicate form).
    std::cv_status wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                              time_point deadline) {
        return wait_once(lock, cv, deadline);
    }
    // Waits until stop_waiting() is true (checked with the lock held) or the deadline; returns
    // stop_waiting()'s last value, as the standard's predicate form does.
    template <typename Predicate>
    bool wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                    time_point deadline, Predicate stop_waiting) {
        while (!stop_waiting()) {
            if (wait_once(lock, cv, deadline) == std::cv_status::timeout) return stop_waiting();
        }
        return true;
    }
    // The same with a deadline of now + timeout (computed once, before the first wait).
    template <typename Rep, typename Period, typename Predicate>
    bool wait_for(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  std::chrono::duration<Rep, Period> timeout, Predicate stop_waiting) {
        return wait_until(lock, cv, deadline_after(timeout), std::move(stop_waiting));
    }

    // now + d, saturating at time_point::max() (an "interval" of years means "never").
    template <typename Rep, typename Period>
    time_point deadline_after(std::chrono::duration<Rep, Period> d) const {
        const auto now = monotonic_now();
        const auto step = std::chrono::duration_cast<time_point::duration>(d);
        return step >= time_point::max() - now ? time_point::max() : now + step;
    }

  protected:
    // The one blocking primitive of wait_until, implemented per clock.
    virtual std::cv_status wait_once(std::unique_lock<std::mutex>& lock,
                                     std::condition_variable& cv, time_point deadline) = 0;
};

// The real clocks. A process-wide instance is available from system_clock_instance().
class system_clock final : public clock {
  public:
    std::chrono::system_clock::time_point wall_now() const override {
        return std::chrono::system_clock::now();
    }
    time_point monotonic_now() const override { return std::chrono::steady_clock::now(); }
    void sleep_until(time_point deadline) override;

  protected:
    std::cv_status wait_once(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                             time_point deadline) override;
};

clock& system_clock_instance();

// A clock that only moves when told to. Both readings advance together.
//
// Waits: a thread waiting on a fake_clock is registered with it; advance() wakes every waiter
// whose deadline it passes, by notifying the waiter's condition variable under the waiter's own
// mutex, so a wake-up is never lost between a waiter's check of the time and its sleep (the
// waiter holds that mutex across both). A waiter does not return while advance() still holds
// a reference to its mutex or condition variable, so the caller may destroy them once its wait
// returns. advance() must not be called with a mutex held that a waiter passed to wait_until()
// (it locks that mutex).
//
// Tests use await_waiters() to know that the code under test is waiting (has computed its
// deadline) before they advance the time past it.
class fake_clock final : public clock {
  public:
    explicit fake_clock(std::chrono::system_clock::time_point wall_start =
                            std::chrono::system_clock::time_point{
                                std::chrono::hours(24 * 365 * 50)})
        : wall_ns_(wall_start.time_since_epoch().count()) {}

    std::chrono::system_clock::time_point wall_now() const override {
        return std::chrono::system_clock::time_point{
            std::chrono::system_clock::duration{wall_ns_.load(std::memory_order_acquire)}};
    }
    time_point monotonic_now() const override {
        return time_point{time_point::duration{mono_ns_.load(std::memory_order_acquire)}};
    }
    void sleep_until(time_point deadline) override;

    // Moves both readings forward by d and wakes the waiters whose deadline it reached.
    template <typename Rep, typename Period>
    void advance(std::chrono::duration<Rep, Period> d) {
        advance_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
    }

    // Blocks (for real, at most `timeout`) until at least n threads wait on this clock for a
    // deadline still ahead of monotonic_now(); false at the timeout. A waiter whose deadline an
    // advance() passed is not counted: it is on its way out of its wait.
    bool await_waiters(std::size_t n,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;
    // Threads waiting now for a deadline still ahead (see await_waiters).
    std::size_t waiters() const;

  protected:
    std::cv_status wait_once(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                             time_point deadline) override;

  private:
    // A thread inside wait_once(), on its own stack. pins: advance() calls under way that will
    // touch mu/cv; the waiter does not return before they are done.
    struct waiter {
        std::mutex* mu;
        std::condition_variable* cv;
        time_point deadline;
        int pins = 0;
    };

    void advance_ns(std::int64_t ns);
    std::size_t waiters_locked() const;  // registry_mu_ held

    std::atomic<std::int64_t> wall_ns_;
    std::atomic<std::int64_t> mono_ns_{
        std::chrono::duration_cast<time_point::duration>(std::chrono::hours(1)).count()};
    // Guards waiters_, the pins, and the moves of the time (so a waiter's check of the time and
    // its registration are one step as seen by advance()). Lock order: a waiter's mutex, then
    // this one; advance() never holds this one while it locks a waiter's mutex.
    mutable std::mutex registry_mu_;
    mutable std::condition_variable registry_cv_;  // a waiter came, a pin went
    std::vector<waiter*> waiters_;
};

}  // namespace mg
