// Fuzz target: the limits file as the daemon reads it (parse_limits_yaml: load_limits_file reads
// the file whole, within k_max_limits_file_bytes, and hands it over), then the rule matcher the
// governor compiles from it, asked about a few metric names and label sets.
#include "limits/limits_file.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "limits/rule_matcher.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    constexpr const char* target = "limits_file";
    auto file = mg::limits::parse_limits_yaml(mg::fuzz::as_view(data, size), "fuzz.yaml");
    if (!file) {
        if (file.error_message().empty()) mg::fuzz::fail(target, "an empty error message");
        return 0;
    }
    auto shared = std::make_shared<const mg::limits::limits_file>(std::move(*file));
    // parse_limits_yaml lets through only patterns that compile: the matcher must not throw.
    const mg::limits::rule_matcher matcher(shared, mg::system_clock_instance());

    // Names from the file itself (literal patterns and label values) plus a few fixed ones.
    std::vector<std::string> names = {"http_requests_total", "up", "", "a_b:c"};
    std::vector<mg::limits::label_pair> labels;
    for (const auto& r : shared->rules) {
        names.push_back(r.metric_pattern);
        for (const auto& l : r.labels) labels.push_back({l.name, l.value});
    }
    std::sort(labels.begin(), labels.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    labels.erase(std::unique(labels.begin(), labels.end(),
                             [](const auto& a, const auto& b) { return a.name == b.name; }),
                 labels.end());
    for (const auto& n : names) {
        const auto c = matcher.candidates(n);
        const auto* rule = matcher.select(c, labels);
        if (rule == nullptr && shared->has_defaults)
            mg::fuzz::fail(target, "defaults not selected");
    }
    return 0;
}
