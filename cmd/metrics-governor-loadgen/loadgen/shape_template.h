// shape_template: series shaped like recorded traffic (-shape=FILE), for load at any scale with
// the label sets a real sender sends (bench/capture_prometheus.sh records one from Prometheus).
//
// The file has one series per line, `name{label="value",...}` (`#` lines and blank lines are
// skipped; values escape `"`, `\` and newline with a backslash), as bench/capture_shape writes
// it. The series are grouped into families by name. For a run of M metric names, metric m takes
// family floor(m * F / M) of the F families sorted by name when M <= F (a spread over the
// alphabet, so small and large families alike), else family m mod F with "_<m / F>" appended to
// its name for the repeats; every name gets the load generator's "loadgen_" prefix. Series j of a
// metric is template series j mod k of its family (k series) with its `instance` label set from
// the series id, "10.a.b.c:port": unique per id, so every slot is a distinct series and a churned
// slot (new id) a new one, as a replaced target would be. Other labels are the template's.
//
// Thread-safety: immutable after parse(); shared by the request builder's threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace mg::loadgen {

using owned_label = std::pair<std::string, std::string>;

class shape_template {
  public:
    // Parses the file's text; an error names the line and what is wrong.
    static result<shape_template> parse(std::string_view text);

    std::size_t families() const { return families_.size(); }
    std::size_t series() const { return series_; }
    // The name of metric m of `metrics` (with the prefix).
    std::string metric_name(std::uint32_t m, std::uint32_t metrics) const;
    // The labels besides __name__ of series j of metric m with id `id`, sorted by name.
    void labels(std::uint32_t m, std::uint32_t metrics, std::uint64_t j, std::uint64_t id,
                std::vector<owned_label>& out) const;

  private:
    struct family {
        std::string name;
        std::vector<std::vector<owned_label>> series;  // labels without __name__, sorted
    };
    const family& family_of(std::uint32_t m, std::uint32_t metrics) const;

    std::vector<family> families_;  // by name
    std::size_t series_ = 0;
};

}  // namespace mg::loadgen
