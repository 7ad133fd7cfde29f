// Fuzz target: an OTLP/HTTP JSON body (after gzip if any) through the decoder the receiver uses,
// with the receiver's limits, then the exporter's paths for the kept points: the JSON subset with
// labels stripped (OTLP backend) and the conversion to remote write 1.0 (remote-write backend).
#include <cstddef>
#include <cstdint>
#include <string>

#include "decoder_checks.h"
#include "protocol/otlp_json.h"
#include "protocol/series_batch.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    constexpr const char* target = "otlp_json_decode";
    const auto body = mg::fuzz::as_view(data, size);
    // The receiver's: depth 64, the decompressed body bound.
    const mg::protocol::otlp_json_limits limits{64, 64U << 20};
    static mg::protocol::series_batch batch;  // reused across requests, as the receiver's is
    static mg::protocol::otlp_json_document doc;
    if (!mg::protocol::decode_otlp_json(body, doc, batch, limits)) return 0;

    const auto seed = mg::fuzz::input_seed(body);
    const auto g = mg::fuzz::choose(batch, seed);
    std::string out;
    if (auto st = mg::protocol::encode_kept(batch, g.keep, g.strip, out); !st) {
        mg::fuzz::fail(target, "encode_kept refused a valid selection: " + st.error_message());
    }
    mg::protocol::series_batch again;
    mg::protocol::otlp_json_document again_doc;
    if (auto st = mg::protocol::decode_otlp_json(out, again_doc, again, limits); !st) {
        mg::fuzz::fail(target, "encode_kept output does not decode: " + st.error_message());
    }
    if (again.size() != g.kept) {
        mg::fuzz::fail(target, "encode_kept output has " + std::to_string(again.size()) +
                                   " points, want " + std::to_string(g.kept));
    }

    mg::fuzz::check_otlp_conversion(target, batch, g, (seed & 1) != 0);
    return 0;
}
