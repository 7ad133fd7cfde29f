// shard_split: the lane each kept series of a batch travels, from the epoch's lane map
// (lane_affinity.h: a series keeps the lane it was first given; new series take their request's
// lane), and the per-lane keep masks the encoders take, so a request's series are queued on
// their lanes.
//
// The identity is the one the governor uses (cardinality/series_hash.h): the decoder's wire
// identity when it has one, else the hash of the views. So one series maps to one lane whatever
// protocol or request brings it.
//
// Value type with reusable buffers; not synchronized (one per thread: thread_lane_split()).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "export/lane_affinity.h"
#include "protocol/series_batch.h"

namespace mg::exporter {

std::uint64_t series_identity(const protocol::series_view& v);

class lane_split {
  public:
    // Maps the kept series in `lanes` (new ones are inserted) and records each one's lane and
    // the lanes used.
    void split(const protocol::series_batch& batch, std::span<const std::uint8_t> keep,
               lane_affinity& lanes);
    std::uint32_t lane_of(std::size_t i) const { return lane_of_[i]; }
    // Lanes with at least one kept series, ascending.
    const std::vector<std::uint32_t>& used() const { return used_; }
    // The epoch of the map the lanes come from.
    std::uint64_t epoch() const { return epoch_; }
    // keep restricted to one lane (keep.size() entries), rebuilt per call.
    std::span<const std::uint8_t> keep_for(std::uint32_t lane, std::span<const std::uint8_t> keep);

  private:
    std::vector<std::uint32_t> lane_of_;
    std::vector<std::uint32_t> used_;
    std::vector<std::uint8_t> mask_;
    std::vector<std::uint64_t> ids_;
    std::vector<std::uint32_t> assigned_;
    std::uint64_t epoch_ = 0;
};

// The calling thread's lane_split (ingest threads and the batcher each have their own).
lane_split& thread_lane_split();

}  // namespace mg::exporter
