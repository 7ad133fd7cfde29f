// A whole-process workload for before/after comparisons on a noisy machine: the request of
// protocol_bench (1000 series, __name__ + 8 labels, one sample) decoded ROUNDS times, with the
// parts named in MODE: any of "snappy", "decode", "hash" joined by '-', e.g. snappy-decode-hash.
// Time the process (user CPU seconds / (ROUNDS * 1000) = seconds per series) and alternate the
// old and the new build; docs/benchmarks.md has the numbers.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cardinality/series_hash.h"
#include "protocol/compression.h"
#include "protocol/remote_write.h"
#include "protocol/series_batch.h"
#include "remote_write_request.h"

namespace {

using namespace mg::protocol;

std::string make_request(std::size_t series) {
    return mg::bench::make_remote_write_request(series);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s snappy-decode-hash|decode-hash|decode|hash|snappy ROUNDS\n",
                     argv[0]);
        return 2;
    }
    const std::string mode = argv[1];
    const long rounds = std::atol(argv[2]);
    const bool snappy = mode.find("snappy") != std::string::npos;
    const bool decode = mode.find("decode") != std::string::npos;
    const bool hash = mode.find("hash") != std::string::npos;
    const std::string body = make_request(1000);
    std::string compressed, plain;
    snappy_encode(body, compressed);
    series_batch batch;
    if (!decode && !decode_remote_write_v1(body, batch).ok()) return 1;
    std::uint64_t acc = 0;
    for (long r = 0; r < rounds; ++r) {
        const std::string* in = &body;
        if (snappy) {
            if (!snappy_decode(compressed, 64U << 20, plain).ok()) return 1;
            in = &plain;
        }
        if (decode) {
            if (!decode_remote_write_v1(*in, batch).ok()) return 1;
            acc += batch.size();
        }
        if (hash) {
            for (std::size_t i = 0; i < batch.size(); ++i) {
                // What the governor does: the decoder's identity when it took it from the wire.
                const auto s = batch[i];
                acc ^= s.has_identity
                           ? s.identity
                           : mg::cardinality::series_hash_sorted(s.metric_name, s.labels);
            }
        }
    }
    std::printf("%llu\n", static_cast<unsigned long long>(acc));
    return 0;
}
