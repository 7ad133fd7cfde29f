// The governor's trackers under persistence keys (see governor_host.h and tracker_host.h).
#include "persistence/governor_host.h"

#include "limits/tenant_escape.h"

namespace mg::persistence {
namespace {

constexpr std::string_view k_metric_prefix = "stats:metric:";
constexpr std::string_view k_label_prefix = "limits:label:";
constexpr std::string_view k_tenant_stats_prefix = "stats:tenant:";
constexpr std::string_view k_tenant_limits_prefix = "limits:tenant:";
constexpr std::string_view k_metric_part = ":metric:";
constexpr std::string_view k_label_part = ":label:";

struct parsed_key {
    std::string tenant;  // "" for the default tenant
    std::string_view metric;
    std::string_view label;  // empty for a metric key
};

// "LABEL:NAME" of a label key.
bool split_label(std::string_view rest, parsed_key& out) {
    const auto colon = rest.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 >= rest.size()) return false;
    out.label = rest.substr(0, colon);
    out.metric = rest.substr(colon + 1);
    return true;
}

// "ESCAPED<part>REST" of a tenant key: the escaped tenant holds no ':', so the first ':' ends it.
bool split_tenant(std::string_view rest, std::string_view part, parsed_key& out,
                  std::string_view& after) {
    const auto colon = rest.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    if (rest.substr(colon, part.size()) != part) return false;
    auto tenant = limits::unescape_tenant(rest.substr(0, colon));
    if (!tenant || tenant->empty()) return false;
    out.tenant = std::move(*tenant);
    after = rest.substr(colon + part.size());
    return true;
}

result<parsed_key> parse_key(std::string_view key) {
    parsed_key k;
    std::string_view rest;
    if (key.starts_with(k_metric_prefix) && key.size() > k_metric_prefix.size()) {
        k.metric = key.substr(k_metric_prefix.size());
        return k;
    }
    if (key.starts_with(k_label_prefix) && split_label(key.substr(k_label_prefix.size()), k))
        return k;
    if (key.starts_with(k_tenant_stats_prefix) &&
        split_tenant(key.substr(k_tenant_stats_prefix.size()), k_metric_part, k, rest) &&
        !rest.empty()) {
        k.metric = rest;
        return k;
    }
    if (key.starts_with(k_tenant_limits_prefix) &&
        split_tenant(key.substr(k_tenant_limits_prefix.size()), k_label_part, k, rest) &&
        split_label(rest, k))
        return k;
    return make_error("unknown tracker key \"" + std::string(key) +
                      "\" (expected stats:metric:NAME, limits:label:LABEL:NAME, "
                      "stats:tenant:TENANT:metric:NAME or limits:tenant:TENANT:label:LABEL:NAME)");
}

}  // namespace

std::string metric_key(std::string_view metric, std::string_view tenant) {
    if (tenant.empty()) return std::string(k_metric_prefix) + std::string(metric);
    return std::string(k_tenant_stats_prefix) + limits::escape_tenant(tenant) +
           std::string(k_metric_part) + std::string(metric);
}

std::string label_key(std::string_view metric, std::string_view label, std::string_view tenant) {
    if (tenant.empty())
        return std::string(k_label_prefix) + std::string(label) + ":" + std::string(metric);
    return std::string(k_tenant_limits_prefix) + limits::escape_tenant(tenant) +
           std::string(k_label_part) + std::string(label) + ":" + std::string(metric);
}

void governor_host::for_each(const visitor& fn) const {
    governor_.for_each_tracker([&](std::string_view tenant, std::string_view metric,
                                   std::string_view label,
                                   const std::shared_ptr<cardinality::bloom_tracker>& t) {
        fn(label.empty() ? metric_key(metric, tenant) : label_key(metric, label, tenant), t);
    });
}

status governor_host::adopt(const std::string& key,
                            std::shared_ptr<cardinality::bloom_tracker> tracker) {
    auto k = parse_key(key);
    if (!k) return make_error(k.error_message());
    governor_.adopt_tracker(k->tenant, k->metric, k->label, std::move(tracker));
    return {};
}

std::vector<std::string> governor_host::evict(const std::string& key) {
    std::vector<std::string> keys;
    auto k = parse_key(key);
    if (!k) return keys;
    for (const auto& label : governor_.evict_tracker(k->tenant, k->metric, k->label)) {
        keys.push_back(label.empty() ? metric_key(k->metric, k->tenant)
                                     : label_key(k->metric, label, k->tenant));
    }
    return keys;
}

}  // namespace mg::persistence
