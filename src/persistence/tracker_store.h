// tracker_store: the state directory (the spec's TrackerStore): `PATH/meta.json` and
// `PATH/trackers/{sha256(key)}.bloom.gz` (`.bloom` without compression), every write atomic,
// files 0600 and directories 0700, disk usage accounted exactly from the index.
//
// Write order of a save (docs/persistence.md, "crash safety"): files of new keys first; then the
// index, recording for each re-saved key the new file's checksum and the old one as
// previous_checksum; then the re-saved files, each by atomic replace. A crash at any point leaves,
// for every indexed key, a file whose CRC matches the index's checksum or previous_checksum, so a
// restart loads the new or the previous save of each tracker, never a torn one, and never an
// entry without its file. Removal is the reverse: index first, then the file. An unlisted file
// is an orphan, deleted at open.
//
// All I/O goes through the injected file_system. Thread-safety: every method may be called from
// any thread; one mutex serializes index changes and the writes that go with them (the saver and
// the cleanup thread share a store). Methods never throw for I/O problems: they return status.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/file_system.h"
#include "common/result.h"
#include "persistence/meta_index.h"

namespace mg::persistence {

struct store_options {
    std::string path = "./bloom-state";
    std::uint64_t max_file_bytes = 50ull << 20;  // files over this are refused (load and save)
    std::uint64_t max_meta_bytes = 256ull << 20;
    // Bytes that must stay free on the file system beyond what a save writes.
    std::uint64_t free_space_margin = 1ull << 20;
};

// One tracker ready to be written: the file bytes (compressed or not) and its index entry (hash,
// checksum, size_bytes and the extension flags are filled in by the store).
struct pending_file {
    tracker_meta meta;
    std::string bytes;
};

struct save_outcome {
    std::string key;
    status result;
};

// What open() found in the directory, for the restore log and counters.
struct open_report {
    bool meta_found = false;
    meta_problem problem = meta_problem::none;
    std::string message;
    std::map<std::string, std::string> bad_entries;
    std::vector<std::string> orphans_removed;
    std::string meta_moved_to;  // a malformed meta.json is kept under this name for inspection
};

class tracker_store {
public:
    // Creates the directories (0700) and reads the index. An unusable directory is an error; an
    // index of an unknown version is an error too (the directory may belong to a newer build and
    // is left untouched). A malformed index is moved aside and the store starts empty. Orphan
    // and temporary files are removed.
    static result<std::unique_ptr<tracker_store>> open(file_system& fs, store_options options, open_report& report);

    // A copy of the index.
    meta_index index() const;
    std::optional<tracker_meta> entry(const std::string& key) const;
    std::size_t size() const;

    // Reads and verifies the file of an index entry: size limit, CRC32 against checksum (or
    // previous_checksum, see above). Returns the file bytes; gzip or not is the caller's concern.
    // The index entry is updated to describe the file found (checksum, size, extension).
    result<std::string> read(const tracker_meta& meta);

    // Writes the files of a save pass (index first, then files; see above). Checks free space
    // first: when the file system lacks room for all of it, nothing is written and every file
    // fails. Files over max_file_bytes fail alone. The outcome says per key what happened; a
    // failed key keeps its previous entry and file.
    std::vector<save_outcome> save(std::vector<pending_file> files, std::chrono::system_clock::time_point now);

    // Drops the keys from the index and deletes their files.
    status remove(const std::vector<std::string>& keys);

    // Bytes on disk: every indexed tracker file plus meta.json.
    std::uint64_t disk_usage() const;

    const std::string& path() const { return options_.path; }
    std::string file_path(const tracker_meta& meta) const;

private:
    tracker_store(file_system& fs, store_options options);
    status write_index_locked();
    std::string meta_path() const { return options_.path + "/meta.json"; }
    std::string trackers_dir() const { return options_.path + "/trackers"; }

    file_system& fs_;
    store_options options_;
    mutable std::mutex mu_;
    meta_index index_;
    std::uint64_t meta_bytes_ = 0;
    std::uint64_t tracker_bytes_ = 0;  // sum of size_bytes over index_
};

}  // namespace mg::persistence
