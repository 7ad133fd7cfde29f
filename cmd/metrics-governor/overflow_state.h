// overflow_state: the daemon's side of the overflow fold state across a restart (issue 21,
// docs/overflow.md "Restarts"): taken back from the Bloom state directory at the start, before
// any request folds, and written there at a clean stop, after the last emission. Each step logs
// what it did; a state that cannot be read is counted in the store and the daemon goes on (its
// overflow counters start again at 0: one counter reset). Main thread only.
#pragma once

#include <string>

#include "common/file_system.h"
#include "overflow/overflow_store.h"

namespace mg::cmd {

void restore_overflow_state(overflow::overflow_store& store, file_system& fs,
                            const std::string& dir, std::int64_t now_ms);
// False when the state could not be written (logged as an error).
bool save_overflow_state(const overflow::overflow_store& store, file_system& fs,
                         const std::string& dir);

}  // namespace mg::cmd
