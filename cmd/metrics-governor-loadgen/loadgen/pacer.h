// pacer: when each request is due under -rate, as offsets from the start of the run.
//
// Requests are numbered in one global order, g = cycle * requests_per_cycle + request, and
// request g is due at g / rate seconds. Connection k sends the requests r with r % C == k, so the
// connections share the rate and the total is R requests per second, whatever C is. The schedule
// is absolute: a connection that fell behind (slow responses) sends its late requests at once,
// without waiting, until it is back on schedule; it never skips requests. Latency is measured
// from the moment a request is written, not from when it was due, so under overload the report
// shows the receiver's latency while the achieved rate shows the shortfall.
//
// Pure and header-only; safe from any thread.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>

namespace mg::loadgen {

class pacer {
  public:
    // rate_per_second <= 0: unpaced, every request is due at once.
    explicit pacer(double rate_per_second) : rate_(rate_per_second > 0 ? rate_per_second : 0) {}

    bool paced() const { return rate_ > 0; }

    std::chrono::nanoseconds due(std::uint64_t request_index) const {
        if (!paced()) return std::chrono::nanoseconds(0);
        return std::chrono::nanoseconds(
            std::llround(static_cast<double>(request_index) * (1e9 / rate_)));
    }

    static std::uint64_t request_index(std::uint64_t cycle, std::uint64_t request,
                                       std::uint64_t requests_per_cycle) {
        return cycle * requests_per_cycle + request;
    }

  private:
    double rate_;
};

}  // namespace mg::loadgen
