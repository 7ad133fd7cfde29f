// grpc_status: what delivery does with the answer to an OTLP/gRPC Export call, following the
// OTLP specification (otlp.md, "Failures" and "Throttling"):
//   OK                                              delivered (the response may carry
//                                                   partial_success: counted for the log)
//   CANCELLED, DEADLINE_EXCEEDED, ABORTED,
//   OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS            retry (after RetryInfo's delay when given)
//   RESOURCE_EXHAUSTED with RetryInfo               retry after its delay (the server can recover)
//   RESOURCE_EXHAUSTED saying the message is larger
//   than the server's limit                         too_large (split like HTTP 413)
//   any other code (INVALID_ARGUMENT, UNAUTHENTICATED,
//   RESOURCE_EXHAUSTED without RetryInfo, ...)      rejected (dropped)
// A gRPC server refuses an oversized message with RESOURCE_EXHAUSTED and a fixed text: "Received
// message larger than max (N vs. M)" (C++ and Go) or "... exceeds maximum size ..." (Java); that
// text is how it is told apart from throttling.
//
// Pure functions over plain values (no gRPC types), so they are tested without a server.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "export/transport.h"

namespace mg::exporter {

// The retry_delay of a google.rpc.RetryInfo among the details of a serialized google.rpc.Status
// (the grpc-status-details-bin trailer); nullopt when there is none or the bytes do not parse.
// A negative delay counts as zero.
std::optional<std::chrono::nanoseconds> grpc_retry_delay(std::string_view status_details);

// The outcome of one call: its status code, message and serialized details, and (OK only) the
// ExportMetricsServiceResponse bytes.
send_outcome classify_grpc(int code, std::string_view message, std::string_view status_details,
                           std::string_view response);

}  // namespace mg::exporter
