// lane_affinity: the lane each series travels within one epoch ("sticky lanes"), the single
// source of truth for every path that queues series: a request split over lanes, a request
// forwarded as it came (raw), the backlog split again after a reshard.
//
// Why not hash(series) % shards: real senders (Prometheus' remote-write shards, our loadgen)
// send the same series together, request after request. A series seen for the first time takes
// the lane of the request it arrives in (the lane its already-mapped series share, else the
// least loaded lane), so with many shards a stable request keeps all its series on one lane and
// can be forwarded as its own bytes, where hashing split (and re-encoded and compressed again)
// every request.
//
// Order: a series is mapped to exactly one lane per epoch: inserts are insert-if-absent under
// the exclusive lock, and assign() reports the lanes as they are after its own inserts (another
// thread may have mapped some of the series to another lane first: then the request is on
// several lanes and the caller splits it, each series to its mapped lane). The map is dropped
// only at an epoch barrier (lane_epochs.h).
//
// Memory: at most max_series entries (8 bytes each, the table at most half full: 16 bytes per
// series). Once full, a series not in the map goes to hash % shards and is not inserted, so its
// lane never changes within the epoch either; full() asks the batcher for a new epoch, which
// starts an empty map.
//
// Entries keep the identity's upper 48 bits: two series that share them share a lane, which
// keeps both in order (a lane only ever carries whole series).
//
// Thread-safety: assign() from any thread (a shared lock to look up, an exclusive one for the
// request's new series); the rest are reads.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <shared_mutex>
#include <span>
#include <vector>

namespace mg::exporter {

class lane_affinity {
  public:
    static constexpr std::uint32_t k_several = UINT32_MAX;  // assign(): the request is split
    static constexpr std::size_t k_default_max_series = std::size_t{1} << 21;

    // shards >= 1; with one shard everything is lane 0 and nothing is stored.
    lane_affinity(std::uint32_t shards, std::uint64_t epoch,
                  std::size_t max_series = k_default_max_series);

    std::uint32_t shards() const { return shards_; }
    std::uint64_t epoch() const { return epoch_; }

    // Maps the series `ids` of one request (ids.size() == lanes.size()); lanes[i] gets the lane
    // of ids[i]. Returns the one lane all of them travel, or k_several.
    std::uint32_t assign(std::span<const std::uint64_t> ids, std::span<std::uint32_t> lanes);

    std::size_t size() const { return size_.load(std::memory_order_relaxed); }
    // Reached max_series: new series go by hash; a new epoch would restore affinity.
    bool full() const { return full_.load(std::memory_order_relaxed); }

  private:
    static constexpr std::uint64_t k_key_mask = ~std::uint64_t{0xffff};
    std::uint32_t find(std::uint64_t id) const;         // lane, or k_several when absent; lock held
    void insert(std::uint64_t id, std::uint32_t lane);  // exclusive lock held; id absent
    void grow();                                        // exclusive lock held
    std::uint32_t least_loaded() const;                 // exclusive lock held

    const std::uint32_t shards_;
    const std::uint64_t epoch_;
    const std::size_t max_series_;
    mutable std::shared_mutex mu_;
    std::vector<std::uint64_t> slots_;  // (id & k_key_mask) | (lane + 1); 0 = empty
    std::vector<std::uint64_t> load_;   // series mapped per lane
    std::atomic<std::size_t> size_{0};
    std::atomic<bool> full_{false};
};

}  // namespace mg::exporter
