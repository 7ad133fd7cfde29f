// Fuzz target: the gzip wrapper the receiver runs on OTLP bodies (Content-Encoding: gzip), with a
// size bound. A decoded body never exceeds the bound and survives a round trip through our
// encoder.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "protocol/compression.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    constexpr const char* target = "gzip_decode";
    // Smaller than the daemon's 64MB default so that "too large" is reachable from short inputs.
    constexpr std::size_t bound = 1U << 20;
    static std::string out;  // reused across requests, as the receiver's is
    if (!mg::protocol::gzip_decode(mg::fuzz::as_view(data, size), bound, out)) return 0;
    if (out.size() > bound) mg::fuzz::fail(target, "output larger than the bound");

    std::string packed, again;
    if (auto st = mg::protocol::gzip_encode(out, 1, packed); !st) {
        mg::fuzz::fail(target, "gzip_encode failed: " + st.error_message());
    }
    if (auto st = mg::protocol::gzip_decode(packed, bound, again); !st || again != out) {
        mg::fuzz::fail(target, "round trip through gzip_encode changed the data");
    }
    return 0;
}
