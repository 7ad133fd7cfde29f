// export_queue: the bounded in-memory queue between the ingest handlers and the exporter's
// batcher, measured in bytes, split into ordered lanes (shards).
//
// The byte budget covers every accepted payload until the exporter is done with it: waiting in
// the queue *and* in flight (batched, being sent, waiting to be retried). Bytes are returned with
// release() when the upstream request that carried them finished (sent or rejected). So
// max_bytes bounds all the export data the process holds, and a backend that is down turns into
// a full queue, try_push() failures and 429s for senders, never into unbounded memory.
//
// Lanes keep each series in order while many requests are in flight: the exporter puts a series
// in the lane its epoch's lane map gives it (lane_affinity.h), and a lane has at most one batch in
// flight (taken by next_batch(), given back by release()), retries included. So one series' samples
// reach the backend in the order they were accepted, whatever the other lanes do.
//
// Resharding without reordering: the number of shards can change (set_shards()); each change
// starts a new epoch. A payload carries the epoch its lane was computed in, and no batch of an
// epoch starts while anything of an older epoch is queued or in flight (a barrier, as
// Prometheus' remote-write resharding flushes the old shards first). Within a lane, payloads are
// kept in epoch order.
//
// Time: every reading and wait goes through the clock given at construction (enqueue times, the
// flush interval, busy time, next_batch()'s wake_by and wait_empty()'s deadline are on its
// monotonic time), so tests drive the queue with a fake clock. The clock must outlive the queue.
//
// Thread-safety: every method is safe from any thread. try_push() never blocks on anything but
// the queue's own short critical section; next_batch() blocks (batcher thread only).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <vector>

#include "common/clock.h"
#include "export/payload.h"

namespace mg::exporter {

// Where a payload goes: its lane, and the epoch whose lane map chose it.
struct lane_ref {
    std::uint32_t lane = 0;
    std::uint64_t epoch = 0;
};

// The sharding a submitter reads before it splits its series: shards and their epoch.
struct shard_state {
    std::uint32_t shards = 1;
    std::uint64_t epoch = 0;
    lane_ref lane(std::uint64_t series_hash) const {
        return {static_cast<std::uint32_t>(series_hash % shards), epoch};
    }
};

// A batch handed to the batcher: payloads of one lane and one epoch, in order.
struct taken_batch {
    std::vector<payload> items;
    std::uint64_t bytes = 0;
    lane_ref where;
};

// Time the lanes spent busy (a batch in flight), for the shard scaler.
struct lane_usage {
    std::chrono::nanoseconds busy{0};  // summed over lanes, since construction
    std::uint64_t batches = 0;         // batches released (finished), since construction
    std::uint64_t bytes_done = 0;      // bytes of those batches, since construction
    std::uint64_t bytes_in = 0;        // bytes pushed (not re-split), since construction
    bool older_epochs = false;         // something of an epoch before the current one is pending
    std::uint32_t busy_lanes = 0;      // now
    std::uint64_t waiting_bytes = 0;   // queued, not in flight
    std::size_t waiting_payloads = 0;
};

class export_queue {
  public:
    // max_lanes bounds the shard count (lanes are never more than that).
    export_queue(mg::clock& clock, std::uint64_t max_bytes, std::uint32_t max_lanes = 1,
                 std::uint32_t shards = 1);

    // Appends p to its lane when its cost fits in the budget; false (p untouched) when the queue
    // is full or closed. A payload larger than the whole budget is accepted into an empty queue,
    // so one request over the budget cannot be refused forever.
    // ignore_budget: accept whatever the budget says (replay of the disk queue at startup).
    bool try_push(payload& p, lane_ref where, bool ignore_budget = false);
    // Lane 0 of the current epoch (one shard, or a payload every series of which is in lane 0).
    bool try_push(payload& p, bool ignore_budget = false) {
        return try_push(p, {0, shards().epoch}, ignore_budget);
    }

    // Several payloads at once, all or none (one request split over lanes). `reserved`: bytes
    // held by try_reserve() for this request; the push draws on them first and is then accepted
    // whatever the budget says (the room was promised before the series were admitted); what
    // it does not use stays in `reserved`.
    bool try_push_group(std::vector<std::pair<payload, lane_ref>>& items, std::uint64_t& reserved);

