// log_gate: lets one log line through per interval, from any number of threads, without a lock:
// the drop logs of a rule and a rule's regex giving up are logged at most every 10 s however fast
// the senders trigger them. The first call always passes.
// Thread-safety: allow() may run concurrently; exactly one of racing callers passes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace mg::limits {

class log_gate {
  public:
    bool allow(std::chrono::steady_clock::time_point now, std::chrono::nanoseconds interval) {
        const auto now_ns =
            std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
        auto last = last_ns_.load(std::memory_order_relaxed);
        if (last != k_never && now_ns - last < interval.count()) return false;
        return last_ns_.compare_exchange_strong(last, now_ns, std::memory_order_relaxed);
    }

  private:
    static constexpr std::int64_t k_never = INT64_MIN;
    std::atomic<std::int64_t> last_ns_{k_never};
};

}  // namespace mg::limits
