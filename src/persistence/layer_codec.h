// layer_codec: a tracker snapshot cut into generation files for layered saves, and put back
// together at restore (docs/persistence.md, "generation files"). Pure functions over memory: no
// file I/O, no locks.
//
// Only the current generation of a tracker is ever written to; the older ones are frozen. So a
// save after a rotation writes each newly frozen generation once, in a file of its own, and a
// head: the snapshot with every generation's age and latest count but only the current
// generation's words. Both are ordinary tracker files (tracker_codec.h: they hold the key and the
// config, so a file never serves another tracker): a frozen file is a snapshot of one generation,
// a head has zero slices in every frozen generation.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cardinality/bloom_tracker.h"
#include "common/result.h"
#include "persistence/meta_index.h"

namespace mg::persistence {

struct layer_split {
    cardinality::tracker_snapshot head;
    // frozen[i] holds generation i+1 alone (config and taken_at as the snapshot's).
    std::vector<cardinality::tracker_snapshot> frozen;
};

// Moves the words of `snap` into a head and one snapshot per frozen generation.
layer_split split_layers(cardinality::tracker_snapshot snap);

// Whether generation `g` (>= 1) of a snapshot holds nothing: no file is needed for it.
bool generation_empty(const cardinality::tracker_snapshot& snap, std::size_t g);

// Puts the words of a frozen file back into generation `g` (>= 1) of a head. An error names the
// mismatch (not one generation, another config, a generation the head already holds words for);
// `head` is then unchanged.
status attach_frozen(cardinality::tracker_snapshot& head, std::size_t g,
                     cardinality::tracker_snapshot frozen);

// Whether a start loads an entry's layers rather than its base (restore and `state verify` share
// the rule): the layers are newer than the base they follow. While a new base replaces that one
// (a crash in between), the base file found decides: the old one means the layers are the newest
// state, the new one that they are older than it. `found_base_crc` is the CRC32 of the base file
// found, when it had to be read (layers_need_base() says when).
bool layers_need_base(const tracker_meta& m);
bool use_layers(const tracker_meta& m, std::optional<std::uint32_t> found_base_crc);

// Reads one generation file of an entry (head or frozen), CRC-checked.
using layer_reader = std::function<result<std::string>(const layer_file& f, bool head)>;

struct loaded_layers {
    cardinality::tracker_snapshot snapshot;  // the head with every frozen generation attached
    std::size_t files = 0;                   // read: the head and the non-empty frozen ones
};

// The tracker as an entry's layers hold it. An error names the first file that is missing, does
// not verify or does not fit (the caller then loads the base).
result<loaded_layers> load_layers(const tracker_meta& m, const layer_reader& read,
                                  std::uint64_t max_inflated);

}  // namespace mg::persistence