    // Holds room for a request before its series are admitted, so the push that follows is never
    // refused for lack of room: false when the budget (or a closed queue) refuses. A reservation
    // larger than the whole budget is granted when the queue is empty, as try_push does.
    bool try_reserve(std::uint64_t bytes);
    void unreserve(std::uint64_t bytes);

    enum class wait_result { batch, timeout, closed };
    // Waits until a batch is ready in a lane that has none in flight, and moves it to `out`,
    // marking the lane busy until release(). A batch is either one standalone payload, or
    // consecutive mergeable payloads of the same format and tenant (one upstream request carries
    // one tenant) totalling at most batch_size series (at
    // least one payload, even if larger), taken when batch_size is reached, when the oldest one
    // waited flush_interval, or at once after flush_now(). Forwarded remote-write (snappy)
    // bodies merge too: the batcher joins snappy blocks without recompressing
    // (snappy_concat.h); a forwarded body goes with whatever waits behind it once it lingered
    // set_forward_linger() (at once when a run is full), up to 8 bodies with a near backend, up to
    // batch_size series once round trips are long (set_merge_forwarded). Of the ready
    // lanes, the one whose oldest payload waited longest goes first. Returns timeout at `wake_by`
    // (the scaler's tick) and closed when the queue is closed (and, unless aborted, empty).
    wait_result next_batch(taken_batch& out, std::uint64_t batch_size,
                           std::chrono::nanoseconds flush_interval,
                           std::chrono::steady_clock::time_point wake_by =
                               std::chrono::steady_clock::time_point::max());

    // The batch's lane is free again and its bytes return to the budget.
    void release(const taken_batch& b) { release(b.where, b.items.size(), b.bytes); }
    void release(lane_ref where, std::size_t payloads, std::uint64_t bytes);

    // The current sharding, read by submitters before they split a request.
    shard_state shards() const;
    // A new shard count (1..max_lanes): a new epoch. No-op when unchanged.
    void set_shards(std::uint32_t shards);
    // A new epoch with `shards` lanes, also when the count is unchanged (a fresh lane map:
    // lane_epochs.h, which calls this).
    void next_epoch(std::uint32_t shards);

    // Resharding without waiting for the old lanes: take_waiting() moves every payload of an
    // older epoch that waits (not in flight) out of the queue, lane by lane in order, still
    // counted in its epoch so nothing of the new epoch starts meanwhile; the caller splits them
    // over the new lanes and hands them back with put_resplit() (epoch = the current one), which
    // places them before anything the senders queued in that epoch since, and releases the old
    // epoch's count. Payloads the caller cannot split go back unchanged (their old lane and
    // epoch). Only the batches in flight then hold the barrier. Batcher thread only.
    struct taken_payload {
        payload p;
        lane_ref where;
    };
    std::vector<taken_payload> take_waiting();
    // split: the new payloads; sources: the lane_ref (old epoch) and cost of each taken payload
    // that was split (the others come back in `unchanged`).
    void put_resplit(std::vector<std::pair<payload, lane_ref>> split,
                     std::vector<taken_payload> unchanged,
                     const std::vector<std::pair<lane_ref, std::uint64_t>>& sources);
    std::uint32_t max_lanes() const { return static_cast<std::uint32_t>(lanes_.size()); }
    lane_usage usage() const;
    // Whether forwarded (compressed) bodies merge as for a distant backend: remote-write (snappy)
    // ones with whatever waits in their lane up to batch_size series (not only 8 bodies), OTLP
    // (gzip) ones when 8 or more wait (decompressing and compressing again costs CPU). Worth it
    // when round trips are long, so the exporter turns it on from the measured round trip
    // (shard_scaler::latency_bound()). Off at first.
    void set_merge_forwarded(bool on) { merge_forwarded_.store(on, std::memory_order_relaxed); }
    // How long a forwarded body (or a prompt part of a sender's request) waits in its free lane
    // for others to join it (one upstream request instead of several, as Prometheus' remote write
    // waits batch_send_deadline); 0: it goes as soon as its lane is free. Set before use.
    void set_forward_linger(std::chrono::nanoseconds d) {
        std::lock_guard lock(mu_);
        forward_linger_ = d;
    }
    std::chrono::nanoseconds forward_linger() const {
        std::lock_guard lock(mu_);
        return forward_linger_;
    }

