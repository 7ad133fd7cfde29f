// The real clock's waits and the fake clock's registry of waiters (see clock.h).
#include "common/clock.h"

#include <algorithm>
#include <thread>

namespace mg {

clock& system_clock_instance() {
    static system_clock instance;
    return instance;
}

void system_clock::sleep_until(time_point deadline) {
    std::this_thread::sleep_until(deadline);
}

std::cv_status system_clock::wait_once(std::unique_lock<std::mutex>& lock,
                                       std::condition_variable& cv, time_point deadline) {
    // "Never" waits for a notification only: no deadline arithmetic near the type's limit.
    if (deadline == time_point::max()) {
        cv.wait(lock);
        return std::cv_status::no_timeout;
    }
    return cv.wait_until(lock, deadline);
}

void fake_clock::sleep_until(time_point deadline) {
    // A wait on a condition variable nobody else knows: only advance() ends it.
    std::mutex mu;
    std::condition_variable cv;
    std::unique_lock lock(mu);
    while (wait_once(lock, cv, deadline) != std::cv_status::timeout) {
    }
}

std::cv_status fake_clock::wait_once(std::unique_lock<std::mutex>& lock,
                                     std::condition_variable& cv, time_point deadline) {
    waiter self{lock.mutex(), &cv, deadline};
    {
        // The time is checked and the waiter registered in one step for advance(): an advance
        // after it finds the waiter, and must lock the caller's mutex (held until cv.wait()
        // releases it) before it notifies, so the notification cannot come before the wait.
        std::lock_guard registry(registry_mu_);
        if (monotonic_now() >= deadline) return std::cv_status::timeout;
        waiters_.push_back(&self);
    }
    registry_cv_.notify_all();
    cv.wait(lock);
    std::unique_lock registry(registry_mu_);
    waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &self));
    if (self.pins > 0) {
        // An advance() picked this waiter and will still lock its mutex and notify its cv: wait
        // until it has (without the caller's mutex, which it needs), so the caller may destroy
        // both as soon as this returns.
        lock.unlock();
        registry_cv_.wait(registry, [&self] { return self.pins == 0; });
        registry.unlock();
        lock.lock();
    }
    return monotonic_now() >= deadline ? std::cv_status::timeout : std::cv_status::no_timeout;
}

void fake_clock::advance_ns(std::int64_t ns) {
    std::vector<waiter*> due;
    {
        std::lock_guard registry(registry_mu_);
        const std::chrono::nanoseconds d(ns);
        wall_ns_.fetch_add(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(d).count(),
            std::memory_order_acq_rel);
        mono_ns_.fetch_add(std::chrono::duration_cast<time_point::duration>(d).count(),
                           std::memory_order_acq_rel);
        const auto now = monotonic_now();
        for (waiter* w : waiters_) {
            if (w->deadline > now) continue;
            ++w->pins;
            due.push_back(w);
        }
    }
    if (due.empty()) return;
    for (waiter* w : due) {
        // Taking the waiter's mutex orders this notification after its wait began (see wait_once).
        { std::lock_guard wait_lock(*w->mu); }
        w->cv->notify_all();
    }
    {
        std::lock_guard registry(registry_mu_);
        for (waiter* w : due) --w->pins;
    }
    registry_cv_.notify_all();
}

std::size_t fake_clock::waiters_locked() const {
    const auto now = monotonic_now();
    return static_cast<std::size_t>(std::count_if(
        waiters_.begin(), waiters_.end(), [now](const waiter* w) { return w->deadline > now; }));
}

std::size_t fake_clock::waiters() const {
    std::lock_guard registry(registry_mu_);
    return waiters_locked();
}

bool fake_clock::await_waiters(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock registry(registry_mu_);
    return registry_cv_.wait_for(registry, timeout, [&] { return waiters_locked() >= n; });
}

}  // namespace mg
