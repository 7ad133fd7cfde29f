// series_hash: the identity of a series, a 64-bit XXH3 of the metric name and its label pairs
// sorted by label name. Label order in a request never changes the identity, and the encoding
// is length-prefixed so that ("a","bc") and ("ab","c") differ.
//
// The canonical encoding is the one a Prometheus remote-write 1.0 TimeSeries carries its labels
// in: one protobuf Label field (`0x0a len 0x0a len(name) name 0x12 len(value) value`, varint
// lengths, both fields always written) for `__name__` = the metric name, then one per label in
// sorted order. Why: a sender's TimeSeries whose labels are sorted with `__name__` first (what
// Prometheus sends) already IS that encoding, so the remote-write decoder hashes the wire bytes
// where they lie (series_hash_canonical) instead of copying every label into a buffer first.
// Changing this encoding changes every identity: bump tracker_snapshot::k_format with it.
//
// Pure function, thread-safe. It does not allocate for label sets up to k_inline_labels labels
// whose encoding fits k_inline_bytes; bigger sets fall back to a heap copy / streaming hash with
// the same result. Duplicate label names are hashed in (name, value) order, so the result is
// still independent of input order. The collision rate of 64-bit identities is discussed in
// docs/cardinality.md (about 2.7e-4 expected colliding pairs at 100M series).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/label_view.h"

namespace mg::cardinality {

using label_view = mg::label_view;  // common/label_view.h

inline constexpr std::size_t k_inline_labels = 64;
inline constexpr std::size_t k_inline_bytes = 2048;

// XXH3-64 of the canonical encoding above: Label(__name__, metric_name), then a Label per label
// in sorted order.
std::uint64_t series_hash(std::string_view metric_name, std::span<const label_view> labels);
// The same hash for labels the caller guarantees are sorted by (name, value), as the protocol
// decoders deliver them: skips the ordering check, which costs about a third of the hash.
std::uint64_t series_hash_sorted(std::string_view metric_name, std::span<const label_view> sorted);
// The hash of bytes that already are the canonical encoding (e.g. a remote-write label run).
std::uint64_t series_hash_canonical(const char* bytes, std::size_t n);

}  // namespace mg::cardinality
