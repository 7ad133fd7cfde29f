// Fuzz target: what the OTLP/gRPC exporter reads from a backend's answer - the serialized
// google.rpc.Status of the grpc-status-details-bin trailer (for RetryInfo) and, on OK, the
// ExportMetricsServiceResponse (for partial_success) - through classify_grpc(), as delivery calls
// it. gRPC itself does the framing; these bytes are the only part of an answer we parse.
// Properties: every code gets a verdict that matches the OTLP table (OK delivered; a retry delay
// only from a retryable or throttled answer, never negative); no rejected count from an answer
// that is not OK.
#include "export/grpc_status.h"

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using mg::exporter::send_outcome;
    const auto in = mg::fuzz::as_view(data, size);
    if (in.empty()) return 0;
    // Byte 0: the status code (0..16 and a few unknown ones); byte 1: how many of the bytes
    // after it are the status details (modulo their count + 1); the rest is the response.
    const int code = static_cast<unsigned char>(in[0]) % 20;
    const auto rest = in.size() > 1 ? in.substr(2) : std::string_view();
    const std::size_t cut =
        in.size() > 1 ? static_cast<unsigned char>(in[1]) % (rest.size() + 1) : 0;
    const auto details = rest.substr(0, cut);
    const auto response = rest.substr(cut);

    if (auto d = mg::exporter::grpc_retry_delay(details); d && d->count() < 0)
        mg::fuzz::fail("grpc_status", "negative RetryInfo delay");

    const send_outcome out = mg::exporter::classify_grpc(code, "fuzz", details, response);
    if ((code == 0) != (out.what == send_outcome::verdict::delivered))
        mg::fuzz::fail("grpc_status", "code " + std::to_string(code) + " delivered wrongly");
    if (out.retry_after && out.retry_after->count() < 0)
        mg::fuzz::fail("grpc_status", "negative retry_after");
    if (out.retry_after && out.what != send_outcome::verdict::retry)
        mg::fuzz::fail("grpc_status", "a retry delay on an answer that is not retried");
    if (code != 0 && out.rejected_points != 0)
        mg::fuzz::fail("grpc_status", "partial_success counted on a failed call");
    if (out.rejected_points < 0) mg::fuzz::fail("grpc_status", "negative rejected_data_points");
    return 0;
}
