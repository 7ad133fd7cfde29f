// scalable_bloom: a chain of block_bloom slices that grows instead of saturating (scalable
// Bloom filters, Almeida et al. 2007). Inserts go to the newest slice; when it holds its
// capacity a larger slice is added with a tighter rate, so the union bound of all slices' rates
// stays <= the filter's configured rate however far past `expected_items` it grows.
//
// Slice schedule (see docs/cardinality.md for the arithmetic), with P the filter's rate and E
// its expected items:
//  - planned slices: capacities 16, 128, 1024, ... (x8) until the next step would overshoot E,
//    the last planned slice then takes the rest up to exactly E. Slice i gets rate
//    P * max(0.7 * c_i / E, 0.1 * 2^-(i+1)): big slices share 70% of the budget in proportion
//    to their capacity (the same bits per item as one filter at 0.7 P), small slices are cheap
//    anyway and take at most 10%.
//  - overflow slices past E: capacities 2E, 4E, 8E, ... with rates 0.2 P * 2^-j (sum <= 0.2 P),
//    so 10x E takes 3 more slices and memory overshoots what is used by at most ~2x.
// A filter with 10 items is one 64-byte block; one that reached E=100000 has 5 slices.
//
// Change marks (incremental persistence): every slice keeps one bit per block, set by the insert
// that changed the block (fetch_or, release) and swapped to zero by take_changes() (exchange,
// acquire) before the block is read, so a change is either in what take_changes() reads or still
// marked for the next call; marks are never cleared after a read (docs/persistence.md). They
// cost 1/512 of the filter and one fetch_or per insert that changed bits; lookups never touch them.
//
// Thread-safety: test, test_and_insert, prefetch, newest_slices, memory_bytes, items,
// for_each_slice and take_changes may run concurrently. Slices are appended with a release store
// and never removed while the filter is shared; clear() and restore_slice() need exclusive access
// (the owner provides it).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "cardinality/block_bloom.h"
#include "common/result.h"

namespace mg::cardinality {

struct slice_geometry {
    std::uint64_t capacity = 0;
    std::uint64_t n_blocks = 0;
    double fp_rate = 0;
};

class scalable_bloom {
  public:
    static constexpr std::size_t k_max_slices = 40;
    static constexpr std::uint64_t k_first_capacity = 16;

    // expected_items >= 1, 0 < fp_rate < 1. Allocates nothing until the first insert.
    scalable_bloom(std::uint64_t expected_items, double fp_rate);
    scalable_bloom() : scalable_bloom(1, 0.01) {}
    scalable_bloom(const scalable_bloom&) = delete;
    scalable_bloom& operator=(const scalable_bloom&) = delete;
    ~scalable_bloom();

    // The capacity, block count and rate of slice `index` for a filter of this shape.
    static slice_geometry geometry(std::uint64_t expected_items, double fp_rate, std::size_t index);

    bool test(const bloom_key& k) const noexcept {
        for (const slice* s = head_.load(std::memory_order_acquire); s != nullptr; s = s->older)
            if (s->filter.test(k)) return true;
        return false;
    }
    // Inserts unless present in some slice. Returns true when it was already present.
    bool test_and_insert(const bloom_key& k);
    // Inserts into the newest slice without testing the older ones: the caller has just tested
    // and found the item absent. Returns true when the item was already present in that slice.
    bool insert_absent(const bloom_key& k);
    // Prefetches the item's block in the newest (largest) `count` slices.
    void prefetch(const bloom_key& k, std::size_t count = k_max_slices) const noexcept {
        for (const slice* s = head_.load(std::memory_order_acquire); s != nullptr && count > 0;
             s = s->older, --count)
            s->filter.prefetch(k);
    }

    // Addressing of one slice, copied out for batched probing (block_bloom::block_at/block_has).
    // The words stay valid while the filter is shared: only clear(), reshape() and destruction
    // free slices, and they need exclusive access.
    struct probe_slice {
        const std::atomic<std::uint64_t>* words = nullptr;
        std::uint64_t n_blocks = 0;
        std::uint64_t items = 0;  // inserted when copied
    };
    // Copies up to out.size() slices, newest first; returns how many were copied. Slices added
    // afterwards are not in the copy (a probe of the copy that finds nothing is not final).
    std::size_t newest_slices(std::span<probe_slice> out) const noexcept {
        std::size_t n = 0;
        for (const slice* s = head_.load(std::memory_order_acquire); s != nullptr && n < out.size();
             s = s->older, ++n)
            out[n] = {s->filter.words().data(), s->filter.n_blocks(),
                      s->items.load(std::memory_order_relaxed)};
        return n;
    }

    bool empty() const noexcept { return head_.load(std::memory_order_acquire) == nullptr; }
    std::size_t slice_count() const noexcept;
    // Distinct items inserted (as counted by the slices: a false positive is not counted).
    std::uint64_t items() const noexcept;
    // Heap bytes owned: slice headers and words (not sizeof(*this)).
    std::size_t memory_bytes() const noexcept { return memory_.load(std::memory_order_relaxed); }
    std::uint64_t expected_items() const noexcept { return expected_; }
    double fp_rate() const noexcept { return fp_rate_; }

    struct slice_view {
        slice_geometry geometry;
        std::uint64_t items;
        const block_bloom& filter;
    };
    // Visits slices oldest first.
    void for_each_slice(const std::function<void(const slice_view&)>& fn) const;

    // Visits slices oldest first, each with its blocks changed since the previous call (bit b of
    // word b/64 for block b), swapped to zero before the visitor reads the slice. Slices appended
    // meanwhile are not visited and keep their marks. One caller at a time (the tracker's
    // snapshot lock).
    void take_changes(
        const std::function<void(const slice_view&, std::span<const std::uint64_t>)>& fn);

    // Exclusive access required: frees every slice.
    void clear() noexcept;
    // Exclusive access required: frees every slice and changes the shape of future slices.
    void reshape(std::uint64_t expected_items, double fp_rate) noexcept;
    // Exclusive access required: appends a slice rebuilt from a snapshot (oldest first).
    status restore_slice(const slice_geometry& geo, std::uint64_t items,
                         std::span<const std::uint64_t> words);

  private:
    struct slice {
        slice(const slice_geometry& g, std::uint32_t i, slice* o)
            : filter(g.n_blocks),
              geo(g),
              mark_words((filter.n_blocks() + 63) / 64),
              marks(new std::atomic<std::uint64_t>[mark_words]()),
              older(o),
              index(i) {}

        void mark(std::uint64_t block) noexcept {
            marks[block / 64].fetch_or(std::uint64_t{1} << (block % 64), std::memory_order_release);
        }

        block_bloom filter;
        slice_geometry geo;
        std::atomic<std::uint64_t> items{0};
        std::uint64_t mark_words;
        std::unique_ptr<std::atomic<std::uint64_t>[]> marks;  // one bit per changed block
        slice* older;
        std::uint32_t index;

        std::size_t bytes() const {
            return sizeof(slice) + filter.memory_bytes() + mark_words * sizeof(std::uint64_t);
        }
    };
    slice* grow(slice* full);

    std::atomic<slice*> head_{nullptr};  // newest; each slice links to the next older one
    std::atomic<std::size_t> memory_{0};
    std::atomic<bool> growing_{false};
    std::uint64_t expected_;
    double fp_rate_;
};

}  // namespace mg::cardinality
