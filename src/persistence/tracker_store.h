// tracker_store: the state directory (the spec's TrackerStore): `PATH/meta.json` and
// `PATH/trackers/{sha256(key)}.bloom.gz` (`.bloom` without compression), every write atomic,
// files 0600 and directories 0700, disk usage accounted exactly from the index.
//
// Write order of a save (docs/persistence.md, "crash safety"): files of new keys and increment
// files first (new names); then the index, recording for each re-saved key the new file's
// checksum and the old one as previous_checksum, and listing the new increments; then the
// re-saved files, each by atomic replace; then, when a re-saved key had increments, the index
// again without them, and their files are deleted (an increment names the checksum of the base
// it follows, so until then it is never applied to the new base). A crash at any point leaves,
// for every indexed key, a file whose CRC matches the index's checksum or previous_checksum, so a
// restart loads the new or the previous save of each tracker, never a torn one, and never an
// entry without its file. A new set of generation files (layered saves: a head and the frozen
// generations not written before) is written like increments, under new names, before the index
// that lists it; the files it supersedes (the previous head, frozen generations that expired,
// increments of the previous head) are deleted after that index write. When a base is re-saved
// under layers, the layers stay listed until the new base is in place (they name the old base's
// checksum: restore prefers them only over that base), then go like superseded increments.
// Removal is the reverse: index first, then the file. An unlisted file
// is an orphan, deleted at open, but only when the index was read whole: when meta.json is
// malformed (moved aside as meta.json.corrupt) or some of its entries are, every unlisted file
// is a tracker whose index was lost, and the index is rebuilt from the files themselves (each
// holds its key; decode-verified). A file that does not decode is moved to PATH/unreadable/,
// never deleted: nothing is removed that could still be read.
//
// The directory can vanish under a running daemon (an operator's rm -rf, a volume remounted):
// ensure_layout(), called before every save pass, recreates it (0700) and forgets the index of
// files that went with it, so the caller re-saves everything.
//
// All I/O goes through the injected file_system, and the deadline of a save is read on the
// injected clock (both must outlive the store). Thread-safety: every method may be called from
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

#include "common/clock.h"
#include "common/file_system.h"
#include "common/result.h"
#include "persistence/meta_index.h"

namespace mg::persistence {

struct store_options {
    std::string path = "./bloom-state";
    std::uint64_t max_file_bytes = 50ull << 20;  // files over this are refused (load and save)
    std::uint64_t max_meta_bytes = 256ull << 20;
    // Room that must stay free beyond what a save writes, as a share of what it writes (at least
    // k_min_free_space_margin): proportional, so a small volume is not blocked by a fixed margin.
    std::uint64_t free_space_margin_percent = 10;
    static constexpr std::uint64_t k_min_free_space_margin = 4096;
    // Inflate bound when a file is decoded to rebuild a lost index (the restore bound).
    std::uint64_t max_inflated_bytes = 256ull << 20;
};

// One tracker ready to be written: the file bytes (compressed or not) and its index entry (hash,
// checksum, size_bytes and the extension flags are filled in by the store).
// With `increment` set, the bytes are an increment of meta.key's current base instead (its seq,
// base_checksum and compressed given; checksum and size filled in): the entry's count,
// last_updated and memory_bytes move, and the increment joins its list. It fails when the entry
// is gone or its base is no longer the one the increment follows.
// With `layers` set, the bytes are a new head of meta.key's layers (layers->head's id and
// compressed given; its checksum and size are filled in), `frozen_files` the frozen generation
// files not on disk yet (by id; their checksums and sizes in layers->frozen are filled in), and
// the set replaces the entry's layers and increments. It fails when the entry is gone or its base
// is no longer layers->base_checksum.
struct pending_file {
    tracker_meta meta;
    std::string bytes;
    std::optional<increment_meta> increment;
    std::optional<layer_set> layers;
    std::vector<std::pair<std::uint64_t, std::string>> frozen_files;
};

struct save_outcome {
    std::string key;
    status result;
    bool timed_out = false;  // not attempted: the deadline passed first (result is an error too)
    std::uint32_t checksum = 0;  // of the file written, when result is ok
};

// A tracker whose filter did not change but which was used: only its index entry moves.
struct stamp {
    std::string key;
    std::uint64_t count = 0;
    std::chrono::system_clock::time_point last_updated;
};

// What open() found in the directory, for the restore log and counters.
struct open_report {
    bool meta_found = false;
    meta_problem problem = meta_problem::none;
    std::string message;
    std::map<std::string, std::string> bad_entries;
    std::vector<std::string> orphans_removed;
    std::string meta_moved_to;  // a malformed meta.json is kept under this name for inspection
    // Index rebuilt from the tracker files (meta.json malformed or entries bad): the keys
    // recovered, and the files that did not decode, moved to PATH/unreadable/ (file -> why).
    std::vector<std::string> recovered;
    std::map<std::string, std::string> set_aside;
    // Empty when a test write into the directory succeeded; else why not (a read-only volume).
    // The store still opens: what is on disk can be restored, saves will fail and say so.
    std::string not_writable;
};

class tracker_store {
  public:
    static constexpr unsigned k_dir_mode = 0700;
    static constexpr unsigned k_file_mode = 0600;

