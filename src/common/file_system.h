// file_system: every file and directory operation of the modules that keep state on disk goes
// through this interface (LevelDB's Env idea), so tests inject faults (write errors, a full
// disk, a failing rename or fsync) without root or a special mount. posix_file_system is the real
// one; tests/shared/fault_file_system.h wraps it with fault switches.
//
// Errors are values: every call returns a status/result whose message names the operation, the
// path and strerror, ready for a log field. No call throws.
//
// Thread-safety: a file_system may be shared by threads (posix_file_system has no state). A
// writable_file is used by one thread at a time, except that sync() may run while another thread
// appends or truncates (the export disk queue's group commit syncs outside its lock); the
// implementations keep that safe (POSIX: independent calls on one descriptor).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace mg {

// A file being written at its end. close() or the destructor closes it; only sync() makes the
// bytes durable. After a failed append part of the data may be in the file: truncate() cuts it
// off again.
class writable_file {
  public:
    virtual ~writable_file() = default;
    virtual status append(std::string_view data) = 0;
    virtual status sync() = 0;  // fdatasync
    // Cuts the file to `size` bytes (not durable before sync()); the next append writes at `size`.
    virtual status truncate(std::uint64_t size) = 0;
    virtual status close() = 0;
};

// An exclusive lock on a file, held until the object is destroyed (see file_system::lock_file).
class file_lock {
  public:
    virtual ~file_lock() = default;
};

struct dir_entry {
    std::string name;  // without the directory
    bool is_dir = false;
    std::uint64_t size = 0;  // regular files only
};

class file_system {
  public:
    virtual ~file_system() = default;

    // Creates or truncates `path` for writing with permission bits `mode` (subject to umask, then
    // set exactly with fchmod so an existing file gets them too).
    virtual result<std::unique_ptr<writable_file>> create_file(const std::string& path,
                                                               unsigned mode) = 0;
    // Opens an existing file for writing at its end (LevelDB's NewAppendableFile, minus the
    // creation): an error when it does not exist.
    virtual result<std::unique_ptr<writable_file>> open_appendable(const std::string& path) = 0;
    // The whole file; an error if it is larger than max_bytes (without reading it).
    virtual result<std::string> read_file(const std::string& path, std::uint64_t max_bytes) = 0;
    virtual status rename(const std::string& from, const std::string& to) = 0;
    // Success when the file does not exist.
    virtual status remove(const std::string& path) = 0;
    // Creates the directory and missing parents; sets `mode` on the last one (also when it
    // exists). An existing non-directory is an error.
    virtual status create_dirs(const std::string& path, unsigned mode) = 0;
    // fsync of the directory, so renames and unlinks in it are durable.
    virtual status sync_dir(const std::string& path) = 0;
    virtual result<std::vector<dir_entry>> list_dir(const std::string& path) = 0;
    virtual result<std::uint64_t> file_size(const std::string& path) = 0;
    // Bytes an unprivileged process may still write on the file system holding `path` (statvfs).
    virtual result<std::uint64_t> available_bytes(const std::string& path) = 0;
    // Creates `path` (0600) if needed and takes an exclusive lock on it without waiting (POSIX:
    // flock), so a second process using the same directory fails at startup. An error names the
    // path, and says when another holder has it. The lock is released with the returned object
    // (or when the process dies). flock locks belong to the open file description, so a second
    // lock_file on the same path in this process fails too.
    virtual result<std::unique_ptr<file_lock>> lock_file(const std::string& path) = 0;
};

// The real file system (POSIX calls). Stateless; one process-wide instance.
file_system& posix_file_system();

// Replaces `path` with `data` so that a reader sees the old or the new content, never a mix, and
// the new content survives a crash once this returns success: write to `path.tmp` in the same
// directory, fsync, close, rename over `path`, fsync the directory. On failure the temporary
// file is removed (best effort) and the old file is untouched. With sync_parent false the
// directory is not fsynced: a caller writing several files of one directory syncs it once
// (sync_dir) before it relies on any of the renames surviving a crash.
status write_file_atomic(file_system& fs, const std::string& path, std::string_view data,
                         unsigned mode, bool sync_parent = true);

// The directory part of a path ("." when there is none).
std::string parent_dir(const std::string& path);

}  // namespace mg
