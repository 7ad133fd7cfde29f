// state_inspect: a read-only look at a bloom state directory, for `metrics-governor state
// inspect` and `state verify` (docs/persistence.md, "Looking at a state directory"): what
// meta.json lists, and for each tracker whether its base file, generation files and increments are
// there, verify
// (CRC32 against the index) and decode, which increments a start would apply (increment_chain.h,
// the restore's own rule), and the tracker as it would be rebuilt (count, generations). Files in
// trackers/ that the index does not list and the contents of unreadable/ are listed too. Every
// problem and warning is also given as one line of text, ready to print.
//
// Strictly read-only: unlike tracker_store::open (which removes orphans, rewrites meta.json and
// moves undecodable files aside) it only reads and lists, through the injected file_system, so it
// is safe on a volume mounted read-only and beside a running daemon (whose saves may then show
// as a transient mismatch: run it again). No directory lock is taken.
//
// Pure function of the file system and the clock (the time of inspection: ages, and what a
// restore now would keep of each tracker). Not synchronized; nothing is kept.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/file_system.h"
#include "persistence/meta_index.h"

namespace mg::persistence {

struct inspect_options {
    std::string path;
    // The daemon's bounds: a file over them is one the daemon cannot load either.
    std::uint64_t max_file_bytes = 50ull << 20;
    std::uint64_t max_meta_bytes = 256ull << 20;
    // Inflate bound of one file: restore's, when memory allows (max_file_bytes * 64).
    std::uint64_t max_inflated_bytes = (50ull << 20) * 64;
};

// What reading one file against its index entry found.
enum class file_status {
    ok,           // present, CRC32 as the index says, decodes
    ok_previous,  // a base whose CRC32 is the entry's previous_checksum: a save cut short
    mismatch,     // CRC32 differs from the index
    missing,
    unreadable,   // present but not readable (permissions, over the size bound)
    undecodable,  // CRC32 as indexed, but the contents do not decode or restore
};
const char* to_string(file_status s);

enum class increment_fate { applied, skipped, superseded };
const char* to_string(increment_fate f);

struct increment_check {
    increment_meta meta;
    std::string file;  // name in trackers/
    file_status status = file_status::missing;
    std::string detail;  // why, when status is not ok
    increment_fate fate = increment_fate::skipped;
    std::string skipped;  // why, when fate is skipped
};

// One generation file of an entry's layers (head first, then the frozen generations in order).
struct layer_check {
    std::string file;            // name in trackers/
    std::size_t generation = 0;  // 0: the head
    std::uint64_t size = 0;
    file_status status = file_status::missing;
    std::string detail;
};

struct generation_check {
    std::chrono::nanoseconds age{0};  // at the time of inspection
    std::int64_t latest_count = 0;    // series whose latest sighting is in it
    std::size_t slices = 0;
    std::uint64_t filter_bytes = 0;
};

struct tracker_check {
    tracker_meta meta;  // the index entry
    std::string
        base_file;  // the file read (the entry's extension, or the other one when only it is there)
    std::uint64_t base_bytes = 0;  // size on disk, when present
    file_status base_status = file_status::missing;
    std::string base_detail;
    std::vector<increment_check> increments;  // index order
    std::vector<layer_check> layers;          // the head, then frozen generations (with files)
    // A start loads the layers (head and frozen generations) rather than the base file.
    bool from_layers = false;
    // From the base plus the applied increments, when the base decodes:
    std::optional<std::uint64_t> count_rebuilt;  // at the last save (base or increment)
    std::optional<std::uint64_t> count_now;      // restored now: expired generations rotated out
    std::chrono::system_clock::time_point taken_at{};  // of the state rebuilt
    std::vector<generation_check> generations;         // current first
    std::uint64_t memory_bytes = 0;                    // of the restored tracker
    // A start would load it (its TTL and the memory bound aside).
    bool loads = false;
};

struct stray_file {
    std::string name;
    std::uint64_t size = 0;
    std::string note;  // what the daemon does with it
};

struct state_report {
    std::string path;
    std::chrono::system_clock::time_point inspected_at{};
    bool readable = false;  // the directory could be listed
    bool meta_found = false;
    meta_problem meta = meta_problem::none;
    std::string meta_message;
    int version = 0;
    std::uint64_t meta_bytes = 0;
    std::map<std::string, std::string> bad_entries;  // key -> why (the daemon skips them)
    std::vector<tracker_check> trackers;             // by key
    std::vector<stray_file> orphans;                 // in trackers/, listed by no entry
    std::vector<stray_file> unreadable;              // in unreadable/ (set aside by the daemon)
    std::vector<stray_file> other;                   // meta.json.corrupt
    std::uint64_t bytes_on_disk = 0;  // meta.json and every file in trackers/ and unreadable/
    std::uint64_t indexed_bytes = 0;  // meta.json and the files the index lists (max_size's view)
    // One line each, naming the file or key. Problems: what a start could not load as listed
    // (the index unusable, a file missing, a CRC32 mismatch, a file that does not decode, a torn
    // increment). Warnings: what is left over but harmless (a base of the previous save,
    // superseded increments, orphans, files set aside earlier).
    std::vector<std::string> problems;
    std::vector<std::string> warnings;

    // The index could be read: there is a state to report on.
    bool index_usable() const { return readable && meta_found && meta == meta_problem::none; }
};

state_report inspect_state(file_system& fs, mg::clock& clock, const inspect_options& options);

}  // namespace mg::persistence
