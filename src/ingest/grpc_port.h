// grpc_port: what the OTLP/gRPC listener (src/grpc_ingest, built into the gRPC plugin) needs from
// the daemon, as one narrow interface of plain values: no gRPC type crosses it, and no code of the
// daemon is linked into the plugin, which reaches the receiver, the credentials, the in-flight
// budget and the counters only through this object (grpc_adaptor.h implements it). So the plugin
// shares neither Asio nor any global of the daemon, and is loaded only when gRPC is configured.
//
// Thread-safety: every method is called from gRPC's threads, concurrently; implementations allow
// that. The port must outlive the listener.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "protocol/grpc_codes.h"

namespace mg::ingest {

using protocol::grpc_code;  // gRPC's status numbers

// One call's answer: the status and, when OK, the ExportMetricsServiceResponse.
struct grpc_answer {
    grpc_code code = grpc_code::ok;
    std::string message;
    std::string details;  // grpc-status-details-bin (a google.rpc.Status with RetryInfo) or empty
    std::string body;     // OK: the response message
};

class grpc_ingest_port {
  public:
    virtual ~grpc_ingest_port() = default;

    // Whether a call with this authorization metadata (nullopt: none) is served; a refusal is
    // counted here, and the listener answers UNAUTHENTICATED.
    virtual bool authorize(std::optional<std::string_view> authorization) = 0;
    // Takes `bytes` from the ingest listeners' in-flight budget: nullopt when taken (or there is
    // no budget), else the answer (RESOURCE_EXHAUSTED with RetryInfo).
    virtual std::optional<grpc_answer> acquire(std::uint64_t bytes) = 0;
    virtual void release(std::uint64_t bytes) = 0;
    // The budget's size, which bounds gRPC's transport memory too; 0: none.
    virtual std::uint64_t inflight_limit() const = 0;
    // The metadata key naming a call's tenant (lower case); empty: none.
    virtual const std::string& tenant_metadata_key() const = 0;
    // One Export message (its bytes in pieces, gzip or not) and its tenant metadata values, all
    // read before it returns; `done` runs exactly once with the answer, at once or later on
    // another thread (cluster mode).
    virtual void export_otlp(std::span<const std::string_view> pieces, bool gzip,
                             std::span<const std::string_view> tenant_values,
                             std::function<void(grpc_answer)> done) = 0;
    // Counts an answered call (metrics_governor_requests_total{protocol="otlp_grpc",code}).
    virtual void count_answer(grpc_code code, double seconds) = 0;
};

}  // namespace mg::ingest
