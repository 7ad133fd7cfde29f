// exporter: sends the series the governor kept to the backend (-exporter-endpoint), in batches,
// with retries, behind a bounded queue. The ingest layer's only entry points are submit() and
// submit_raw(); main calls create() at startup and drain() at shutdown.
//
// Data flow and threads (see docs/export.md):
//   ingest I/O thread --submit()--> export_queue --batcher thread--> compress --> io thread(s)
//   submit() encodes the kept subset right away (the batch's views die with the request; OTLP
//   input for a remote-write backend is converted to remote write here) and
//   pushes it, never blocking: a full queue is reported, and the receiver answers 429 with
//   Retry-After. The queue is split into ordered lanes (shards): a series travels the lane its
//   epoch's lane map gives it (lane_affinity.h: a new series takes the lane of the request that
//   brings it, so a sender's stable requests stay whole on one lane and go as they came), and
//   each lane has one upstream request in flight at a time, retries included, so a series
//   reaches the backend in order however many requests are in flight. The
//   batcher thread merges a lane's payloads into upstream requests of at most -batch-size series
//   (or what waited -flush-interval), compresses them and hands them to the exporter's own
//   io_context (one thread, one strand), which owns the HTTP client, the connection pool and
//   the retry timers. The shard count follows the backlog between -exporter-min-shards and
//   -exporter-max-shards (shard_scaler.h), so a distant backend gets many requests in flight;
//   when every lane is busy (e.g. retrying against a backend that is down) the queue fills up:
//   back-pressure instead of memory growth.
//
// Admission only for what is accepted: the receiver reserves room (reserve()) before the
// governor admits a request's new series, so a request that would be refused with 429 or 503 is
// refused before anything is admitted, and a submit with a reservation is never refused for
// room.
//
// Guarantees: a payload accepted by submit() is counted as submitted and ends as exactly one of
// sent, dropped{reason} (rejected by a 4xx, a single series still 413, retries exhausted, left
// at the drain deadline without a disk queue) or still outstanding (with a disk queue, what is
// left at shutdown stays outstanding: it is on disk); stats() shows submitted = sent + dropped +
// outstanding at any time. Delivery is at-least-once while the process lives (a response lost
// after the backend stored the data is retried). Without a disk queue a kill -9 loses what was
// outstanding; with one (-queue-path) every accepted payload is on disk (synced) before submit
// returns accepted, stays there until the backend answered 2xx or it was dropped for good, and
// is sent again after a restart: at-least-once across restarts and crashes (see disk_queue.h).
//
// Thread-safety: submit*, stats, queue_bytes and the accessors are safe from any thread. drain()
// is called once, from the control thread; the destructor drains with an immediate deadline if
// drain() was not called.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/file_system.h"
#include "common/result.h"
#include "export/exporter_options.h"
#include "export/grpc_transport_options.h"
#include "export/retry.h"
#include "protocol/series_batch.h"

namespace prometheus {
class Registry;
}