    // From now on batches are taken as soon as anything is queued (drain at shutdown).
    void flush_now();
    // Refuses further pushes; next_batch() keeps handing out what is queued, then returns closed.
    void close();
    // Also stops next_batch() at once and hands the queued payloads to the caller.
    std::vector<payload> abort();

    // Waits until every byte was released (queue empty, nothing in flight) or the deadline.
    bool wait_empty(std::chrono::steady_clock::time_point deadline);

    std::uint64_t bytes() const;
    std::uint64_t max_bytes() const { return max_bytes_; }
    std::size_t queued_payloads() const;

  private:
    struct entry {
        payload p;
        std::uint64_t epoch = 0;
        std::chrono::steady_clock::time_point enqueued;
        bool resplit = false;  // moved from an older epoch: goes before the senders' newer data
    };
    struct lane {
        std::deque<entry> items;
        bool busy = false;
        std::chrono::steady_clock::time_point busy_since{};
    };

    // A lane's first run of payloads that go together in one batch (next_batch's rules).
    struct lane_run {
        std::size_t take = 0;  // payloads in the run; 0: nothing can start (busy, empty, barrier)
        bool ready = false;    // it can go now
        std::chrono::steady_clock::time_point due{};  // when it can go, if not ready
    };
    lane_run examine_locked(const lane& ln, std::uint64_t oldest_epoch,
                            std::chrono::steady_clock::time_point now, std::uint64_t batch_size,
                            std::chrono::nanoseconds flush_interval) const;  // mu_ held
    bool wakes_batcher_locked(const std::vector<std::pair<payload, lane_ref>>& items,
                              std::chrono::steady_clock::time_point now) const;  // mu_ held
    void pending_sub(std::uint64_t epoch, std::size_t n);                        // mu_ held
    // A lane by index; an index past the lanes (a disk-queue record of a larger configuration)
    // goes to the last one. mu_ held.
    lane& lane_for(std::uint32_t index) {
        return lanes_[std::min<std::size_t>(index, lanes_.size() - 1)];
    }
    const lane& lane_for(std::uint32_t index) const {
        return lanes_[std::min<std::size_t>(index, lanes_.size() - 1)];
    }
    // Places e in its lane (epoch order, a reshard's moved payloads first within an epoch) and
    // counts it as waiting; pending_ and bytes_ are the caller's. mu_ held.
    void enqueue_locked(std::uint32_t lane_index, entry e);

    mg::clock& clock_;
    const std::uint64_t max_bytes_;
    mutable std::mutex mu_;
    std::condition_variable items_cv_;
    std::condition_variable empty_cv_;
    std::vector<lane> lanes_;
    // Payloads queued or in flight per epoch: a batch starts only in the oldest epoch listed.
    std::map<std::uint64_t, std::size_t> pending_;
    std::atomic<std::uint64_t> shard_word_;  // epoch << 16 | shards: read without the lock
    std::uint64_t bytes_ = 0;                // queued + in flight
    std::uint64_t waiting_bytes_ = 0;        // queued only
    std::size_t waiting_payloads_ = 0;
    std::chrono::nanoseconds busy_total_{0};
    std::uint64_t batches_done_ = 0;
    std::uint64_t bytes_done_ = 0;
    std::uint64_t bytes_in_ = 0;
    std::atomic<bool> merge_forwarded_{false};
    std::chrono::nanoseconds forward_linger_{0};
    // The batcher blocked in next_batch(): until when, and with which rules (one batcher).
    struct {
        bool waiting = false;
        std::chrono::steady_clock::time_point until{};
        std::uint64_t batch_size = 0;
        std::chrono::nanoseconds flush_interval{0};
    } sleeper_;
    bool flush_now_ = false;
    bool closed_ = false;
    bool aborted_ = false;
};

}  // namespace mg::exporter
