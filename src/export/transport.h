// transport: how delivery sends one upstream request, whatever the wire. Two implementations:
// http_transport (the Beast HTTP client: remote write and OTLP/HTTP) and grpc_transport
// (OTLP/gRPC). A transport sends one payload and classifies the answer into what delivery does
// next (send_outcome::verdict), so the retry, split and drop policy stays in one place
// (delivery.h) and each protocol's status codes in its own transport.
//
// Threading: async_send() and close_all() are called on the exporter's strand, and every
// callback runs on that strand. connections_opened() is safe from any thread.
//
// Ownership: a transport outlives its sends: destroy it only after close_all(), once every
// callback ran and the strand's io_context stopped running.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "export/payload.h"

namespace mg::exporter {

// What both transports tell the backend they are (HTTP User-Agent, gRPC's primary user agent).
inline constexpr std::string_view k_user_agent = "metrics-governor/0.1";

struct send_outcome {
    enum class verdict : std::uint8_t {
        delivered,  // HTTP 2xx, gRPC OK
        retry,      // transport failure, HTTP 429/5xx, the OTLP spec's retryable gRPC codes
        too_large,  // HTTP 413, a gRPC message over the server's limit: split in half
        rejected,   // another HTTP 4xx, a gRPC code not to retry: dropped
    };
    verdict what = verdict::retry;
    // The answer's status as metrics_governor_export_requests_total{code} shows it ("204",
    // "UNAVAILABLE"); empty when no answer arrived (a transport failure).
    std::string code;
    // metrics_governor_export_errors_total{reason} ("http_429", "connect", "grpc_unavailable");
    // empty when delivered.
    std::string error_reason;
    std::string message;  // the transport error or the gRPC status message, for the log
    std::string body;     // the HTTP response body, for the log
    // The server's own delay before a retry (Retry-After, gRPC RetryInfo); else the backoff.
    std::optional<std::chrono::nanoseconds> retry_after;
    // OTLP partial success of a delivered request: data points the backend refused anyway.
    std::int64_t rejected_points = 0;
    std::string rejected_message;
};

class transport {
  public:
    using callback = std::function<void(send_outcome)>;

    virtual ~transport() = default;

    // Sends p (in wire encoding) once. p stays alive until done runs; the transport may move
    // p.body out while it sends, and puts it back before done runs. done runs exactly once, on
    // the strand.
    virtual void async_send(payload& p, callback done) = 0;
    // Aborts what is in flight (those callbacks report a failure) and closes idle connections.
    virtual void close_all() = 0;
    // HTTP: TCP connections opened; gRPC: channels created (gRPC reconnects inside one).
    virtual std::uint64_t connections_opened() const = 0;
};

}  // namespace mg::exporter
