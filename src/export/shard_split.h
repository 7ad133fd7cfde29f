// shard_split: the lane each kept series of a batch travels (hash(series) % shards), and the
// per-lane keep masks the encoders take, so a request's series are queued on their lanes.
//
// The hash is the series identity the governor uses (cardinality/series_hash.h): the decoder's
// wire identity when it has one, else the hash of the views. So one series maps to one lane
// whatever protocol or request brings it.
//
// Value type with reusable buffers; not synchronized (one per ingest thread).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "protocol/series_batch.h"

namespace mg::exporter {

std::uint64_t series_identity(const protocol::series_view& v);

class lane_split {
  public:
    // Fills lane_of() for the kept series and the list of lanes used; shards >= 1.
    void split(const protocol::series_batch& batch, std::span<const std::uint8_t> keep,
               std::uint32_t shards);
    std::uint32_t lane_of(std::size_t i) const { return lane_of_[i]; }
    // Lanes with at least one kept series, ascending.
    const std::vector<std::uint32_t>& used() const { return used_; }
    // keep restricted to one lane (keep.size() entries), rebuilt per call.
    std::span<const std::uint8_t> keep_for(std::uint32_t lane, std::span<const std::uint8_t> keep);

  private:
    std::vector<std::uint32_t> lane_of_;
    std::vector<std::uint32_t> used_;
    std::vector<std::uint8_t> mask_;
};

}  // namespace mg::exporter