namespace mg::exporter {

enum class submit_status : std::uint8_t {
    accepted,     // queued (or, in observe-only mode, counted and discarded)
    queue_full,   // nothing queued: answer 429 with Retry-After: retry_after_hint()
    unsupported,  // this input cannot be exported with this -exporter-protocol: see check_source
    closed,       // drain() began: nothing queued (answer 503)
    not_raw,      // submit_raw() only: the request's series travel several lanes; use submit()
};

std::string_view to_string(submit_status s);

// How a raw body is encoded on the wire (its Content-Encoding).
enum class body_encoding : std::uint8_t { identity, snappy, gzip };

// The tenants of a request's series, for submit() (docs/export.md, "Tenants"): names[t] is tenant
// t; of[i] is the index into names of series i's tenant (batch.size() entries), or empty when
// every series is names[0]'s. No names: no tenant (tenancy off). Each payload carries one tenant,
// sent to the backend in exporter_options::tenant_header; batches never mix tenants.
struct tenant_split {
    std::span<const std::string_view> names;
    std::span<const std::uint32_t> of;
};

// Counters behind the metrics, for tests and the accounting invariant. A snapshot.
struct export_stats {
    std::uint64_t submitted_series = 0;
    std::uint64_t submitted_points = 0;
    std::uint64_t sent_series = 0;
    std::uint64_t sent_points = 0;
    std::uint64_t dropped_series = 0;  // all reasons
    std::uint64_t dropped_points = 0;
    std::map<std::string, std::uint64_t> dropped_points_by_reason;
    std::uint64_t outstanding_series = 0;  // queued or in flight
    std::uint64_t outstanding_points = 0;
    std::uint64_t queue_full = 0;        // submissions refused because the queue was full
    std::uint64_t discarded_points = 0;  // observe-only mode
    std::uint64_t requests = 0;          // upstream HTTP responses of any status
    std::uint64_t reshards = 0;          // shard count changes
    std::uint64_t retries = 0;
    std::uint64_t connections_opened = 0;
    std::uint64_t replayed_payloads = 0;  // read back from the disk queue at startup
    std::uint64_t disk_bytes = 0;         // size of the disk queue's segment files
    std::uint64_t disk_corrupt = 0;       // torn/corrupt records or files cut off at startup
    // The lane map (lane_affinity.h): series mapped in the current epoch, and the new epochs
    // started because a map reached its bound.
    std::uint64_t lane_map_series = 0;
    std::uint64_t lane_map_renewals = 0;
    // OTLP input exported as remote write (-exporter-protocol=prw), in OTLP data points. A
    // converted point is submitted as the TimeSeries and samples it became (the counters above
    // count those); a point that cannot be converted is never submitted. Both only for accepted
    // submissions.
    std::uint64_t converted_points = 0;
    std::uint64_t conversion_dropped_points = 0;
    std::map<std::string, std::uint64_t> conversion_dropped_points_by_reason;
};

// What submit() did besides queuing, for the ingest layer's answer. Filled when it returns
// accepted.
struct submit_details {
    // Kept OTLP points that cannot be converted to remote write (delta temporality, ...): not
    // exported, counted in metrics_governor_export_conversion_dropped_datapoints_total{reason}.
    std::uint64_t unconverted_points = 0;
    std::string message;  // why, for the first of them (empty when none)
};

struct drain_report {
    // Nothing accepted was lost: everything was sent or rejected before the deadline, or (with a
    // disk queue) what was not is kept on disk for the next start.
    bool complete = true;
    std::uint64_t series_left = 0;  // dropped (memory only) or kept on disk at the deadline
    std::uint64_t points_left = 0;
    std::uint64_t bytes_left = 0;       // memory queue bytes at the deadline
    std::uint64_t disk_bytes_left = 0;  // disk queue bytes after the drain (0 without one)
};

// Test seams: time and randomness (Envoy-style), the disk queue's file system, and the number
// of io threads.
struct exporter_deps {
    mg::clock* clock =
        nullptr;           // default: system_clock_instance(); Retry-After dates, retry budget
    random_source random;  // default: default_random_source(); backoff jitter
    unsigned io_threads = 1;
    // default: posix_file_system(); every file access of the disk queue (-queue-path). Must
    // outlive the exporter.
    mg::file_system* file_system = nullptr;
    // Series a lane map holds at most (lane_affinity.h); 0: the default.
    std::size_t lane_map_max_series = 0;
    // The OTLP/gRPC transport's maker (the gRPC plugin's in the daemon); without one,
    // -exporter-protocol=otlp-grpc fails at create().
    grpc_transport_factory grpc_transport;
};

class exporter;

// Room held in the export queue for one request while it is governed (see the header). Releases
// what was not used when destroyed. Move-only; used from the thread that made it.
class reservation {
  public:
    reservation() = default;
    ~reservation();
    reservation(reservation&& o) noexcept;
    reservation& operator=(reservation&& o) noexcept;
    reservation(const reservation&) = delete;
    reservation& operator=(const reservation&) = delete;
    bool held() const { return owner_ != nullptr; }
    std::uint64_t bytes() const { return bytes_; }

  private:
    friend class exporter;
    class exporter* owner_ = nullptr;
    std::uint64_t bytes_ = 0;
};

class exporter {
  public:
    // Validates the settings (URL, headers, TLS files, -queue-path: created 0700 and locked, an
    // error naming it otherwise), registers the metric families in `registry`, queues what the
    // disk queue holds from a previous run (before anything new) and starts the batcher and io
    // threads. With an empty endpoint the exporter is in
    // observe-only mode and logs so once, at warn level. The registry must outlive the exporter.
    static result<std::unique_ptr<exporter>> create(const exporter_options& options,
                                                    prometheus::Registry& registry,
                                                    exporter_deps deps = {});
    // What create() checks before it starts anything, with its messages: the protocol and the
    // counts, and with an endpoint its URL, the headers and (https) the TLS files, which are
    // loaded. Starts no thread and leaves -queue-path alone (the disk queue is state that a
    // running daemon holds locked): `metrics-governor validate` runs this.
    static status check_settings(const exporter_options& options);
    ~exporter();
    exporter(const exporter&) = delete;
    exporter& operator=(const exporter&) = delete;

    // Whether input of this protocol can be exported: ok, or a message for the 4xx body (415 is
    // the suggested status) naming both protocols. prw exports remote write 1.0 and 2.0 input,
    // and OTLP protobuf and JSON input converted to remote write (protocol/otlp_to_prw.h); otlp
    // exports OTLP input only (remote write to OTLP is not implemented). Observe-only accepts
    // everything. Exponential histograms become native histograms only with
    // -exporter-native-histograms; otherwise those points are dropped and counted.
    status check_source(protocol::source_protocol p) const;
    // Whether input of this protocol is converted on the way (OTLP to a remote-write backend):
    // then it must go through submit(), never submit_raw().
    bool converts(protocol::source_protocol p) const;

