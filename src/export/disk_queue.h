// disk_queue: the optional write-ahead copy of the export queue (-queue-path), so accepted data
// survives a restart (or a crash) while the backend is down. See docs/export.md, "Disk queue".
//
// Every accepted payload is appended as one record to the current segment file and made durable
// (write + fdatasync) before append() returns; the exporter answers "accepted" only after that.
// A record is acknowledged (ack()) when the backend answered 2xx or the payload was given up for
// good; a segment whose records are all acknowledged is deleted (and the directory fsynced), so
// acknowledged data is not replayed. open() reads every segment in order, checks each record's
// length and CRC32, truncates a torn or corrupt tail (counted in corrupt()) and hands the intact
// records to the exporter, which sends them before anything new.
//
// Format (little-endian), segment files "seg-<20-digit first id>.mgq", 0600, in a 0700 directory:
//   file header: "MGDQ" u32 version(2)
//   record:      u32 len (of meta + tenant + body), u32 crc32 (zlib, of meta + tenant + body),
//                meta: u64 id, u8 format, u8 compressed, u16 tenant length, u32 series,
//                u64 points,
//                tenant: that many bytes (the payload's tenant; 0 = none),
//                body: the rest.
// Version 1 (before tenants) had u16 0 where the tenant length is and no tenant bytes: its
// segments are still read (records without a tenant); new segments are always version 2. A
// version 1 binary sets version 2 segments aside as corrupt (a downgrade loses their records).
// A segment is created under a temporary name, its header synced, then renamed (atomic) and the
// directory synced. A LOCK file (flock) keeps a second process off the directory.
//
// Every file and directory operation goes through the mg::file_system given to open() (the
// POSIX one by default), so tests inject write errors, a full disk, failing syncs and renames
// (tests/shared/fault_file_system.h). The file_system must outlive the queue.
//
// Thread-safety: every method is safe from any thread. append() writes under the mutex, then
// waits for a group fdatasync outside it: concurrent appenders share one sync (group commit).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "common/file_system.h"
#include "common/result.h"
#include "export/payload.h"

namespace mg::exporter {

class disk_queue {
  public:
    static constexpr std::uint32_t k_header_size = 8;
    static constexpr std::uint32_t k_record_overhead = 8 + 24;  // frame + meta

    // Creates the directory (0700) if needed, takes its lock and recovers what is on disk.
    // Fails with a message naming the path when it cannot be created, written or locked.
    // segment_bytes: a segment is sealed once it holds that much (0: derived from max_bytes).
    static result<std::unique_ptr<disk_queue>> open(const std::string& dir, std::uint64_t max_bytes,
                                                    std::uint64_t segment_bytes = 0,
                                                    mg::file_system& fs = mg::posix_file_system());
    ~disk_queue();
    disk_queue(const disk_queue&) = delete;
    disk_queue& operator=(const disk_queue&) = delete;

    // The intact records found by open(), oldest first, with disk_id set. Once.
    std::vector<payload> take_recovered();

    enum class append_status : std::uint8_t { ok, full, error };
    // Appends p durably (written and fdatasynced, alone or in a group with concurrent appends)
    // and sets p.disk_id. full: it would exceed max_bytes (nothing written). error: a write or
    // sync failed, or a new segment could not be created (logged; a partial record is cut off
    // again, or when that fails too the segment is sealed and open() cuts it; a complete record
    // whose sync failed may be replayed after a restart). The queue stays usable after an error:
    // the next append tries again.
    append_status append(payload& p);

    // The records with these ids are done with: segments left without live records are deleted.
    void ack(std::span<const std::uint64_t> ids);

    std::uint64_t bytes() const;  // sum of the segment files' sizes
    std::uint64_t max_bytes() const { return max_bytes_; }
    std::uint64_t corrupt() const;  // corrupt records/files found (and cut off) by open()
    std::uint64_t live_records() const;
    std::uint64_t syncs() const;  // fdatasync calls for records (group commit: <= appends)
    const std::string& dir() const { return dir_; }

  private:
    struct segment {
        std::string path;
        std::uint64_t size = 0;
        std::uint64_t live = 0;  // records not acknowledged yet
    };

    disk_queue(std::string dir, std::uint64_t max_bytes, std::uint64_t segment_bytes,
               mg::file_system& fs);
    status recover();
    status cut_off(const std::string& path, std::uint64_t size);
    status start_segment(std::uint64_t first_id);                        // mu_ held
    bool seal_active();                                                  // mu_ held
    bool sync_upto(std::uint64_t seq);                                   // mu_ not held
    void maybe_remove(std::uint64_t first_id);                           // mu_ held
    void remove_segment(std::map<std::uint64_t, segment>::iterator it);  // mu_ held
    void sync_dir();

    mg::file_system& fs_;
    const std::string dir_;
    const std::uint64_t max_bytes_;
    const std::uint64_t segment_bytes_;
    std::unique_ptr<mg::file_lock> lock_;  // declared before the files: released after they close
    std::mutex sync_mu_;                   // one group sync at a time; taken before mu_
    mutable std::mutex mu_;
    std::map<std::uint64_t, segment> segments_;  // by first id
    std::uint64_t active_ = 0;                   // first id of the segment appended to
    // Shared, so a group sync in progress keeps the file open across a rotation. Null: the next
    // append starts a segment.
    std::shared_ptr<mg::writable_file> active_file_;
    std::uint64_t next_id_ = 1;
    // Records written (a sequence), and up to which one they are known durable or failed.
    std::uint64_t written_ = 0;
    std::uint64_t synced_ = 0;       // by the group sync of the active file
    std::uint64_t sealed_upto_ = 0;  // synced when their segment was sealed
    std::uint64_t failed_upto_ = 0;  // a sync covering them failed: refused
    std::uint64_t syncs_ = 0;
    std::uint64_t bytes_ = 0;
    std::uint64_t corrupt_ = 0;
    std::vector<payload> recovered_;
};

}  // namespace mg::exporter
