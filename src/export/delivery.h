// delivery: the exporter's upstream requests. Each batch the batcher takes from a lane becomes a
// job that runs on the exporter's strand: sent with the transport (transport.h: HTTP or gRPC),
// whose verdict decides the rest: retry after the server's delay (Retry-After, gRPC RetryInfo;
// capped at 10 minutes) or backoff with jitter, until -exporter-max-retry-time (then dropped,
// retries_exhausted); too large: split in half and the halves sent in turn (a single series still
// too large is dropped, too_large); rejected: dropped (rejected). Points a delivered OTLP request
// reports as refused (partial_success) are logged, at most once a minute. A job sends its parts one
// at a time, so its lane has one request in flight, retries included. When the job ends its lane
// and its bytes go back to the queue and its disk queue records are acknowledged.
//
// Shutdown: abort() makes every job end at its next step: timers and connections are closed, and
// what is left is dropped (reason shutdown) or, with a disk queue, stays on disk (outstanding,
// not acknowledged: at-least-once across the restart).
//
// Threading: start() is called from the batcher thread, abort() and wait_idle() from the control
// thread; every step of a job runs on the strand, so the jobs need no lock.
// connections_opened() is safe from any thread.
//
// Ownership: owns the transport. The strand's io_context must have stopped running (its
// threads joined) before the delivery is destroyed; the queue, the disk queue and the metrics
// must outlive it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_set>
#include <vector>

#include "common/clock.h"
#include "export/disk_queue.h"
#include "export/export_metrics.h"
#include "export/http_client.h"
#include "export/payload.h"
#include "export/queue.h"
#include "export/retry.h"
#include "export/transport.h"

namespace mg::exporter {

// A batch taken from a lane, ready to go.
struct outgoing_batch {
    // In wire encoding; none when it could not be encoded (then it was dropped already and the
    // job only releases its lane).
    std::optional<payload> body;
    lane_ref where;                       // its lane, free again when the job ends
    std::uint64_t bytes = 0;              // queue budget to release when the job ends
    std::size_t payloads = 0;             // queued payloads merged into it
    std::vector<std::uint64_t> disk_ids;  // records to acknowledge when the job ends
};

class delivery {
  public:
    struct collaborators {
        export_queue& queue;
        disk_queue* disk;  // null without -queue-path
        export_metrics& metrics;
        mg::clock& clock;  // Retry-After dates and the retry budget
    };

    delivery(http_client::strand strand, std::unique_ptr<transport> wire, backoff_policy backoff,
             std::chrono::nanoseconds max_retry_time, collaborators with);
    ~delivery();
    delivery(const delivery&) = delete;
    delivery& operator=(const delivery&) = delete;

    // Counts the batch in flight and hands it to the strand. Never blocks.
    void start(outgoing_batch b);
    // Every job ends at its next step (see the header). Once, at shutdown.
    void abort();
    // Waits until every started job has ended.
    void wait_idle();

    std::uint64_t connections_opened() const { return wire_->connections_opened(); }

  private:
    struct job;
    using job_ptr = std::shared_ptr<job>;

    // Strand only.
    void start_job(const job_ptr& j);
    void finish_job(const job_ptr& j);
    void next_attempt(const job_ptr& j);
    void on_outcome(const job_ptr& j, send_outcome out);
    void split(const job_ptr& j, const send_outcome& out);
    void reject(const job_ptr& j, const send_outcome& out, const std::string& reason);
    void note_partial_success(const send_outcome& out);
    void next_part(const job_ptr& j);
    void retry_later(const job_ptr& j, const send_outcome& out);

    http_client::strand strand_;
    std::unique_ptr<transport> wire_;
    const backoff_policy backoff_;
    const std::chrono::nanoseconds max_retry_time_;
    export_queue& queue_;
    disk_queue* const disk_;
    export_metrics& metrics_;
    mg::clock& clock_;

    std::mutex in_flight_mu_;
    std::condition_variable in_flight_cv_;
    unsigned in_flight_ = 0;  // jobs handed to the strand and not finished
    std::atomic<bool> aborting_{false};
    std::unordered_set<job_ptr> jobs_;  // strand only
    // Partial successes not logged yet, and when the last was (strand only).
    std::int64_t partial_rejected_ = 0;
    std::optional<std::chrono::steady_clock::time_point> partial_logged_at_;
};

}  // namespace mg::exporter
