// Fuzz target: the gzip wrapper the receiver runs on OTLP bodies (Content-Encoding: gzip), with a
// size bound. A decoded body never exceeds the bound and survives a round trip through our
// encoder.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "protocol/compression.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Smaller than the daemon's 64MB default so that "too large" is reachable from short inputs.
    constexpr std::size_t bound = 1U << 20;
    mg::fuzz::check_bounded_codec(
        "gzip_decode", "gzip_encode", mg::fuzz::as_view(data, size), bound,
        [](std::string_view in, std::size_t b, std::string& out) {
            return mg::protocol::gzip_decode(in, b, out).ok();
        },
        [](const std::string& in, std::string& packed) {
            return mg::protocol::gzip_encode(in, 1, packed).ok();
        });
    return 0;
}
