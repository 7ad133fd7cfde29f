// The lane of each series within one epoch (see lane_affinity.h): an open-addressing table of
// 64-bit words, linear probing, doubled up to twice max_series slots.
#include "export/lane_affinity.h"

#include <algorithm>
#include <bit>
#include <mutex>

namespace mg::exporter {

namespace {

constexpr std::size_t k_initial_slots = 1024;
constexpr std::uint32_t k_max_lanes = 0xfffe;  // lane + 1 fits the entry's low 16 bits

// Slot of a key (the identity's upper 48 bits) in a table of `slots` (a power of two).
std::size_t home(std::uint64_t key, std::size_t slots) {
    return static_cast<std::size_t>((key >> 16) * 0x9E3779B97F4A7C15ULL >>
                                    (64 - std::countr_zero(slots))) &
           (slots - 1);
}

}  // namespace

lane_affinity::lane_affinity(std::uint32_t shards, std::uint64_t epoch, std::size_t max_series)
    : shards_(std::clamp<std::uint32_t>(shards, 1, k_max_lanes)),
      epoch_(epoch),
      max_series_(std::max<std::size_t>(1, max_series)),
      load_(shards_, 0) {}

std::uint32_t lane_affinity::find(std::uint64_t id) const {
    if (slots_.empty()) return k_several;
    const std::uint64_t key = id & k_key_mask;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = home(key, slots_.size());; i = (i + 1) & mask) {
        const std::uint64_t s = slots_[i];
        if (s == 0) return k_several;
        if ((s & k_key_mask) == key) return static_cast<std::uint32_t>((s & 0xffff) - 1);
    }
}

void lane_affinity::insert(std::uint64_t id, std::uint32_t lane) {
    if ((size() + 1) * 2 > slots_.size()) grow();
    const std::uint64_t key = id & k_key_mask;
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = home(key, slots_.size());
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = key | (lane + 1);
    ++load_[lane];
    size_.fetch_add(1, std::memory_order_relaxed);
}

void lane_affinity::grow() {
    std::vector<std::uint64_t> old(std::max(k_initial_slots, slots_.size() * 2), 0);
    old.swap(slots_);
    const std::size_t mask = slots_.size() - 1;
    for (const std::uint64_t s : old) {
        if (s == 0) continue;
        std::size_t i = home(s & k_key_mask, slots_.size());
        while (slots_[i] != 0) i = (i + 1) & mask;
        slots_[i] = s;
    }
}

std::uint32_t lane_affinity::least_loaded() const {
    return static_cast<std::uint32_t>(std::min_element(load_.begin(), load_.end()) - load_.begin());
}

std::uint32_t lane_affinity::assign(std::span<const std::uint64_t> ids,
                                    std::span<std::uint32_t> lanes) {
    if (shards_ == 1) {
        std::fill(lanes.begin(), lanes.end(), 0);
        return 0;
    }
    // The request's lane so far: the one its known series share (k_several once they differ).
    constexpr std::uint32_t k_none = k_several - 1;
    std::uint32_t shared = k_none;
    std::uint32_t first_known = k_none;
    bool missing = false;
    bool by_hash = false;
    {
        std::shared_lock lock(mu_);
        for (std::size_t i = 0; i < ids.size(); ++i) {
            lanes[i] = find(ids[i]);
            if (lanes[i] == k_several) {
                missing = true;
                continue;
            }
            if (first_known == k_none) first_known = lanes[i];
            shared = shared == k_none || shared == lanes[i] ? lanes[i] : k_several;
        }
        by_hash = missing && full();
    }
    if (missing && by_hash) {
        // Full: an absent series is never inserted in this epoch, so hashing keeps it on one lane.
        for (std::size_t i = 0; i < ids.size(); ++i) {
            if (lanes[i] != k_several) continue;
            lanes[i] = static_cast<std::uint32_t>(ids[i] % shards_);
            shared = shared == k_none || shared == lanes[i] ? lanes[i] : k_several;
        }
    } else if (missing) {
        std::unique_lock lock(mu_);
        // Chosen once: the new series of a request stay together.
        std::uint32_t chosen = k_none;
        for (std::size_t i = 0; i < ids.size(); ++i) {
            if (lanes[i] != k_several) continue;
            // Another thread may have mapped it since the lookup (insert-if-absent).
            std::uint32_t lane = find(ids[i]);
            if (lane == k_several) {
                if (full()) {
                    lane = static_cast<std::uint32_t>(ids[i] % shards_);
                } else {
                    // The lane the request's known series share; when they differ (the request
                    // is split anyway) the first one's; when there are none, the least loaded.
                    if (chosen == k_none)
                        chosen = first_known != k_none ? first_known : least_loaded();
                    lane = chosen;
                    insert(ids[i], lane);
                    if (size() >= max_series_) full_.store(true, std::memory_order_relaxed);
                }
            }
            lanes[i] = lane;
        }
        shared = k_none;
        for (const auto lane : lanes) {
            shared = shared == k_none || shared == lane ? lane : k_several;
            if (shared == k_several) break;
        }
    }
    return shared == k_none ? 0 : shared;
}

}  // namespace mg::exporter
