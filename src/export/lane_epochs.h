// lane_epochs: the current epoch's lane map (lane_affinity.h) and the barrier between epochs.
//
// Every path that queues series for a lane (submit, submit_raw, the batcher's re-split of the
// backlog) holds a ticket while it maps the series and pushes the payloads: the ticket names the
// epoch and its map, so the lanes chosen and the epoch pushed with always agree. advance() starts
// a new epoch (a new shard count, or the same one to drop a full map): under the same lock it
// bumps the queue's epoch and installs an empty map, so every later ticket is of the new epoch,
// and then waits until the tickets of older epochs are released. Once it returns, no payload of
// an older epoch can be pushed any more: the batcher may take the old epoch's backlog and split
// it over the new lanes without a late push of an old-epoch payload overtaking it. The queue's
// own barrier (no batch of an epoch starts while an older one is queued or in flight) does the
// rest: a series may change lanes only between epochs.
//
// Thread-safety: enter() and the accessors from any thread; advance() from the batcher thread
// (the only one that changes the shard count). A ticket is released by the thread that holds it;
// it must not be held across a wait for the batcher.
//
// Ownership: the queue must outlive this.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "export/lane_affinity.h"
#include "export/queue.h"

namespace mg::exporter {

class lane_epochs {
  private:
    struct epoch_state {
        epoch_state(std::uint32_t shards, std::uint64_t epoch, std::size_t max_series)
            : lanes(shards, epoch, max_series) {}
        lane_affinity lanes;
        int users = 0;  // tickets held; guarded by lane_epochs::mu_
    };

  public:
    // The queue's current epoch and shard count; maps hold at most max_series entries.
    explicit lane_epochs(export_queue& queue,
                         std::size_t max_series = lane_affinity::k_default_max_series);

    class ticket {
      public:
        ticket(ticket&& o) noexcept : owner_(o.owner_), state_(std::move(o.state_)) {
            o.owner_ = nullptr;
        }
        ticket& operator=(ticket&&) = delete;
        ticket(const ticket&) = delete;
        ~ticket();
        lane_affinity& lanes() const { return state_->lanes; }
        std::uint32_t shards() const { return state_->lanes.shards(); }
        std::uint64_t epoch() const { return state_->lanes.epoch(); }

      private:
        friend class lane_epochs;
        ticket(lane_epochs* owner, std::shared_ptr<epoch_state> s)
            : owner_(owner), state_(std::move(s)) {}
        lane_epochs* owner_;
        std::shared_ptr<epoch_state> state_;
    };

    ticket enter();
    // A new epoch with `shards` lanes (the same count: only a fresh map); returns once no ticket
    // of an older epoch is held. Batcher thread.
    void advance(std::uint32_t shards);
    // The current map reached its bound (its new series go by hash): time for a new epoch.
    bool map_full() const;
    // advance() with the same shard count, counted as a renewal. Batcher thread.
    void renew();
    std::size_t mapped_series() const;
    std::uint64_t renewals() const;

  private:
    void leave(epoch_state& s);

    export_queue& queue_;
    const std::size_t max_series_;
    mutable std::mutex mu_;
    std::condition_variable left_cv_;
    std::shared_ptr<epoch_state> current_;
    std::uint64_t renewals_ = 0;
};

}  // namespace mg::exporter
