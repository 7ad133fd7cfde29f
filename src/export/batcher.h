// batcher: the exporter's batcher thread. It takes ready batches from the queue, lane by lane (a
// lane has one batch in flight), merges each batch's payloads into one upstream body in wire
// encoding and hands it to delivery (remote write: forwarded snappy bodies joined as they are,
// snappy_concat.h; plain ones compressed once). Once a tick (100 ms) it lets the shard scaler
// decide the shard count; after a change (a new epoch, lane_epochs.h) it splits the backlog
// waiting in the old lanes over the new ones, so only the batches in flight hold the reshard's
// barrier. A lane map that reached its bound gets a new epoch with the same count (no split:
// the old epoch's backlog drains through its lanes first).
//
// Threading: start() and join() from the control thread; everything else runs on the batcher's
// own thread, which owns the shard scaler. The thread ends once the queue is closed and empty
// (or aborted); join() waits for that.
//
// Ownership: the queue, the epochs, the delivery, the metrics and `closed` must outlive the
// batcher.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "export/delivery.h"
#include "export/export_metrics.h"
#include "export/lane_epochs.h"
#include "export/queue.h"
#include "export/shard_scaler.h"

namespace mg::exporter {

class batcher {
  public:
    struct settings {
        std::uint64_t batch_size = 10000;  // series per upstream request
        std::chrono::nanoseconds flush_interval = std::chrono::seconds(1);
        // Bodies go out in wire encoding (to_wire); off for a transport that compresses itself
        // (gRPC): merged batches stay plain, a forwarded or split body may still be compressed.
        bool compress = true;
        shard_scaler_options scaler;
    };

    // closed: the exporter's "drain began" flag; no reshard starts once it is set.
    batcher(settings s, export_queue& queue, lane_epochs& epochs, delivery& out,
            export_metrics& metrics, const std::atomic<bool>& closed);
    ~batcher();
    batcher(const batcher&) = delete;
    batcher& operator=(const batcher&) = delete;

    void start();
    void join();

  private:
    void run();
    void rescale();
    void resplit();

    const settings settings_;
    export_queue& queue_;
    lane_epochs& epochs_;
    delivery& delivery_;
    export_metrics& metrics_;
    const std::atomic<bool>& closed_;
    shard_scaler scaler_;  // batcher thread only
    std::thread thread_;
};

}  // namespace mg::exporter
