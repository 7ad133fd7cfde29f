// Shard autoscaling decisions (see shard_scaler.h).
#include "export/shard_scaler.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace mg::exporter {

std::uint32_t shard_scaler::on_tick(std::uint32_t current, const lane_usage& u,
                                    std::chrono::steady_clock::time_point now) {
    const auto clamp = [&](std::uint32_t n) {
        return std::clamp(n, o_.min_shards, std::max(o_.min_shards, o_.max_shards));
    };
    if (!started_) {
        started_ = true;
        last_tick_ = now;
        last_busy_ = u.busy;
        last_batches_ = u.batches;
        return clamp(current);
    }
    reason_ = scale_reason::none;
    const auto elapsed = now - last_tick_;
    const auto busy = u.busy - last_busy_;
    const auto batches = u.batches - last_batches_;
    const auto bytes = u.bytes_done - last_bytes_;
    const auto bytes_in = u.bytes_in - last_bytes_in_;
    last_bytes_in_ = u.bytes_in;
    last_tick_ = now;
    last_busy_ = u.busy;
    last_batches_ = u.batches;
    last_bytes_ = u.bytes_done;
    // A batch still in flight at the tick counts as busy time but not as a finished batch: with
    // long round trips that overstates the average a little, never understates it.
    if (batches > 0)
        round_trip_ = busy / static_cast<std::int64_t>(batches);
    else if (busy >= elapsed)
        round_trip_ = std::max(round_trip_, busy);  // one batch the whole tick
    if (elapsed.count() <= 0 || current == 0) return clamp(current);
    last_utilization_ =
        static_cast<double>(busy.count()) / (static_cast<double>(elapsed.count()) * current);
    const bool waiting = u.waiting_payloads > 0;
    const bool waited_twice = waiting && waited_before_;
    waited_before_ = waiting;
    history_.push_back({bytes, bytes_in, busy, elapsed});
    while (history_.size() > o_.eval_ticks) history_.pop_front();
    if (holdoff_ > 0) --holdoff_;

    // Judge the last increase once its barrier is passed.
    if (eval_.active) {
        if (u.older_epochs) return clamp(current);
        eval_.bytes += bytes;
        eval_.elapsed += elapsed;
        if (++eval_.ticks < o_.eval_ticks) return clamp(current);
        eval_.active = false;
        const double rate =
            static_cast<double>(eval_.bytes) / std::chrono::duration<double>(eval_.elapsed).count();
        if (!waiting || rate >= eval_.baseline * o_.min_gain) {
            holdoff_len_ = 0;  // it helped (or caught up): the next increase may be tried at once
        } else {
            holdoff_len_ = holdoff_len_ == 0 ? o_.holdoff_ticks
                                             : std::min(holdoff_len_ * 2, o_.max_holdoff_ticks);
            holdoff_ = holdoff_len_;
            settle_ = o_.settle_ticks;
            calm_ = 0;
            reason_ = scale_reason::no_gain;
            return clamp(eval_.from);
        }
    }
    if (settle_ > 0) {
        --settle_;
        return clamp(current);
    }
    if (waited_twice && last_utilization_ >= o_.up_utilization && latency_bound() &&
        holdoff_ == 0 && current < o_.max_shards) {
        std::uint64_t before = 0;
        std::chrono::nanoseconds span{0};
        for (const auto& t : history_) {
            before += t.bytes_done;
            span += t.elapsed;
        }
        const auto next = std::max(current * 2, wanted(u.waiting_bytes));
        eval_ = {};
        eval_.active = true;
        eval_.from = current;
        eval_.baseline = span.count() > 0 ? static_cast<double>(before) /
                                                std::chrono::duration<double>(span).count()
                                          : 0;
        calm_ = 0;
        settle_ = o_.settle_ticks;
        reason_ = scale_reason::up;
        return clamp(next);
    }
    if (!waiting && last_utilization_ < o_.down_utilization) {
        if (++calm_ >= o_.calm_ticks && current > o_.min_shards) {
            calm_ = 0;
            settle_ = o_.settle_ticks;
            reason_ = scale_reason::down;
            return clamp(current / 2);
        }
    } else {
        calm_ = 0;
    }
    return clamp(current);
}

std::uint32_t shard_scaler::wanted(std::uint64_t waiting_bytes) const {
    tick_figures sum;
    for (const auto& t : history_) {
        sum.bytes_done += t.bytes_done;
        sum.bytes_in += t.bytes_in;
        sum.busy += t.busy;
        sum.elapsed += t.elapsed;
    }
    if (sum.bytes_done == 0 || sum.elapsed.count() <= 0) return 0;
    using seconds = std::chrono::duration<double>;
    const double lane_seconds_per_byte =
        seconds(sum.busy).count() / static_cast<double>(sum.bytes_done);
    const double in_per_second = static_cast<double>(sum.bytes_in) / seconds(sum.elapsed).count();
    const double catch_up =
        static_cast<double>(waiting_bytes) / std::max(seconds(o_.backlog_drain).count(), 1e-3);
    const double want = std::ceil(lane_seconds_per_byte * (in_per_second + catch_up));
    // Bounded before the cast: a tick with a few bytes done can ask for absurd counts.
    return static_cast<std::uint32_t>(std::min(want, 65536.0));
}

}  // namespace mg::exporter
