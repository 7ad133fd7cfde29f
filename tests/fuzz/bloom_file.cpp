// Fuzz target: a tracker file of the state directory (`.bloom.gz`, or `.bloom` uncompressed) as
// restore reads it (decode_tracker_file, then bloom_tracker::restore), then use of the restored
// tracker: series observed, a snapshot taken and encoded again, which must decode to the same.
// The key is fixed: the daemon passes the meta.json entry's key, and the seeds carry this one.
#include <cstddef>
#include <cstdint>
#include <string>

#include "cardinality/bloom_tracker.h"
#include "common/clock.h"
#include "fuzz_util.h"
#include "persistence/tracker_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    constexpr const char* target = "bloom_file";
    constexpr std::string_view key = "fuzz_metric";
    // The daemon's default bloom_persistence.max_memory bounds the inflated payload.
    constexpr std::uint64_t max_memory = 268435456;
    static mg::fake_clock clock;

    auto snap =
        mg::persistence::decode_tracker_file(mg::fuzz::as_view(data, size), key, max_memory);
    if (!snap) return 0;
    auto tracker = mg::cardinality::bloom_tracker::restore(*snap, clock);
    if (!tracker) return 0;

    auto& t = **tracker;
    (void)t.memory_bytes();
    const auto before = t.count();
    for (std::uint64_t s = 1; s <= 16; ++s) (void)t.observe(s * 0x9e3779b97f4a7c15ULL, 1000);
    if (t.count() < before) mg::fuzz::fail(target, "count went down after inserts");

    const auto payload = mg::persistence::encode_tracker(key, t.snapshot());
    auto again = mg::persistence::decode_tracker(payload, key);
    if (!again)
        mg::fuzz::fail(target, "re-encoded snapshot does not decode: " + again.error_message());
    if (auto back = mg::cardinality::bloom_tracker::restore(*again, clock); !back) {
        mg::fuzz::fail(target, "re-encoded snapshot does not restore: " + back.error_message());
    }
    return 0;
}
