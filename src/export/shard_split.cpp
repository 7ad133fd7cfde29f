// Lanes of the kept series (see shard_split.h).
#include "export/shard_split.h"

#include <algorithm>

#include "cardinality/series_hash.h"

namespace mg::exporter {

std::uint64_t series_identity(const protocol::series_view& v) {
    return v.has_identity ? v.identity : cardinality::series_hash(v.metric_name, v.labels);
}

void lane_split::split(const protocol::series_batch& batch, std::span<const std::uint8_t> keep,
                       lane_affinity& lanes) {
    const std::size_t n = batch.size();
    epoch_ = lanes.epoch();
    lane_of_.assign(n, 0);
    used_.clear();
    const bool any = std::any_of(keep.begin(), keep.end(), [](auto k) { return k != 0; });
    if (!any) return;
    if (lanes.shards() == 1) {  // no identities needed
        used_.push_back(0);
        return;
    }
    ids_.clear();
    for (std::size_t i = 0; i < n; ++i) {
        if (keep[i] != 0) ids_.push_back(series_identity(batch[i]));
    }
    assigned_.resize(ids_.size());
    const auto one = lanes.assign(ids_, assigned_);
    if (one != lane_affinity::k_several) {
        std::fill(lane_of_.begin(), lane_of_.end(), one);
        used_.push_back(one);
        return;
    }
    std::vector<bool> seen(lanes.shards(), false);
    for (std::size_t i = 0, k = 0; i < n; ++i) {
        if (keep[i] == 0) continue;
        const auto lane = assigned_[k++];
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

lane_split& thread_lane_split() {
    thread_local lane_split s;
    return s;
}

}  // namespace mg::exporter
