// Internal to mg_protocol: where each kept OTLP data point goes when labels are stripped
// (encode_kept() with strip masks, encode_kept.h). Shared by the protobuf strip encoder
// (otlp_strip.cpp) and the OTLP/JSON subset encoder (otlp_json_subset.cpp), which walk their own
// encodings but must split resources and scopes the same way.
//
// A stripped label goes from every level that carries its key. A point's group at the resource
// (scope) level is the list of keys its mask removes there; points with the same list share one
// copy of the resource (scope). Group 0 is "nothing removed at this level", i.e. the resource
// (scope) as sent. The encoders emit a resource (scope) once per group of its kept points, in
// order of first appearance.
//
// A plan is filled by one walk of the request in decode order and read by the next; not
// synchronized.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "protocol/series_batch.h"

namespace mg::protocol::otlp_detail {

// Attribute keys of one resource or scope (views into the request or its document).
using key_list = std::vector<std::string_view>;

bool contains(const key_list& keys, std::string_view k);

struct strip_plan {
    struct level {
        std::size_t first = 0;  // points [first, first + count) are under this resource/scope
        std::size_t count = 0;
        std::size_t scope_first = 0;  // resources only: their scopes in walk order
        std::size_t scope_count = 0;
        std::vector<key_list> groups{key_list{}};
    };
    std::vector<std::uint32_t> res_group, scope_group;  // per point
    std::vector<level> resources, scopes;               // in walk order

    // Every one of `points` points in group 0 at both levels; no resources or scopes yet.
    void reset(std::size_t points);

    // Puts point n, under resource ri (carrying the keys rkeys) and scope si (skeys), in the
    // groups of the keys `mask` removes at each level. `labels` is the point's sorted view.
    void place(std::size_t n, std::span<const label_view> labels, std::uint64_t mask,
               std::size_t ri, const key_list& rkeys, std::size_t si, const key_list& skeys);

    // The groups of the kept points of resource ri, in order of first appearance (replaces out).
    void resource_groups(std::size_t ri, std::span<const std::uint8_t> keep,
                         std::vector<std::uint32_t>& out) const;
    // The same for scope si, among its kept points in resource group rg.
    void scope_groups(std::size_t si, std::span<const std::uint8_t> keep, std::uint32_t rg,
                      std::vector<std::uint32_t>& out) const;

  private:
    key_list removed_;  // scratch
};

}  // namespace mg::protocol::otlp_detail
