// export_queue: the bounded in-memory queue between the ingest handlers and the exporter's
// batcher, measured in bytes.
//
// The byte budget covers every accepted payload until the exporter is done with it: waiting in
// the queue *and* in flight (batched, being sent, waiting to be retried). Bytes are returned with
// release() when the upstream request that carried them finished (sent or rejected). So
// max_bytes bounds all the export data the process holds, and a backend that is down turns into
// a full queue, try_push() failures and 429s for senders, never into unbounded memory.
//
// Thread-safety: every method is safe from any thread. try_push() never blocks on anything but
// the queue's own short critical section; next_batch() blocks (batcher thread only).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "export/payload.h"

namespace mg::exporter {

class export_queue {
  public:
    explicit export_queue(std::uint64_t max_bytes) : max_bytes_(max_bytes) {}

    // Appends p when its cost fits in the budget; false (p untouched) when the queue is full or
    // closed. A payload larger than the whole budget is accepted into an empty queue, so one
    // request over the budget cannot be refused forever.
    // ignore_budget: accept whatever the budget says (replay of the disk queue at startup).
    bool try_push(payload& p, bool ignore_budget = false);

    // Waits until a batch is ready and moves it to `out` (cleared first), returning the bytes it
    // holds. A batch is either one standalone payload, or consecutive mergeable payloads of the
    // same format totalling at most batch_size series (at least one payload, even if larger),
    // taken when batch_size is reached, when the oldest one waited flush_interval, or at once
    // after flush_now(). Returns false when the queue is closed (and, unless aborted, empty).
    bool next_batch(std::vector<payload>& out, std::uint64_t& bytes, std::uint64_t batch_size,
                    std::chrono::nanoseconds flush_interval);

    // Returns bytes of finished payloads to the budget.
    void release(std::uint64_t bytes);

    // From now on batches are taken as soon as anything is queued (drain at shutdown).
    void flush_now();
    // Refuses further pushes; next_batch() keeps handing out what is queued, then returns false.
    void close();
    // Also stops next_batch() at once and hands the queued payloads to the caller.
    std::vector<payload> abort();

    // Waits until every byte was released (queue empty, nothing in flight) or the deadline.
    bool wait_empty(std::chrono::steady_clock::time_point deadline);

    std::uint64_t bytes() const;
    std::uint64_t max_bytes() const { return max_bytes_; }
    std::size_t queued_payloads() const;

  private:
    struct entry {
        payload p;
        std::chrono::steady_clock::time_point enqueued;
    };

    const std::uint64_t max_bytes_;
    mutable std::mutex mu_;
    std::condition_variable items_cv_;
    std::condition_variable empty_cv_;
    std::deque<entry> items_;
    std::uint64_t bytes_ = 0;  // queued + in flight
    bool flush_now_ = false;
    bool closed_ = false;
    bool aborted_ = false;
};

}  // namespace mg::exporter
