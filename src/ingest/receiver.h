// receiver: the ingest endpoints. POST /api/v1/write and /write take Prometheus remote write
// (1.0, or 2.0 by its Content-Type), POST /v1/metrics takes OTLP/HTTP (protobuf or JSON, gzip or
// not). Each request is decompressed within -receiver-max-request-body-size, decoded without
// copying, checked against the per-series complexity limits, decided series by series by the
// governor, and what is kept is handed to the exporter.
//
// Answers (never 5xx for a data problem):
//   204 remote write / 200 OTLP  accepted, also when the governor dropped series on purpose (the
//                                sender must not retry a deliberate drop); OTLP reports them in
//                                partial_success.rejected_data_points
//   400  malformed body (bad snappy or gzip, truncated protobuf, invalid UTF-8, bad labels), a
//        bad tenant (tenant.h), or with tenancy.require_tenant a series without the tenant label
//   401  with tenancy.require_tenant, a request without the tenant header
//   413  body over the limit, before or after decompression
//   415  unsupported Content-Type or Content-Encoding, or an input the exporter cannot convert
//   429  export queue full, with Retry-After
//   503  shutting down
//
// OTLP has one transport-neutral core (otlp_export): the message bytes in, an otlp_result out,
// which OTLP/HTTP maps to its status and body here and OTLP/gRPC (src/grpc_ingest) to a gRPC
// status, so both decide and count alike.
//
// Collaborators: the receiver reaches the governor and the exporter through two narrow ports
// (ports.h; the real ones in adaptors.h), called once per request, so its unit tests run it
// against fakes.
//
// Threading: handlers run on the I/O threads, concurrently; all state is the governor's, the
// exporter's and prometheus counters, each thread-safe. Per-request buffers are thread-local and
// reused, so a steady stream of requests allocates little. In cluster mode the governor may
// answer later, on another thread (docs/cluster.md): the routes are then asynchronous and each
// request in flight keeps its body and buffers (from a pool) until it is answered.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "http/router.h"
#include "ingest/ports.h"
#include "ingest/receiver_metrics.h"
#include "ingest/tenant.h"

namespace prometheus {
class Registry;
}

namespace mg::ingest {

struct receiver_options {
    std::uint64_t max_body_size =
        64ULL * 1024 * 1024;  // decompressed; the listener bounds the raw body
    std::size_t max_labels_per_series = 40;
    std::size_t max_label_name_len = 256;
    std::size_t max_label_value_len = 4096;
    tenancy_options tenancy{};  // whose series a request carries (tenant.h)
};

class receiver_metrics;
struct request_work;

// How one OTLP export ended, whatever the transport.
struct otlp_result {
    enum class kind {
        accepted,       // partial success: `rejected` points dropped (limits, unconvertible)
        malformed,      // the body does not decode (bad gzip, protobuf, UTF-8...)
        too_large,      // over the body limit once decompressed
        queue_full,     // the export queue is full: retry after `retry_after`
        unsupported,    // the configured exporter cannot take this input
        shutting_down,  // draining: another replica or a later retry
        no_tenant,      // tenancy.require_tenant and the request names no tenant (HTTP 401)
    };
    kind k = kind::accepted;
    std::int64_t rejected = 0;  // accepted: partial_success.rejected_data_points
    // accepted: partial_success.error_message (empty when nothing was rejected); else the error.
    std::string message;
    std::chrono::seconds retry_after{0};  // queue_full
};

class receiver {
  public:
    // The governor and exporter (ports) must outlive the receiver.
    receiver(receiver_options options, governor_port& governor, exporter_port& exporter,
             prometheus::Registry& registry);
    ~receiver();
    receiver(const receiver&) = delete;
    receiver& operator=(const receiver&) = delete;

    // Remote write routes always; the OTLP route when `otlp` (the -prw-listen listener has none).
    void add_routes(http::router& routes, bool otlp);

    // The answer at once; only when the governor decides at once (not cluster mode).
    http::response handle_remote_write(const http::request& req);
    http::response handle_otlp(const http::request& req);

    // One OTLP protobuf ExportMetricsServiceRequest from a transport that frames messages itself
    // (OTLP/gRPC): `pieces` are its bytes in order, gzip-compressed when `gzip` (decompressed
    // here within max_body_size). The pieces are read during the call only when there are
    // several (joined into a pooled buffer); a single piece is used in place, so its bytes must
    // stay valid until `done` runs: at once on this thread, or in cluster mode later on another.
    // Counts what it received and refused under protocol_label::otlp_grpc; the transport counts
    // the request itself (metrics()). `tenant_values`: the values of the tenant metadata key
    // (tenants().metadata_key()), read during the call only.
    void export_otlp(std::span<const std::string_view> pieces, bool gzip,
                     std::function<void(otlp_result)> done,
                     std::span<const std::string_view> tenant_values = {});

    // The series the governor folds (action overflow) go to `overflow` (ports.h); without one
    // they are dropped. Set before the receiver serves; it must outlive the receiver.
    void set_overflow(overflow_port* overflow) { overflow_ = overflow; }

    receiver_metrics& metrics() { return *metrics_; }
    const tenant_resolver& tenants() const { return tenants_; }

  private:
    class work_pool;
    template <typename Done>
    void remote_write(const http::request& req, request_work& w, Done&& done);
    template <typename Done>
    void otlp(const http::request& req, request_work& w, Done&& done);
    // The transport-neutral part of an OTLP request: decompress, decode, govern, export.
    template <typename Done>
    void otlp_core(source_protocol proto, protocol_label label, std::string_view raw, bool gzip,
                   std::span<const std::string_view> tenant_values, request_work& w, Done&& done);
    // The governor's decisions for w.refs, then finish(): at once, or in cluster mode when the
    // cluster answers.
    template <typename Finish>
    void decide_then(request_work& w, Finish&& finish);

    receiver_options options_;
    tenant_resolver tenants_;
    governor_port& governor_;
    exporter_port& exporter_;
    overflow_port* overflow_ = nullptr;
    std::unique_ptr<receiver_metrics> metrics_;
    std::unique_ptr<work_pool> pool_;
};

}  // namespace mg::ingest
