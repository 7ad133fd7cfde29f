// overflow_state_file: the overflow series' fold state on disk, `overflow.state.gz` beside
// meta.json in the Bloom state directory (issue 21, docs/overflow.md "Restarts"), so a counter's
// overflow series keeps increasing across a planned restart instead of starting again at 0.
//
// Written once, at a clean stop, after the last emission (the folds are final then); read once
// at the start, before anything folds, then removed: a state that was taken back must not be
// taken back again after a crash, which would make the overflow series go back in time (a jump
// at the backend when it is then read as a counter reset). A crash therefore restarts the
// overflow series at 0, one counter reset, as without the file.
//
// Format (version 1): gzip of the magic "MGOVFL", a u16 version, a u32 series count, the series
// (every field of overflow::series_state, the folds of every kind: counters, gauges, native and
// explicit-bounds histograms; strings as a u32 length and bytes, integers little-endian, doubles
// as their bits), and a CRC32 of everything before it. A file that fails to inflate, to verify or
// to parse is refused whole (an error; the caller keeps it as `.corrupt` for a look and starts
// without it): a fold state that is half right would undercount or jump.
//
// Pure functions over a file_system; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/file_system.h"
#include "common/result.h"
#include "overflow/store_state.h"

namespace mg::persistence {

inline constexpr std::string_view k_overflow_state_file = "overflow.state.gz";

std::string encode_overflow_state(const std::vector<overflow::series_state>& state);
result<std::vector<overflow::series_state>> decode_overflow_state(std::string_view bytes);

// Writes `state` to `dir`/overflow.state.gz atomically (0600); returns the bytes written.
result<std::uint64_t> save_overflow_state(file_system& fs, const std::string& dir,
                                          const std::vector<overflow::series_state>& state);

struct overflow_state_load {
    bool found = false;  // false: no file (a first start, or the last stop was not clean)
    std::vector<overflow::series_state> state;
};
// Reads `dir`/overflow.state.gz. A file that cannot be read whole is an error naming the file and
// the problem, and is renamed to overflow.state.gz.corrupt (not deleted); a file read whole is
// removed (see above).
result<overflow_state_load> load_overflow_state(file_system& fs, const std::string& dir);

}  // namespace mg::persistence
