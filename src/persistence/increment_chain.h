// increment_chain: which increments of a tracker apply onto its base, in what order, and why a run
// of them stops. The one rule shared by the daemon's restore (bloom_persistence_restore.cpp) and
// the read-only `state inspect` / `state verify` (state_inspect.h), so what an operator is told
// about a state directory is exactly what a start would load.
//
// The rule (docs/persistence.md, "incremental saves"): only the increments whose base_checksum is
// the CRC32 of the base actually read apply, by seq from 1 up, the longest run that reads,
// decodes, names that base and seq in its header, and applies (cardinality::apply_delta); the
// first one that does not ends the run, and none after it applies. Increments of another base are
// superseded: left from an earlier base (or listed for a newer base the crash never wrote), never
// applied, and no error.
//
// Pure function over the snapshot and a reader the caller provides (the store, or a plain read
// through mg::file_system); no logging, no counters, not synchronized.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cardinality/bloom_tracker.h"
#include "common/result.h"
#include "persistence/meta_index.h"

namespace mg::persistence {

struct increment_step {
    increment_meta inc;
    std::string skipped;  // empty: applied; otherwise why not
};

struct increment_chain {
    // The increments of the base, by seq ascending, each applied or skipped.
    std::vector<increment_step> steps;
    // The increments of other bases, in index order.
    std::vector<increment_meta> superseded;
    std::size_t applied = 0;
};

// Returns an increment file's bytes, its CRC32 verified against the index (an error says why not).
using increment_reader = std::function<result<std::string>(const increment_meta&)>;

// Applies to `snap` (the decoded base whose file CRC32 is base_checksum) the run of m's
// increments described above; increments are inflated within max_inflated bytes. On return
// `snap` holds the base plus the applied increments.
increment_chain apply_increment_chain(const tracker_meta& m, std::uint32_t base_checksum,
                                      cardinality::tracker_snapshot& snap,
                                      const increment_reader& read, std::uint64_t max_inflated);

}  // namespace mg::persistence
