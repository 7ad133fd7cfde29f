// Internal to mg_protocol: the parsed document behind otlp_json_document, shared by the OTLP/JSON
// codec (otlp_json.cpp) and the remote-write converter (otlp_to_prw.cpp), which reads the points'
// values from it; and field lookup under either JSON name, which both must do the same way (the
// metric kinds and the number readers they share are in otlp_schema.h).
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

}  // namespace otlp_json_detail

}  // namespace mg::protocol
