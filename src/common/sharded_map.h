// sharded_map<V>: string-keyed map of shared_ptr<V>, split into 64 shards by a hash of the key,
// each a std::shared_mutex over an unordered_map with heterogeneous (string_view) lookup.
// Finding an existing entry takes one shard's shared lock and allocates nothing, so threads on
// different keys never contend and readers of one key never block each other. Creation takes the
// shard's exclusive lock and re-checks, so concurrent get_or_create of one key yields one value.
//
// Thread-safety: every method may be called concurrently. Values are shared_ptr: erase() removes
// an entry while holders finish safely. for_each() visits one shard at a time under its shared
// lock; the callback must not call the map's mutating methods.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mg {

std::size_t string_key_hash(std::string_view s) noexcept;

template <typename V>
class sharded_map {
  public:
    static constexpr std::size_t k_shards = 64;
    using value_ptr = std::shared_ptr<V>;

    value_ptr find(std::string_view key) const {
        const auto h = string_key_hash(key);
        const shard& s = shards_[h >> 58];
        std::shared_lock lk(s.mu);
        if (auto it = s.map.find(key); it != s.map.end()) return it->second;
        return nullptr;
    }

    // The value for `key`, made by `make()` (called without any lock held) when absent.
    template <typename Make>
    value_ptr get_or_create(std::string_view key, Make&& make) {
        const auto h = string_key_hash(key);
        shard& s = shards_[h >> 58];
        {
            std::shared_lock lk(s.mu);
            if (auto it = s.map.find(key); it != s.map.end()) return it->second;
        }
        value_ptr fresh = make();
        std::unique_lock lk(s.mu);
        auto [it, inserted] = s.map.try_emplace(std::string(key), std::move(fresh));
        if (inserted) size_.fetch_add(1, std::memory_order_relaxed);
        return it->second;
    }

    // Adds or replaces. Returns false for a null value.
    bool put(std::string_view key, value_ptr value) {
        if (!value) return false;
        shard& s = shards_[string_key_hash(key) >> 58];
        std::unique_lock lk(s.mu);
        auto [it, inserted] = s.map.insert_or_assign(std::string(key), std::move(value));
        if (inserted) size_.fetch_add(1, std::memory_order_relaxed);
        return true;
    }

    bool erase(std::string_view key) {
        shard& s = shards_[string_key_hash(key) >> 58];
        value_ptr victim;  // released after the lock: the last owner's destructor may be costly
        std::unique_lock lk(s.mu);
        auto it = s.map.find(key);
        if (it == s.map.end()) return false;
        victim = std::move(it->second);
        s.map.erase(it);
        size_.fetch_sub(1, std::memory_order_relaxed);
        lk.unlock();
        return true;
    }

    void for_each(const std::function<void(std::string_view, const value_ptr&)>& fn) const {
        for (const shard& s : shards_) {
            std::shared_lock lk(s.mu);
            for (const auto& [k, v] : s.map) fn(k, v);
        }
    }

    std::size_t size() const { return size_.load(std::memory_order_relaxed); }

  private:
    struct key_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return string_key_hash(s); }
    };
    struct key_eq {
        using is_transparent = void;
        bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
    };
    struct alignas(64) shard {
        mutable std::shared_mutex mu;
        std::unordered_map<std::string, value_ptr, key_hash, key_eq> map;
    };

    std::atomic<std::size_t> size_{0};
    std::array<shard, k_shards> shards_;
};

}  // namespace mg
