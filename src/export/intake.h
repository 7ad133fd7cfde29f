// intake: how accepted payloads enter the export queue. A request's payloads (one per lane) are
// pushed all or none; a reservation made before the governor admitted the request's series is
// drawn on, so that push is never refused for room. With -queue-path every payload is first
// written to the disk queue and synced, so "accepted" survives a crash, and what a previous run
// left there is queued again at startup, before anything new. What is accepted is counted
// (submitted, outstanding) and so is every refusal for room (queue_full).
//
// Thread-safety: reserve(), unreserve() and push() from any thread. Disk pushes are serialized by
// a mutex, so the room checked in the memory queue can only grow (releases) before the push that
// follows the disk writes. open_disk() once, before any of them.
//
// Ownership: the queue, the metrics and `closed` must outlive the intake; it owns the disk queue.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "common/file_system.h"
#include "common/result.h"
#include "export/disk_queue.h"
#include "export/export_metrics.h"
#include "export/exporter.h"
#include "export/lane_payloads.h"
#include "export/queue.h"

namespace mg::exporter {

// The bytes a request's reservation still holds.
struct room_held {
    std::uint64_t bytes = 0;
};

class intake {
  public:
    // closed: the exporter's "drain began" flag (a refused push is then closed, not queue_full).
    intake(export_queue& queue, export_metrics& metrics, const std::atomic<bool>& closed);
    ~intake();
    intake(const intake&) = delete;
    intake& operator=(const intake&) = delete;

    // Opens the disk queue at `path` (created 0700 and locked; an error naming it otherwise) and
    // queues what it holds, oldest first. Replay may exceed the memory budget (bounded by
    // max_disk_bytes): pushes get queue_full until it drained below the budget.
    status open_disk(const std::string& path, std::uint64_t max_disk_bytes, mg::file_system& fs);
    // Null without -queue-path.
    disk_queue* disk() const { return disk_.get(); }

    // Holds `bytes` of room: accepted (out holds them), queue_full, or closed. With a disk queue
    // its budget must have room too.
    submit_status reserve(std::uint64_t bytes, room_held& out);
    void unreserve(std::uint64_t bytes);

    // Queues one request's payloads, all or none: accepted, queue_full or closed. With a
    // reservation (room non-null, bytes held) it is not refused for room.
    submit_status push(lane_payloads& items, room_held* room);

    // Counts a submission refused for room; returns queue_full.
    submit_status refuse();

  private:
    submit_status push_durable(lane_payloads& items, room_held* room);

    export_queue& queue_;
    export_metrics& metrics_;
    const std::atomic<bool>& closed_;
    std::unique_ptr<disk_queue> disk_;
    std::mutex durable_mu_;  // disk pushes
};

}  // namespace mg::exporter
