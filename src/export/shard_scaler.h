// shard_scaler: how many lanes (shards) the exporter sends on, decided once a tick from how busy
// the lanes were and whether work waits, like Prometheus' remote-write shard autoscaling.
//
// Up: the lanes were busy nearly all of the last tick (>= 90% of shards x tick), payloads waited
// at this tick and the one before, and a batch took at least `latency_bound` on average: the
// backend's round trip, not the CPU, bounds the throughput, so the shard count grows (up to max)
// to what the figures ask for, as Prometheus computes its desired shards: lane time per byte
// delivered x (bytes coming in per second + the backlog spread over `backlog_drain`), at least
// double. A flood fills the queue within a second: stepping up one doubling per evaluation would
// still be climbing when it is over. A near backend answers in well under that, so however busy the
// lane is (a flood the CPU cannot forward faster) the count stays at min: more shards would only
// add the CPU of splitting requests, and one shard keeps the raw fast path (a request forwarded as
// it came). Down: the lanes were busy under 30% for `calm_ticks` ticks in a row (10 s) with nothing
// waiting: halve (down to min).
// Checked: more shards cost CPU (a request is split and re-encoded instead of forwarded as it
// came), and round trips also look long when the machine is short of CPU rather than the backend
// far away. So after each increase, once the reshard's barrier is passed, the bytes delivered over
// `eval_ticks` are compared with those before: unless they grew by `min_gain` (or the backlog is
// gone), the count goes back and no increase is tried for `holdoff_ticks` (doubled after each
// failed try, up to `max_holdoff_ticks`). After a change, `settle_ticks` ticks pass before the next
// one (the resharding barrier delays the new lanes until the old epoch is delivered).
//
// Pure logic over the figures it is given; not synchronized (the batcher thread owns it).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <utility>

#include "export/queue.h"

namespace mg::exporter {

struct shard_scaler_options {
    std::uint32_t min_shards = 1;
    std::uint32_t max_shards = 16;
    double up_utilization = 0.9;
    double down_utilization = 0.3;
    unsigned calm_ticks = 100;  // 10 s at the exporter's 100 ms tick
    unsigned settle_ticks = 3;
    std::chrono::nanoseconds latency_bound = std::chrono::milliseconds(5);
    unsigned eval_ticks = 5;  // half a second once the barrier is passed
    std::chrono::nanoseconds backlog_drain = std::chrono::seconds(1);
    double min_gain = 1.2;
    unsigned holdoff_ticks = 300;       // 30 s
    unsigned max_holdoff_ticks = 3000;  // 5 min
};

enum class scale_reason : std::uint8_t { none, up, down, no_gain };

class shard_scaler {
  public:
    explicit shard_scaler(shard_scaler_options o) : o_(o) {}

    // The shard count for the next tick, given the current one and the usage now. The first
    // call only takes its reference figures.
    std::uint32_t on_tick(std::uint32_t current, const lane_usage& u,
                          std::chrono::steady_clock::time_point now);
    // The last tick's busy share of shards x elapsed (0..1), for logs.
    double last_utilization() const { return last_utilization_; }
    // The average time a batch was in flight over the last tick (kept from before when no batch
    // finished), and whether it is at least latency_bound: round trips, not the CPU, set the pace.
    std::chrono::nanoseconds round_trip() const { return round_trip_; }
    bool latency_bound() const { return round_trip_ >= o_.latency_bound; }
    // Why the last on_tick changed the count (none: it did not).
    scale_reason last_reason() const { return reason_; }

  private:
    shard_scaler_options o_;
    bool started_ = false;
    std::chrono::steady_clock::time_point last_tick_{};
    std::chrono::nanoseconds last_busy_{0};
    std::uint64_t last_batches_ = 0;
    std::chrono::nanoseconds round_trip_{0};
    bool waited_before_ = false;
    unsigned calm_ = 0;
    unsigned settle_ = 0;
    double last_utilization_ = 0;
    scale_reason reason_ = scale_reason::none;
    // The shard count the last eval_ticks ticks ask for (see Up above); 0 without a delivery.
    std::uint32_t wanted(std::uint64_t waiting_bytes) const;

    // The last eval_ticks ticks: the baseline before a change, and the rates wanted() uses.
    struct tick_figures {
        std::uint64_t bytes_done = 0;
        std::uint64_t bytes_in = 0;
        std::chrono::nanoseconds busy{0};
        std::chrono::nanoseconds elapsed{0};
    };
    std::deque<tick_figures> history_;
    std::uint64_t last_bytes_ = 0;
    std::uint64_t last_bytes_in_ = 0;
    struct evaluation {
        bool active = false;
        std::uint32_t from = 0;
        double baseline = 0;  // bytes/s before the change
        unsigned ticks = 0;
        std::uint64_t bytes = 0;
        std::chrono::nanoseconds elapsed{0};
    } eval_;
    unsigned holdoff_ = 0;
    unsigned holdoff_len_ = 0;
};

}  // namespace mg::exporter
