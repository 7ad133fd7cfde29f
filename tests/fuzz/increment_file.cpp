// Fuzz target: an increment file of the state directory (`.inc.gz`, or `.inc` uncompressed) as
// restore reads it (decode_increment_file, then apply_delta onto its base and
// bloom_tracker::restore), then use of the restored tracker. A refused increment must leave the
// base unchanged; an accepted one must restore. The base is fixed (increment_base.h): the
// daemon applies an increment only to the base whose checksum it names.
#include <cstddef>
#include <cstdint>
#include <string>

#include "cardinality/bloom_tracker.h"
#include "common/clock.h"
#include "fuzz_util.h"
#include "increment_base.h"
#include "persistence/increment_codec.h"
#include "persistence/tracker_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    constexpr const char* target = "increment_file";
    constexpr std::string_view key = "fuzz_metric";
    constexpr std::uint64_t max_memory = 268435456;  // the default max_memory bounds inflation
    static mg::fake_clock clock;
    static mg::cardinality::tracker_snapshot base;
    static const auto tracker = mg::fuzz::increment_base_tracker(clock, base);
    static const std::string base_payload = mg::persistence::encode_tracker(key, base);

    auto inc =
        mg::persistence::decode_increment_file(mg::fuzz::as_view(data, size), key, max_memory);
    if (!inc) return 0;
    auto snap = base;
    if (auto st = mg::cardinality::apply_delta(snap, inc->delta); !st) {
        if (mg::persistence::encode_tracker(key, snap) != base_payload)
            mg::fuzz::fail(target, "a refused increment changed its base: " + st.error_message());
        return 0;
    }
    auto restored = mg::cardinality::bloom_tracker::restore(snap, clock);
    if (!restored) return 0;  // e.g. an age or count restore refuses: a clear error, no crash
    auto& t = **restored;
    const auto before = t.count();
    for (std::uint64_t s = 1; s <= 16; ++s) (void)t.observe(s * 0x9e3779b97f4a7c15ULL, 1000);
    if (t.count() < before) mg::fuzz::fail(target, "count went down after inserts");
    // Re-encoding the delta gives bytes that decode to the same delta.
    mg::persistence::increment_header h{std::string(key), 1, 1};
    auto again =
        mg::persistence::decode_increment(mg::persistence::encode_increment(h, inc->delta), key);
    if (!again)
        mg::fuzz::fail(target, "re-encoded increment does not decode: " + again.error_message());
    return 0;
}
