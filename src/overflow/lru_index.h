// lru_index: the folded series an overflow aggregate remembers, bounded: a map from series
// identity to a value, least recently used first out. The bound is what keeps an exploding label
// from turning overflow state into the memory problem the limit was there to prevent.
// Value type; not synchronized (its owner serializes access).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mg::overflow {

template <typename V>
class lru_index {
  public:
    explicit lru_index(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

    // The value of `key`, now the most recently used; null when it is not remembered.
    V* find(std::uint64_t key) {
        const auto it = map_.find(key);
        if (it == map_.end()) return nullptr;
        order_.splice(order_.begin(), order_, it->second);
        return &it->second->second;
    }
    // Remembers `key` as the most recently used with `value`; returns whether that pushed the
    // least recently used one out.
    bool insert(std::uint64_t key, V value) {
        if (V* v = find(key)) {
            *v = std::move(value);
            return false;
        }
        order_.emplace_front(key, std::move(value));
        map_[key] = order_.begin();
        if (map_.size() <= capacity_) return false;
        map_.erase(order_.back().first);
        order_.pop_back();
        return true;
    }
    bool erase(std::uint64_t key) {
        const auto it = map_.find(key);
        if (it == map_.end()) return false;
        order_.erase(it->second);
        map_.erase(it);
        return true;
    }
    template <typename F>
    void for_each(F&& f) const {
        for (const auto& [k, v] : order_) f(k, v);
    }
    // Remembers `mru_first` (as for_each gave it: most recently used first) in that order; past
    // the capacity, the least recently used are left out. For a state carried over a restart.
    void restore(std::vector<std::pair<std::uint64_t, V>> mru_first) {
        const auto n = std::min(mru_first.size(), capacity_);
        for (std::size_t i = n; i-- > 0;)
            insert(mru_first[i].first, std::move(mru_first[i].second));
    }
    std::size_t size() const { return map_.size(); }
    std::size_t capacity() const { return capacity_; }

  private:
    using entry = std::pair<std::uint64_t, V>;
    std::size_t capacity_;
    std::list<entry> order_;  // most recently used first
    std::unordered_map<std::uint64_t, typename std::list<entry>::iterator> map_;
};

}  // namespace mg::overflow
