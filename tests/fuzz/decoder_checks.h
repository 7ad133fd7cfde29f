// What the decoder fuzz targets check after a successful decode: the daemon's output paths for the
// batch (the kept subset with labels stripped, the exporter's remote-write writer, the OTLP to
// remote-write converter) must produce bodies that decode again, with the series the governor
// kept. A failure there means the proxy would forward a body the backend rejects.
//
// Which series are kept and which labels stripped is derived from the input bytes, so a replay
// makes the same choices as the fuzzing run that found the input.
#pragma once

#include <bit>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "protocol/encode_kept.h"
#include "protocol/otlp.h"
#include "protocol/otlp_json.h"
#include "protocol/otlp_to_prw.h"
#include "protocol/remote_write.h"
#include "protocol/series_batch.h"

namespace mg::fuzz {

struct governed {
    std::vector<std::uint8_t> keep;
    std::vector<std::uint64_t> strip;
    std::size_t kept = 0;
};

// Keeps about two thirds of the series; strips a few labels from some of the kept ones (only
// bits below the series' label count, as the governor does).
inline governed choose(const protocol::series_batch& batch, std::uint64_t seed) {
    governed g;
    g.keep.resize(batch.size());
    g.strip.resize(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;  // LCG
        const auto r = seed >> 33;
        g.keep[i] = (r % 3) != 0 ? 1 : 0;
        if (g.keep[i] == 0) continue;
        ++g.kept;
        const auto n = batch[i].labels.size();
        if (n == 0 || (r & 4) == 0) continue;
        const std::uint64_t valid = n >= 64 ? ~0ULL : ((1ULL << n) - 1);
        g.strip[i] = (seed ^ (seed >> 17)) & valid;
    }
    return g;
}

// The kept subset as the exporter builds it for a backend of the source's protocol; a valid
// selection is never refused.
inline std::string encode_kept_or_fail(const char* target, const protocol::series_batch& batch,
                                       const governed& g) {
    std::string out;
    if (auto st = protocol::encode_kept(batch, g.keep, g.strip, out); !st) {
        fail(target, "encode_kept refused a valid selection: " + st.error_message());
    }
    return out;
}

// Decodes `body` (named `what`) into `again` with `decode(body, again)`, a decoder of protocol
// `as`, and checks the series count. `again` holds views into body (and into whatever decode
// keeps beside it): it is only good while they live.
template <typename Decode>
void expect_decodes(const char* target, const char* what, const char* as, const std::string& body,
                    std::size_t series, protocol::series_batch& again, Decode&& decode) {
    if (auto st = decode(body, again); !st) {
        fail(target, std::string(what) + " does not decode as " + as + ": " + st.error_message());
    }
    if (again.size() != series) {
        fail(target, std::string(what) + ": " + std::to_string(again.size()) +
                         " series decoded, want " + std::to_string(series));
    }
}

// Decodes `body` as remote write 1.0 into `again` and checks the series count.
inline void expect_rw1(const char* target, const char* what, const std::string& body,
                       std::size_t series, protocol::series_batch& again) {
    expect_decodes(target, what, "remote write 1.0", body, series, again,
                   [](const std::string& b, protocol::series_batch& out) {
                       return protocol::decode_remote_write_v1(b, out);
                   });
}

// Label counts of the kept series after stripping, in order, against a re-decoded batch.
inline void expect_labels(const char* target, const char* what, const protocol::series_batch& src,
                          const governed& g, const protocol::series_batch& out) {
    std::size_t j = 0;
    for (std::size_t i = 0; i < src.size(); ++i) {
        if (g.keep[i] == 0) continue;
        if (j >= out.size()) fail(target, std::string(what) + ": series missing");
        const auto want =
            src[i].labels.size() - static_cast<std::size_t>(std::popcount(g.strip[i]));
        if (out[j].metric_name != src[i].metric_name || out[j].labels.size() != want) {
            fail(target, std::string(what) + ": series " + std::to_string(j) + " is " +
                             std::string(out[j].metric_name) + " with " +
                             std::to_string(out[j].labels.size()) + " labels, want " +
                             std::string(src[i].metric_name) + " with " + std::to_string(want));
        }
        ++j;
    }
}

// The exporter's path to a remote-write 1.0 backend for a remote-write source.
inline void check_rw1_writer(const char* target, const protocol::series_batch& batch,
                             const governed& g) {
    std::string out;
    protocol::remote_write_v1_writer w(out);
    for (std::size_t i = 0; i < batch.size(); ++i) {
        if (g.keep[i] == 0) continue;
        if (auto st = w.add_series(batch, i, g.strip[i]); !st) {
            fail(target, "remote_write_v1_writer refused a kept series: " + st.error_message());
        }
    }
    w.add_metadata(batch);
    protocol::series_batch again;
    expect_rw1(target, "remote_write_v1_writer output", out, g.kept, again);
    expect_labels(target, "remote_write_v1_writer output", batch, g, again);
}

// The exporter's path to a remote-write backend for an OTLP source.
inline void check_otlp_conversion(const char* target, const protocol::series_batch& batch,
                                  const governed& g, bool native_histograms) {
    static protocol::otlp_to_prw_converter converter;  // reused, as the exporter's per thread
    std::string out;
    protocol::prw_conversion_result r;
    protocol::prw_conversion_options options;
    options.native_histograms = native_histograms;
    if (auto st = converter.convert(batch, g.keep, g.strip, out, r, options); !st) {
        fail(target, "otlp_to_prw_converter refused kept points: " + st.error_message());
    }
    if (r.points_converted + r.points_dropped() != g.kept) {
        fail(target, "otlp_to_prw_converter: " + std::to_string(r.points_converted) +
                         " converted + " + std::to_string(r.points_dropped()) +
                         " dropped points, want " + std::to_string(g.kept) + " kept");
    }
    protocol::series_batch again;
    expect_rw1(target, "otlp_to_prw_converter output", out, r.series, again);
}

}  // namespace mg::fuzz
