// Lanes of the kept series (see shard_split.h).
#include "export/shard_split.h"

#include <algorithm>

#include "cardinality/series_hash.h"

namespace mg::exporter {

std::uint64_t series_identity(const protocol::series_view& v) {
    return v.has_identity ? v.identity : cardinality::series_hash(v.metric_name, v.labels);
}

void lane_split::split(const protocol::series_batch& batch, std::span<const std::uint8_t> keep,
                       std::uint32_t shards) {
    const std::size_t n = batch.size();
    lane_of_.assign(n, 0);
    used_.clear();
    std::vector<bool> seen(shards, false);
    for (std::size_t i = 0; i < n; ++i) {
        if (keep[i] == 0) continue;
        const auto lane = static_cast<std::uint32_t>(series_identity(batch[i]) % shards);
        lane_of_[i] = lane;
        if (!seen[lane]) {
            seen[lane] = true;
            used_.push_back(lane);
        }
    }
    std::sort(used_.begin(), used_.end());
}

std::span<const std::uint8_t> lane_split::keep_for(std::uint32_t lane,
                                                   std::span<const std::uint8_t> keep) {
    mask_.assign(keep.size(), 0);
    for (std::size_t i = 0; i < keep.size(); ++i)
        mask_[i] = keep[i] != 0 && lane_of_[i] == lane ? 1 : 0;
    return mask_;
}

}  // namespace mg::exporter
