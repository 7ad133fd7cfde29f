// Shard autoscaling decisions (see shard_scaler.h).
#include "export/shard_scaler.h"

#include <algorithm>

namespace mg::exporter {

std::uint32_t shard_scaler::on_tick(std::uint32_t current, const lane_usage& u,
                                    std::chrono::steady_clock::time_point now) {
    const auto clamp = [&](std::uint32_t n) { return std::clamp(n, o_.min_shards, std::max(o_.min_shards, o_.max_shards)); };
    if (!started_) {
        started_ = true;
        last_tick_ = now;
        last_busy_ = u.busy;
        return clamp(current);
    }
    const auto elapsed = now - last_tick_;
    const auto busy = u.busy - last_busy_;
    last_tick_ = now;
    last_busy_ = u.busy;
    if (elapsed.count() <= 0 || current == 0) return clamp(current);
    last_utilization_ = static_cast<double>(busy.count()) / (static_cast<double>(elapsed.count()) * current);
    const bool waiting = u.waiting_payloads > 0;
    const bool waited_twice = waiting && waited_before_;
    waited_before_ = waiting;
    if (settle_ > 0) {
        --settle_;
        return clamp(current);
    }
    if (waited_twice && last_utilization_ >= o_.up_utilization && current < o_.max_shards) {
        calm_ = 0;
        settle_ = o_.settle_ticks;
        return clamp(current * 2);
    }
    if (!waiting && last_utilization_ < o_.down_utilization) {
        if (++calm_ >= o_.calm_ticks && current > o_.min_shards) {
            calm_ = 0;
            settle_ = o_.settle_ticks;
            return clamp(current / 2);
        }
    } else {
        calm_ = 0;
    }
    return clamp(current);
}

}  // namespace mg::exporter
