// shard_scaler: how many lanes (shards) the exporter sends on, decided once a tick from how busy
// the lanes were and whether work waits, like Prometheus' remote-write shard autoscaling.
//
// Up: the lanes were busy nearly all of the last tick (>= 90% of shards x tick) and payloads
// waited at this tick and the one before: the backend's round trip, not the CPU, bounds the
// throughput, so the shard count doubles (up to max). A fast backend keeps one lane mostly idle,
// so it stays at min: one shard keeps the raw fast path (a request forwarded as it came).
// Down: the lanes were busy under 30% for `calm_ticks` ticks in a row with nothing waiting: halve
// (down to min). After a change, `settle_ticks` ticks pass before the next one (the resharding
// barrier delays the new lanes until the old epoch is delivered).
//
// Pure logic over the figures it is given; not synchronized (the batcher thread owns it).
#pragma once

#include <chrono>
#include <cstdint>

#include "export/queue.h"

namespace mg::exporter {

struct shard_scaler_options {
    std::uint32_t min_shards = 1;
    std::uint32_t max_shards = 16;
    double up_utilization = 0.9;
    double down_utilization = 0.3;
    unsigned calm_ticks = 10;
    unsigned settle_ticks = 2;
};

class shard_scaler {
public:
    explicit shard_scaler(shard_scaler_options o) : o_(o) {}

    // The shard count for the next tick, given the current one and the usage now. The first
    // call only takes its reference figures.
    std::uint32_t on_tick(std::uint32_t current, const lane_usage& u, std::chrono::steady_clock::time_point now);
    // The last tick's busy share of shards x elapsed (0..1), for logs.
    double last_utilization() const { return last_utilization_; }

private:
    shard_scaler_options o_;
    bool started_ = false;
    std::chrono::steady_clock::time_point last_tick_{};
    std::chrono::nanoseconds last_busy_{0};
    bool waited_before_ = false;
    unsigned calm_ = 0;
    unsigned settle_ = 0;
    double last_utilization_ = 0;
};

}  // namespace mg::exporter
