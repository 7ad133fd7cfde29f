// grpc_receiver: the OTLP/gRPC listener (grpc_listener.h), built into the gRPC plugin. It serves
// one unary method, opentelemetry.proto.collector.metrics.v1.MetricsService/Export, through a
// generic callback service (byte buffers, no generated code): each request's message bytes go to
// the daemon through its grpc_ingest_port (ingest/grpc_port.h), which hands them to the ingest
// receiver's transport-neutral OTLP core, the same one OTLP/HTTP uses, so both decide and count
// alike, and gives back the answer as plain values. Any other method answers UNIMPLEMENTED.
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
//   - the tenant (tenancy.source header): every value of the port's tenant metadata key goes to
//     the receiver, which refuses a missing one (UNAUTHENTICATED, with require_tenant) or a bad
//     one (INVALID_ARGUMENT) (ingest/tenant.h).
//   - draining: from begin_drain() on, new calls get UNAVAILABLE while those in flight finish.
//
// Threading: calls run on gRPC's own threads (its callback executor), concurrently; the port is
// thread-safe. In cluster mode a call is answered from the thread the governor's answer comes on.
// start() and the drain are called from main's thread.
#pragma once

#include <memory>

#include "grpc_ingest/grpc_listener.h"
#include "ingest/grpc_port.h"

namespace grpc {
class Server;
}

namespace mg::grpc_ingest {

class grpc_receiver final : public grpc_listener {
  public:
    // `port` must outlive this object.
    grpc_receiver(grpc_options options, ingest::grpc_ingest_port& port);
    ~grpc_receiver() override;
    grpc_receiver(const grpc_receiver&) = delete;
    grpc_receiver& operator=(const grpc_receiver&) = delete;

    result<std::string> start() override;
    void begin_drain() override;
    bool finish_drain(std::chrono::steady_clock::time_point deadline) override;

    class service;  // the generic callback service and its calls (grpc_receiver.cpp)

  private:
    grpc_options options_;
    ingest::grpc_ingest_port& port_;
    std::unique_ptr<service> service_;
    std::unique_ptr<grpc::Server> server_;
};

}  // namespace mg::grpc_ingest