    // Queues the series of `batch` with keep[i] != 0 (keep.size() == batch.size()), encoded for
    // the backend: remote write 1.0 and 2.0 become one 1.0 WriteRequest; OTLP stays OTLP with
    // -exporter-protocol=otlp and is converted to remote write 1.0 with prw (see below). The
    // batch (and its request body) may be freed as soon as this returns. Never blocks.
    submit_status submit(const protocol::series_batch& batch, std::span<const std::uint8_t> keep);
    // The same, also removing from each kept series i the labels strip_masks[i] selects (bit j =
    // batch[i].labels[j]; label_limit_action: strip). strip_masks has batch.size() entries.
    submit_status submit(const protocol::series_batch& batch, std::span<const std::uint8_t> keep,
                         std::span<const std::uint64_t> strip_masks);
    // The same (strip_masks may be empty), reporting the points that could not be converted.
    // OTLP input for a remote-write backend is converted; its payload counts the TimeSeries and
    // samples it became. When no kept point converts, nothing is queued and accepted is
    // returned, with every point in `details`. With several tenants the kept series become one
    // payload (per lane) per tenant, all queued or none.
    submit_status submit(const protocol::series_batch& batch, std::span<const std::uint8_t> keep,
                         std::span<const std::uint64_t> strip_masks, submit_details& details,
                         reservation* room = nullptr, const tenant_split& tenants = {});

    // Holds `bytes` of queue room for a request about to be governed: accepted (out holds it),
    // queue_full (answer 429 before admitting anything), closed (503). Observe-only: accepted,
    // holding nothing. With a disk queue, the disk budget must have room too.
    submit_status reserve(std::uint64_t bytes, reservation& out);

    // Whether the request can be forwarded as its own bytes (submit_raw), given what the
    // governor decided (keep and strip_masks as for submit(); strip_masks may be empty): every
    // series kept, no label stripped, its protocol forwarded as is (remote write 1.0, OTLP
    // protobuf and OTLP/JSON, unless converted) and its labels sorted on the wire. The one place
    // that decides the raw path: the receiver asks only this. With several shards submit_raw()
    // may still answer not_raw (the request's series travel several lanes).
    bool can_forward_raw(const protocol::series_batch& batch, std::span<const std::uint8_t> keep,
                         std::span<const std::uint64_t> strip_masks) const;

    // The fast path when the governor dropped nothing and the body can be forwarded as received:
    // remote write 1.0 with snappy (sent as is, one upstream request, never re-encoded), OTLP
    // protobuf (gzip: sent as is; identity: merged into batches) or OTLP/JSON. Not for remote
    // write 2.0 (use submit(), which converts to 1.0), nor for a 1.0 request whose labels were
    // unsorted (series_batch::any_labels_unsorted(): forward would keep them unsorted), nor for
    // input that converts() (unsupported). series and points are the request's counts, for the
    // accounting. Never blocks.
    // Without the batch, not_raw on more than one shard (use submit()). `tenant`: the tenant of
    // every series of the body ("" = none).
    submit_status submit_raw(std::string body, protocol::source_protocol p, body_encoding enc,
                             std::uint32_t series, std::uint64_t points,
                             reservation* room = nullptr, std::string_view tenant = {});
    // The same with the request's decoded series (`batch`, every one kept; the protocol is its
    // own): on several shards the body goes as it came on the lane all its series travel (new
    // series take that lane); not_raw when they travel several (use submit(), which splits the
    // request, each series to its lane).
    submit_status submit_raw(std::string body, const protocol::series_batch& batch,
                             body_encoding enc, std::uint32_t series, std::uint64_t points,
                             reservation* room = nullptr, std::string_view tenant = {});
    // The number of shards now.
    std::uint32_t shards() const;

    // Sends what is queued without waiting for batches to fill, until everything is delivered
    // (or rejected) or the deadline passes; then stops the threads. What is left at the deadline
    // is counted as dropped (reason "shutdown") and logged; with a disk queue it stays on disk
    // (not dropped; complete stays true) and is sent after the next start. Later submits
    // return closed.
    drain_report drain(std::chrono::steady_clock::time_point deadline);

    // The Retry-After value (seconds) for a 429 after queue_full.
    std::chrono::seconds retry_after_hint() const;

    bool observe_only() const;
    std::uint64_t queue_bytes() const;
    std::uint64_t queue_max_bytes() const;
    export_stats stats() const;

    class impl;

  private:
    friend class reservation;
    void unreserve(std::uint64_t bytes);
    explicit exporter(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

}  // namespace mg::exporter
