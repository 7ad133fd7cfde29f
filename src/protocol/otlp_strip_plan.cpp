#include "protocol/otlp_strip_plan.h"

#include <algorithm>

namespace mg::protocol::otlp_detail {

namespace {

std::uint32_t group_of(std::vector<key_list>& groups, const key_list& removed) {
    for (std::size_t g = 0; g < groups.size(); ++g) {
        if (groups[g] == removed) return static_cast<std::uint32_t>(g);
    }
    groups.push_back(removed);
    return static_cast<std::uint32_t>(groups.size() - 1);
}

void add_group(std::vector<std::uint32_t>& groups, std::uint32_t g) {
    if (std::find(groups.begin(), groups.end(), g) == groups.end()) groups.push_back(g);
}

}  // namespace

bool contains(const key_list& keys, std::string_view k) {
    return std::find(keys.begin(), keys.end(), k) != keys.end();
}

void strip_plan::reset(std::size_t points) {
    res_group.assign(points, 0);
    scope_group.assign(points, 0);
    resources.clear();
    scopes.clear();
}

void strip_plan::place(std::size_t n, std::span<const label_view> labels, std::uint64_t mask,
                       std::size_t ri, const key_list& rkeys, std::size_t si,
                       const key_list& skeys) {
    removed_.clear();
    for (std::string_view k : rkeys) {
        if (strip_mask_removes(labels, mask, k)) removed_.push_back(k);
    }
    if (!removed_.empty()) res_group[n] = group_of(resources[ri].groups, removed_);
    removed_.clear();
    for (std::string_view k : skeys) {
        if (strip_mask_removes(labels, mask, k)) removed_.push_back(k);
    }
    if (!removed_.empty()) scope_group[n] = group_of(scopes[si].groups, removed_);
}

void strip_plan::resource_groups(std::size_t ri, std::span<const std::uint8_t> keep,
                                 std::vector<std::uint32_t>& out) const {
    out.clear();
    const level& lv = resources[ri];
    for (std::size_t n = lv.first; n < lv.first + lv.count && n < keep.size(); ++n) {
        if (keep[n] != 0) add_group(out, res_group[n]);
    }
}

void strip_plan::scope_groups(std::size_t si, std::span<const std::uint8_t> keep, std::uint32_t rg,
                              std::vector<std::uint32_t>& out) const {
    out.clear();
    const level& lv = scopes[si];
    for (std::size_t n = lv.first; n < lv.first + lv.count && n < keep.size(); ++n) {
        if (keep[n] != 0 && res_group[n] == rg) add_group(out, scope_group[n]);
    }
}

}  // namespace mg::protocol::otlp_detail
