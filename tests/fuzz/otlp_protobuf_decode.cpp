// Fuzz target: an OTLP/HTTP protobuf body (ExportMetricsServiceRequest, after gzip if any) through
// the decoder the receiver uses, then the exporter's paths for the kept points: the OTLP subset
// with labels stripped (OTLP backend) and the conversion to remote write 1.0 (remote-write
// backend).
// Then every series read again and folded as the overflow side does (overflow_checks.h).
#include <cstddef>
#include <cstdint>
#include <string>

#include "decoder_checks.h"
#include "overflow_checks.h"
#include "protocol/otlp.h"
#include "protocol/series_batch.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    constexpr const char* target = "otlp_protobuf_decode";
    const auto body = mg::fuzz::as_view(data, size);
    static mg::protocol::series_batch batch;  // reused across requests, as the receiver's is
    if (!mg::protocol::decode_otlp_protobuf(body, batch)) return 0;

    const auto seed = mg::fuzz::input_seed(body);
    const auto g = mg::fuzz::choose(batch, seed);
    const std::string out = mg::fuzz::encode_kept_or_fail(target, batch, g);
    mg::protocol::series_batch again;
    mg::fuzz::expect_decodes(target, "encode_kept output", "OTLP protobuf", out, g.kept, again,
                             [](const std::string& b, mg::protocol::series_batch& o) {
                                 return mg::protocol::decode_otlp_protobuf(b, o);
                             });

    mg::fuzz::check_otlp_conversion(target, batch, g, (seed & 1) != 0);
    mg::fuzz::check_series_samples(target, batch);
    return 0;
}
