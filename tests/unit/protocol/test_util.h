// Helpers shared by the protocol tests: owned snapshots of decoded series, for comparisons, and
// wire bytes written out by hand.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "protocol/series_batch.h"

namespace mg::protocol::test {

// A string of the given byte values (a hand-written message).
inline std::string bytes(std::initializer_list<int> b) {
    std::string s;
    for (int c : b) s.push_back(static_cast<char>(c));
    return s;
}

struct series_snapshot {
    std::string name;
    std::vector<std::pair<std::string, std::string>> labels;
    std::uint32_t samples = 0;
    std::uint32_t histograms = 0;
    std::uint32_t exemplars = 0;
    friend bool operator==(const series_snapshot&, const series_snapshot&) = default;
    friend std::ostream& operator<<(std::ostream& os, const series_snapshot& s) {
        os << s.name << "{";
        for (const auto& [n, v] : s.labels) os << n << "=\"" << v << "\",";
        return os << "} s=" << s.samples << " h=" << s.histograms << " e=" << s.exemplars;
    }
};

inline std::vector<series_snapshot> snapshot(const series_batch& b) {
    std::vector<series_snapshot> out;
    for (std::size_t i = 0; i < b.size(); ++i) {
        const series_view v = b[i];
        series_snapshot s;
        s.name = std::string(v.metric_name);
        for (const label_view& l : v.labels) s.labels.emplace_back(l.name, l.value);
        s.samples = v.samples;
        s.histograms = v.histograms;
        s.exemplars = v.exemplars;
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace mg::protocol::test
