// map_tracker_host: a persistence::tracker_host over a plain map, for tests and benchmarks whose
// trackers have no governor (keys the governor never makes, restores measured alone).
// Header-only; not synchronized (one thread uses it, as the tests and benchmarks do).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cardinality/bloom_tracker.h"
#include "persistence/tracker_host.h"

namespace mg::test {

struct map_tracker_host final : persistence::tracker_host {
    void for_each(const visitor& fn) const override {
        for (const auto& [k, t] : trackers) fn(k, t);
    }
    status adopt(const std::string& key, std::shared_ptr<cardinality::bloom_tracker> t) override {
        trackers[key] = std::move(t);
        return {};
    }
    std::vector<std::string> evict(const std::string& key) override {
        return trackers.erase(key) ? std::vector<std::string>{key} : std::vector<std::string>{};
    }
    std::uint64_t memory_bytes() const override {
        std::uint64_t total = 0;
        for (const auto& [k, t] : trackers) total += t->memory_bytes();
        return total;
    }
    std::map<std::string, std::shared_ptr<cardinality::bloom_tracker>> trackers;
};

}  // namespace mg::test
