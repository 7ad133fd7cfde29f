// grpc_status: the gRPC status of an OTLP export's result (ingest::otlp_result), as the OTLP spec
// maps them:
//   accepted       OK, with an ExportMetricsServiceResponse whose partial_success carries the
//                  rejected points and why (empty for a full success)
//   malformed      INVALID_ARGUMENT (not retried)
//   too_large      RESOURCE_EXHAUSTED without RetryInfo (not retried: the same message would
//                  inflate past the limit again)
//   queue_full     RESOURCE_EXHAUSTED with a google.rpc.RetryInfo (retried after its delay)
//   unsupported    UNIMPLEMENTED (the configured exporter cannot take this input)
//   shutting_down  UNAVAILABLE (retried, by then on another replica or after the restart)
// and the names of the codes, for the `code` label of metrics_governor_requests_total.
// Pure functions; thread-safe.
#pragma once

#include <grpcpp/support/status.h>

#include <chrono>
#include <string>
#include <string_view>

#include "ingest/receiver.h"

namespace mg::grpc_ingest {

grpc::Status status_of(const ingest::otlp_result& r);
// RESOURCE_EXHAUSTED with RetryInfo: come back after `delay`.
grpc::Status retry_later(std::string message, std::chrono::nanoseconds delay);

}  // namespace mg::grpc_ingest
