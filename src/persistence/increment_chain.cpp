// The increments that apply onto a base (see increment_chain.h).
#include "persistence/increment_chain.h"

#include <algorithm>

#include "persistence/increment_codec.h"

namespace mg::persistence {

increment_chain apply_increment_chain(const tracker_meta& m, std::uint32_t base_checksum,
                                      cardinality::tracker_snapshot& snap,
                                      const increment_reader& read, std::uint64_t max_inflated) {
    // Only the increments of the base that is on disk: after a crash between the index and the
    // base's replacement that is the previous base, and its increments are the ones listed with
    // its checksum; increments of an older base are superseded and never applied.
    increment_chain chain;
    std::vector<increment_meta> incs;
    for (const auto& i : m.increments)
        (i.base_checksum == base_checksum ? incs : chain.superseded).push_back(i);
    std::sort(incs.begin(), incs.end(),
              [](const increment_meta& a, const increment_meta& b) { return a.seq < b.seq; });
    std::string broken;  // why the run of increments ended
    for (const auto& inc : incs) {
        std::string why;
        if (!broken.empty()) {
            why = "follows an increment that was skipped (" + broken + ")";
        } else if (inc.seq != chain.applied + 1) {
            why = "sequence gap: increment " + std::to_string(inc.seq) + " after " +
                  std::to_string(chain.applied);
        } else if (auto bytes = read(inc); !bytes) {
            why = bytes.error_message();
        } else if (auto d = decode_increment_file(*bytes, m.key, max_inflated); !d) {
            why = d.error_message();
        } else if (d->header.base_checksum != base_checksum || d->header.seq != inc.seq) {
            why = "its header names another base or sequence number than the index";
        } else if (auto st = cardinality::apply_delta(snap, d->delta); !st) {
            why = st.error_message();
        }
        if (why.empty()) {
            ++chain.applied;
        } else if (broken.empty()) {
            broken = "seq " + std::to_string(inc.seq);
        }
        chain.steps.push_back({inc, std::move(why)});
    }
    return chain;
}

}  // namespace mg::persistence
