// grpc_answers: the gRPC answer to an OTLP export's result (ingest::otlp_result), as the OTLP spec
// maps them:
//   accepted       OK, with an ExportMetricsServiceResponse whose partial_success carries the
//                  rejected points and why (empty for a full success)
//   malformed      INVALID_ARGUMENT (not retried)
//   too_large      RESOURCE_EXHAUSTED without RetryInfo (not retried: the same message would
//                  inflate past the limit again)
//   queue_full     RESOURCE_EXHAUSTED with a google.rpc.RetryInfo (retried after its delay)
//   unsupported    UNIMPLEMENTED (the configured exporter cannot take this input)
//   shutting_down  UNAVAILABLE (retried, by then on another replica or after the restart)
//   no_tenant      UNAUTHENTICATED
// Plain values (grpc_port.h), no gRPC type: the daemon builds the answer, the plugin sends it.
// Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <string>

#include "ingest/grpc_port.h"
#include "ingest/receiver.h"

namespace mg::ingest {

grpc_answer answer_of(const otlp_result& r);

// RESOURCE_EXHAUSTED with RetryInfo: come back after `delay`.
grpc_answer retry_later(std::string message, std::chrono::nanoseconds delay);

}  // namespace mg::ingest
