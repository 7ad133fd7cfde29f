// Fuzz target: a remote write 1.0 body after snappy (prometheus.WriteRequest), through the decoder
// the receiver uses, then the exporter's output paths for what the governor keeps (see
// decoder_checks.h). Every identity the decoder takes from the wire bytes must equal the hash of
// the views it hands out (a series must count once whatever its encoding).
// Then every series read again and folded as the overflow side does (overflow_checks.h).
#include <cstddef>
#include <cstdint>
#include <string>

#include "cardinality/series_hash.h"
#include "decoder_checks.h"
#include "overflow_checks.h"
#include "protocol/remote_write.h"
#include "protocol/series_batch.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    constexpr const char* target = "prw1_decode";
    const auto body = mg::fuzz::as_view(data, size);
    static mg::protocol::series_batch batch;  // reused across requests, as the receiver's is
    if (!mg::protocol::decode_remote_write_v1(body, batch)) return 0;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const auto v = batch[i];
        if (v.has_identity &&
            v.identity != mg::cardinality::series_hash_sorted(v.metric_name, v.labels))
            mg::fuzz::fail(target, "series " + std::to_string(i) +
                                       ": wire identity differs from the hash of its views");
    }

    const auto g = mg::fuzz::choose(batch, mg::fuzz::input_seed(body));
    const std::string out = mg::fuzz::encode_kept_or_fail(target, batch, g);
    mg::protocol::series_batch again;
    mg::fuzz::expect_rw1(target, "encode_kept output", out, g.kept, again);
    mg::fuzz::expect_labels(target, "encode_kept output", batch, g, again);

    mg::fuzz::check_rw1_writer(target, batch, g);
    mg::fuzz::check_series_samples(target, batch);
    return 0;
}
