#include "cardinality/tracker_registry.h"

#include <mutex>
#include <stdexcept>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace mg::cardinality {

std::size_t tracker_registry::name_hash::operator()(std::string_view s) const noexcept {
    return static_cast<std::size_t>(XXH3_64bits(s.data(), s.size()));
}

tracker_registry::tracker_registry(const tracker_config& defaults, mg::clock& clock)
    : defaults_(defaults), clock_(clock) {
    if (auto st = defaults.validate(); !st) throw std::invalid_argument(st.error_message());
}

tracker_registry::shard& tracker_registry::shard_for(std::string_view name,
                                                     std::size_t& hash) const {
    hash = name_hash{}(name);
    // Top bits pick the shard; the map uses the whole hash for its buckets.
    return shards_[hash >> 58];
}

tracker_registry::tracker_ptr tracker_registry::get_or_create(std::string_view metric_name) {
    return get_or_create(metric_name, defaults_);
}

tracker_registry::tracker_ptr tracker_registry::get_or_create(std::string_view metric_name,
                                                              const tracker_config& config) {
    std::size_t h;
    shard& s = shard_for(metric_name, h);
    {
        std::shared_lock lk(s.mu);
        if (auto it = s.map.find(metric_name); it != s.map.end()) return it->second;
    }
    // Built outside the lock: construction validates and may throw; it allocates no filter yet.
    auto fresh = std::make_shared<bloom_tracker>(config, clock_);
    std::unique_lock lk(s.mu);
    auto [it, inserted] = s.map.try_emplace(std::string(metric_name), std::move(fresh));
    if (inserted) size_.fetch_add(1, std::memory_order_relaxed);
    return it->second;
}

tracker_registry::tracker_ptr tracker_registry::find(std::string_view metric_name) const {
    std::size_t h;
    const shard& s = shard_for(metric_name, h);
    std::shared_lock lk(s.mu);
    if (auto it = s.map.find(metric_name); it != s.map.end()) return it->second;
    return nullptr;
}

bool tracker_registry::put(std::string_view metric_name, tracker_ptr tracker) {
    if (!tracker) return false;
    std::size_t h;
    shard& s = shard_for(metric_name, h);
    std::unique_lock lk(s.mu);
    auto [it, inserted] = s.map.insert_or_assign(std::string(metric_name), std::move(tracker));
    if (inserted) size_.fetch_add(1, std::memory_order_relaxed);
    return true;
}

bool tracker_registry::erase(std::string_view metric_name) {
    std::size_t h;
    shard& s = shard_for(metric_name, h);
    tracker_ptr victim;  // released after the lock: the last owner frees the filters
    std::unique_lock lk(s.mu);
    auto it = s.map.find(metric_name);
    if (it == s.map.end()) return false;
    victim = std::move(it->second);
    s.map.erase(it);
    size_.fetch_sub(1, std::memory_order_relaxed);
    lk.unlock();
    return true;
}

void tracker_registry::for_each(
    const std::function<void(std::string_view, const tracker_ptr&)>& fn) const {
    for (const shard& s : shards_) {
        std::shared_lock lk(s.mu);
        for (const auto& [name, t] : s.map) fn(name, t);
    }
}

std::size_t tracker_registry::memory_bytes() const {
    std::size_t bytes = 0;
    for_each([&](std::string_view, const tracker_ptr& t) { bytes += t->memory_bytes(); });
    return bytes;
}

}  // namespace mg::cardinality
