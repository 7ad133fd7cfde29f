// The governor's trackers under persistence keys (see governor_host.h and tracker_host.h).
#include "persistence/governor_host.h"

namespace mg::persistence {
namespace {

constexpr std::string_view k_metric_prefix = "stats:metric:";
constexpr std::string_view k_label_prefix = "limits:label:";

struct parsed_key {
    std::string_view metric;
    std::string_view label;  // empty for a metric key
};

result<parsed_key> parse_key(std::string_view key) {
    if (key.starts_with(k_metric_prefix) && key.size() > k_metric_prefix.size())
        return parsed_key{key.substr(k_metric_prefix.size()), {}};
    if (key.starts_with(k_label_prefix)) {
        const auto rest = key.substr(k_label_prefix.size());
        const auto colon = rest.find(':');
        if (colon != std::string_view::npos && colon > 0 && colon + 1 < rest.size())
            return parsed_key{rest.substr(colon + 1), rest.substr(0, colon)};
    }
    return make_error("unknown tracker key \"" + std::string(key) +
                      "\" (expected stats:metric:NAME or " + "limits:label:LABEL:NAME)");
}

}  // namespace

std::string metric_key(std::string_view metric) {
    return std::string(k_metric_prefix) + std::string(metric);
}

std::string label_key(std::string_view metric, std::string_view label) {
    return std::string(k_label_prefix) + std::string(label) + ":" + std::string(metric);
}

void governor_host::for_each(const visitor& fn) const {
    governor_.for_each_tracker([&](std::string_view metric, std::string_view label,
                                   const std::shared_ptr<cardinality::bloom_tracker>& t) {
        fn(label.empty() ? metric_key(metric) : label_key(metric, label), t);
    });
}

status governor_host::adopt(const std::string& key,
                            std::shared_ptr<cardinality::bloom_tracker> tracker) {
    auto k = parse_key(key);
    if (!k) return make_error(k.error_message());
    governor_.adopt_tracker(k->metric, k->label, std::move(tracker));
    return {};
}

std::vector<std::string> governor_host::evict(const std::string& key) {
    std::vector<std::string> keys;
    auto k = parse_key(key);
    if (!k) return keys;
    for (const auto& label : governor_.evict_tracker(k->metric, k->label))
        keys.push_back(label.empty() ? metric_key(k->metric) : label_key(k->metric, label));
    return keys;
}

}  // namespace mg::persistence
