// increment_base: the tracker the increment_file fuzz target applies its inputs to, and from
// which make_corpus.cpp derives the seeds (so a seed is a valid increment of this very base).
// Deterministic: same series, same fake clock start. Test code, header-only.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "cardinality/bloom_tracker.h"
#include "common/clock.h"

namespace mg::fuzz {

inline cardinality::tracker_config increment_base_config() {
    cardinality::tracker_config cfg;
    cfg.expected_items = 64;  // a few blocks: seeds stay small
    cfg.fp_rate = 0.01;
    cfg.generations = 2;
    cfg.window = std::chrono::minutes(10);
    return cfg;
}

// A tracker with 40 series and its base snapshot taken (marks swapped out).
inline std::unique_ptr<cardinality::bloom_tracker> increment_base_tracker(
    mg::clock& clock, cardinality::tracker_snapshot& base) {
    auto t = std::make_unique<cardinality::bloom_tracker>(increment_base_config(), clock);
    for (std::uint64_t s = 1; s <= 40; ++s) (void)t->insert(s * 0x9e3779b97f4a7c15ULL);
    base = t->take_snapshot();
    return t;
}

}  // namespace mg::fuzz
