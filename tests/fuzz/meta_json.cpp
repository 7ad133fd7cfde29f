// Fuzz target: the state directory's meta.json as the tracker store reads it at open
// (parse_meta), then the index written back (to_json), which must parse to the same entries.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "persistence/meta_index.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    constexpr const char* target = "meta_json";
    const auto parsed = mg::persistence::parse_meta(mg::fuzz::as_view(data, size));
    if (parsed.problem != mg::persistence::meta_problem::none) return 0;
    for (const auto& [key, m] : parsed.index.trackers) (void)mg::persistence::validate_key(key);

    const auto text = mg::persistence::to_json(parsed.index);
    const auto again = mg::persistence::parse_meta(text);
    if (again.problem != mg::persistence::meta_problem::none || !again.bad_entries.empty()) {
        mg::fuzz::fail(target, "to_json output does not parse: " + again.message);
    }
    if (again.index.trackers.size() != parsed.index.trackers.size()) {
        mg::fuzz::fail(target, "to_json output has " + std::to_string(again.index.trackers.size()) +
                                   " entries, want " +
                                   std::to_string(parsed.index.trackers.size()));
    }
    if (mg::persistence::to_json(again.index) != text) {
        mg::fuzz::fail(target, "to_json(parse_meta(to_json(index))) differs from to_json(index)");
    }
    return 0;
}
