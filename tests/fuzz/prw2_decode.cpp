// Fuzz target: a remote write 2.0 body after snappy (io.prometheus.write.v2.Request), through the
// decoder the receiver uses, then the exporter's output paths for what the governor keeps: the
// 2.0 subset, the 2.0 writer, and the 1.0 writer (a 2.0 source for a 1.0 backend).
// Then every series read again and folded as the overflow side does (overflow_checks.h).
#include <cstddef>
#include <cstdint>
#include <string>

#include "decoder_checks.h"
#include "overflow_checks.h"
#include "protocol/remote_write.h"
#include "protocol/series_batch.h"

namespace {

void expect_rw2(const char* what, const std::string& body, const mg::protocol::series_batch& src,
                const mg::fuzz::governed& g) {
    mg::protocol::series_batch again;
    mg::fuzz::expect_decodes("prw2_decode", what, "remote write 2.0", body, g.kept, again,
                             [](const std::string& b, mg::protocol::series_batch& out) {
                                 return mg::protocol::decode_remote_write_v2(b, out);
                             });
    mg::fuzz::expect_labels("prw2_decode", what, src, g, again);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    constexpr const char* target = "prw2_decode";
    const auto body = mg::fuzz::as_view(data, size);
    static mg::protocol::series_batch batch;  // reused across requests, as the receiver's is
    if (!mg::protocol::decode_remote_write_v2(body, batch)) return 0;

    const auto g = mg::fuzz::choose(batch, mg::fuzz::input_seed(body));
    const std::string out = mg::fuzz::encode_kept_or_fail(target, batch, g);
    expect_rw2("encode_kept output", out, batch, g);

    mg::protocol::remote_write_v2_writer w2;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        if (g.keep[i] == 0) continue;
        if (auto st = w2.add_series(batch, i, g.strip[i]); !st) {
            mg::fuzz::fail(target,
                           "remote_write_v2_writer refused a kept series: " + st.error_message());
        }
    }
    std::string written;
    w2.finish(written);
    expect_rw2("remote_write_v2_writer output", written, batch, g);

    mg::fuzz::check_rw1_writer(target, batch, g);
    mg::fuzz::check_series_samples(target, batch);
    return 0;
}
