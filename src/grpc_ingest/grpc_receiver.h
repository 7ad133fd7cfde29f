// grpc_receiver: the OTLP/gRPC listener (-grpc-listen, default :4317). It serves one unary
// method, opentelemetry.proto.collector.metrics.v1.MetricsService/Export, through a generic
// callback service (byte buffers, no generated code): each request's message bytes go to the
// ingest receiver's transport-neutral OTLP core (ingest::receiver::export_otlp), the same one
// OTLP/HTTP uses, so both decide and count alike; grpc_status.h maps the result to a gRPC status.
// Any other method answers UNIMPLEMENTED.
//
// Bounds, each with a clear status (docs/protocols.md, "OTLP/gRPC"):
//   - message size: gRPC refuses a message over max_message_size (the receiver's body limit)
//     with RESOURCE_EXHAUSTED before it reaches us. gRPC's own per-message decompression is off:
//     it inflates a whole message before checking its size (a 200 KB gzip bomb cost 200 MB of
//     memory in gRPC 1.51), so a gzip message reaches the receiver compressed and is inflated
//     with the same bounded decoder as OTLP/HTTP (RESOURCE_EXHAUSTED past the limit). gzip and
//     identity only; other encodings are refused by gRPC (UNIMPLEMENTED).
//   - streams per connection (max_concurrent_streams), idle connections (max_connection_idle),
//     dead peers (keepalive_time/keepalive_timeout), the TLS and HTTP/2 handshake (read_timeout)
//     and a message not received within read_timeout of its call (the call is cancelled).
//   - the ingest listeners' in-flight byte budget: a message that does not fit gets
//     RESOURCE_EXHAUSTED with RetryInfo, like HTTP's 429.
//   - access: the ingest listeners' credentials from the `authorization` metadata
//     (UNAUTHENTICATED without them, counted with the HTTP refusals) and their TLS files.
//   - the tenant (tenancy.source header): every value of the metadata key
//     receiver.tenants().metadata_key() goes to the receiver, which refuses a missing one
//     (UNAUTHENTICATED, with require_tenant) or a bad one (INVALID_ARGUMENT) (ingest/tenant.h).
//   - draining: from begin_drain() on, new calls get UNAVAILABLE while those in flight finish.
//
// Threading: calls run on gRPC's own threads (its callback executor), concurrently; the receiver
// and the budget are thread-safe. In cluster mode a call is answered from the thread the
// governor's answer comes on. start() and the drain are called from main's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "http/access.h"
#include "http/byte_budget.h"
#include "ingest/receiver.h"

namespace grpc {
class Server;
}

namespace mg::grpc_ingest {

inline constexpr std::string_view k_export_method =
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

struct grpc_options {
    std::string listen = ":4317";  // host:port (config/listen_address.h); empty: no listener
    std::uint64_t max_message_size = 64ULL * 1024 * 1024;  // compressed and decompressed
    int max_concurrent_streams = 100;                      // per connection
    std::chrono::nanoseconds keepalive_time = std::chrono::hours(2);
    std::chrono::nanoseconds keepalive_timeout = std::chrono::seconds(20);
    std::chrono::nanoseconds max_connection_idle = std::chrono::minutes(5);
    // The handshake, and a call's message from the call's start.
    std::chrono::nanoseconds read_timeout = std::chrono::seconds(30);
};

// What main shares with the HTTP ingest listeners; each may be null (none).
struct grpc_deps {
    std::shared_ptr<const http::authenticator> auth;
    std::shared_ptr<http::access_counters> access_stats;
    std::shared_ptr<http::byte_budget> inflight;
    // PEM files of the ingest listeners' TLS (http/tls.h names); empty cert: plaintext.
    std::string tls_cert_file;
    std::string tls_key_file;
    std::string tls_client_ca_file;
};

class grpc_receiver {
  public:
    // `receiver` must outlive this object.
    grpc_receiver(grpc_options options, grpc_deps deps, ingest::receiver& receiver);
    ~grpc_receiver();
    grpc_receiver(const grpc_receiver&) = delete;
    grpc_receiver& operator=(const grpc_receiver&) = delete;

    // Binds and starts serving; the bound "host:port" (the port chosen when 0 was asked for).
    // Fails, naming the address or the file, when it cannot bind or read the TLS files.
    result<std::string> start();
    // New calls get UNAVAILABLE from now on; calls in flight go on.
    void begin_drain();
    // Waits until the calls in flight are answered or the deadline passes, then stops the server
    // (cancelling what is left). True when nothing was left.
    bool finish_drain(std::chrono::steady_clock::time_point deadline);

    class service;  // the generic callback service and its calls (grpc_receiver.cpp)

  private:
    struct tls_paths {
        std::string cert_file, key_file, client_ca_file;
    };
    grpc_options options_;
    tls_paths tls_;
    std::uint64_t deps_inflight_limit_ = 0;
    std::unique_ptr<service> service_;
    std::unique_ptr<grpc::Server> server_;
};

}  // namespace mg::grpc_ingest