    // Creates the directories (0700) and reads the index. An unusable directory is an error; an
    // index of an unknown version is an error too (the directory may belong to a newer build and
    // is left untouched). A malformed index is moved aside and rebuilt from the tracker files;
    // see the header for orphans. Temporary files are removed. When the index in memory differs
    // from meta.json (entries dropped or recovered), meta.json is rewritten at once.
    static result<std::unique_ptr<tracker_store>> open(file_system& fs, mg::clock& clock,
                                                       store_options options, open_report& report);

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
    // Files not started when `deadline` (the clock's monotonic time) passes fail with timed_out
    // set (a shutdown's bound).
    std::vector<save_outcome> save(std::vector<pending_file> files,
                                   std::chrono::system_clock::time_point now,
                                   std::chrono::steady_clock::time_point deadline =
                                       std::chrono::steady_clock::time_point::max());

    // Moves the last_updated and count of indexed trackers (unknown keys are ignored) and writes
    // the index once: a tracker in use is never mistaken for a stale one at restore.
    status touch(const std::vector<stamp>& stamps, std::chrono::system_clock::time_point now);

    // Recreates the directories when they are gone; true when it did (the index was emptied: the
    // files went with the directory, the caller must save every tracker again).
    result<bool> ensure_layout();

    // Reads and verifies one increment file of an entry (size limit, CRC32 against its checksum).
    result<std::string> read_increment(const tracker_meta& meta, const increment_meta& inc) const;

    // Reads and verifies one generation file of an entry's layers (size limit, CRC32).
    result<std::string> read_layer(const tracker_meta& meta, const layer_file& f, bool head) const;

    // Drops the keys from the index and deletes their files.
    status remove(const std::vector<std::string>& keys);

    // Bytes on disk: every indexed tracker file plus meta.json.
    std::uint64_t disk_usage() const;

    const std::string& path() const { return options_.path; }
    std::string file_path(const tracker_meta& meta) const;
    std::string increment_path(const tracker_meta& meta, const increment_meta& inc) const;
    // `{hash}.bloom.gz`, or `{hash}.bloom` uncompressed: a tracker's base file.
    static std::string base_file_name(const std::string& hash, bool compressed);
    // `{hash}.{base_checksum:08x}.{seq}.inc` (+ ".gz" when compressed).
    static std::string increment_file_name(const std::string& hash, const increment_meta& inc);
    // `{hash}.{id}.head` or `{hash}.{id}.gen` (+ ".gz" when compressed).
    static std::string layer_file_name(const std::string& hash, const layer_file& f, bool head);
    static bool is_layer_file_name(const std::string& name);
    // Every file name an entry lists: base (both extensions), increments, generation files.
    static std::vector<std::string> listed_file_names(const tracker_meta& m);

  private:
    tracker_store(file_system& fs, mg::clock& clock, store_options options);
    status write_index_locked();
    // Rebuilds index entries for the unlisted files of the trackers directory (see open()).
    void recover_from_files(const std::vector<dir_entry>& listing, open_report& report);
    // The increment files among them, once their bases are indexed; what is left is returned.
    std::vector<dir_entry> recover_increments(const std::vector<dir_entry>& listing,
                                              open_report& report);
    void set_aside(const std::string& name, std::string why, open_report& report);
    void set_entry_locked(const tracker_meta& m);
    // Writes the new generation files of a layered save (the head last); fills in their checksums
    // and sizes. On failure, what was written is removed again.
    status write_layers_locked(pending_file& f);
    // The files of `before` that `after` no longer lists, deleted (best effort: an unlisted file
    // is an orphan the next open removes).
    void remove_superseded_locked(const tracker_meta& before, const tracker_meta& after);
    std::string meta_path() const { return options_.path + "/meta.json"; }
    std::string trackers_dir() const { return options_.path + "/trackers"; }
    std::string unreadable_dir() const { return options_.path + "/unreadable"; }

    file_system& fs_;
    mg::clock& clock_;
    store_options options_;
    mutable std::mutex mu_;
    meta_index index_;
    std::uint64_t meta_bytes_ = 0;
    std::uint64_t tracker_bytes_ = 0;  // sum of disk_bytes() over index_
};

}  // namespace mg::persistence
