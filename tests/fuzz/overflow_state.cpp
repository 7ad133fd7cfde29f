// Fuzz target: the overflow fold state file's contents after gzip
// (persistence/overflow_state_file.h) as the daemon reads it at the start, then written again: what
// decodes must encode to the same bytes (nothing read is lost or changed on the way back; a file of
// an older version is written as this build's, which must then come back byte for byte), and be
// taken back by a store (overflow_store::restore_state) without a fault, whatever the fields say.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "overflow/overflow_store.h"
#include "persistence/overflow_state_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    constexpr const char* target = "overflow_state";
    const auto bytes = mg::fuzz::as_view(data, size);
    auto state = mg::persistence::decode_overflow_state(bytes);
    if (!state.ok()) return 0;
    const auto again = mg::persistence::encode_overflow_state(*state);
    if (again != bytes) {
        // The version is the two bytes after the 6-byte magic; only an older one may differ.
        if (again.substr(6, 2) == bytes.substr(6, 2))
            mg::fuzz::fail(target, "encode(decode(bytes)) differs from bytes");
        auto current = mg::persistence::decode_overflow_state(again);
        if (!current.ok() || mg::persistence::encode_overflow_state(*current) != again)
            mg::fuzz::fail(target, "an older version's state, written again, does not come back");
    }
    mg::overflow::store_options o;
    o.max_series = 64;
    mg::overflow::overflow_store store(o);
    (void)store.restore_state(std::move(*state), 0);
    (void)store.save_state();
    (void)store.collect(
        1, [](mg::overflow::emitted_series&&) {}, true);
    return 0;
}
