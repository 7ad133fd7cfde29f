// Internal to mg_protocol: the parsed document behind otlp_json_document, shared by the OTLP/JSON
// codec (otlp_json.cpp) and the remote-write converter (otlp_to_prw.cpp), which reads the points'
// values from it; and the two things both must read the same way: field lookup under either
// JSON name, and the metric kinds in the order that numbers the points.
#pragma once

#include <nlohmann/json.hpp>

#include "protocol/otlp_json.h"
#include "protocol/series_batch.h"

namespace mg::protocol {

struct otlp_json_document::impl {
    nlohmann::json root;
};

namespace otlp_json_detail {

// Finds a field by its lowerCamelCase name, or its original proto name.
inline const nlohmann::json* member(const nlohmann::json& obj, const char* camel, const char* snake = nullptr) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(camel);
    if (it != obj.end()) return &*it;
    if (snake != nullptr) {
        it = obj.find(snake);
        if (it != obj.end()) return &*it;
    }
    return nullptr;
}

struct kind_key {
    const char* camel;
    const char* snake;
    metric_kind kind;
};
// The metric's data fields in the order the decoder walks them, which numbers the points: the
// converter and the subset encoder find point n by walking in the same order.
inline constexpr kind_key k_kinds[] = {
    {"gauge", nullptr, metric_kind::gauge},
    {"sum", nullptr, metric_kind::sum},
    {"histogram", nullptr, metric_kind::histogram},
    {"exponentialHistogram", "exponential_histogram", metric_kind::exponential_histogram},
    {"summary", nullptr, metric_kind::summary},
};

}  // namespace otlp_json_detail

}  // namespace mg::protocol
