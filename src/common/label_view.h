// label_view: one label of a series as views into a request buffer. The one type the decoders
// produce, the governor decides on and the series hash reads, so labels flow from the wire to
// the trackers without being copied. Value type; the views must not outlive their buffer.
#pragma once

#include <string_view>

namespace mg {

struct label_view {
    std::string_view name;
    std::string_view value;
    friend bool operator==(const label_view&, const label_view&) = default;
};

}  // namespace mg
