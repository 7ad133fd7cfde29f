// health: the daemon's lifecycle phase, as /live and /ready report it.
// starting -> ready -> stopping. /live answers 200 in every phase while the process serves HTTP
// (a liveness probe must not kill a daemon that is draining); /ready answers 503 while starting
// and while shutting down, so load balancers send no new traffic then.
// Thread-safe: one atomic.
#pragma once

#include <atomic>
#include <string_view>

namespace mg::telemetry {

class health {
  public:
    enum class phase { starting, ready, stopping };

    void set(phase p) { phase_.store(p, std::memory_order_release); }
    phase get() const { return phase_.load(std::memory_order_acquire); }
    static std::string_view name(phase p);

  private:
    std::atomic<phase> phase_{phase::starting};
};

}  // namespace mg::telemetry
