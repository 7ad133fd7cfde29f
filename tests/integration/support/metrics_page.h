// metrics_page: reading values out of a Prometheus text exposition page (the daemon's /metrics)
// in integration tests. Header-only; pure functions over the page text.
#pragma once

#include <optional>
#include <sstream>
#include <string>

namespace mg::test {

// The value of the sample line "series value" (series written as the page writes it, e.g.
// `name{a="1",b="2"}`), or nullopt when the page has no such line.
inline std::optional<double> sample_value(const std::string& page, const std::string& series) {
    std::istringstream in(page);
    for (std::string line; std::getline(in, line);) {
        if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
            line[series.size()] == ' ')
            return std::stod(line.substr(series.size() + 1));
    }
    return std::nullopt;
}

// The sum of every sample of metric `name` over all its label sets (0 when it has none).
inline double family_sum(const std::string& page, const std::string& name) {
    std::istringstream in(page);
    double sum = 0;
    for (std::string line; std::getline(in, line);) {
        if (line.size() <= name.size() || line.compare(0, name.size(), name) != 0) continue;
        const char next = line[name.size()];
        if (next != ' ' && next != '{') continue;
        sum += std::stod(line.substr(line.rfind(' ') + 1));
    }
    return sum;
}

}  // namespace mg::test
