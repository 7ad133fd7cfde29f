// Fuzz target: the snappy wrapper the receiver runs on remote-write bodies, with a size bound.
// A decoded body never exceeds the bound and survives a round trip through our encoder.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "protocol/compression.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    constexpr const char* target = "snappy_decode";
    // Smaller than the daemon's 64MB default so that "too large" is reachable from short inputs.
    constexpr std::size_t bound = 1U << 20;
    static std::string out;  // reused across requests, as the receiver's is
    if (!mg::protocol::snappy_decode(mg::fuzz::as_view(data, size), bound, out)) return 0;
    if (out.size() > bound) mg::fuzz::fail(target, "output larger than the bound");

    std::string packed, again;
    mg::protocol::snappy_encode(out, packed);
    if (auto st = mg::protocol::snappy_decode(packed, bound, again); !st || again != out) {
        mg::fuzz::fail(target, "round trip through snappy_encode changed the data");
    }
    return 0;
}
