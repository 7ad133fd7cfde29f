// Internal to mg_protocol: the parsed document behind otlp_json_document, shared by the OTLP/JSON
// codec (otlp_json_decode.cpp, otlp_json_subset.cpp) and the remote-write converter
// (otlp_to_prw.cpp), which reads the points' values from it; and field lookup under either JSON
// name, which all must do the same way (the metric kinds and the number readers they share are
// in otlp_schema.h). Also the failure messages and the array lookup of the JSON codec.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "protocol/otlp_json.h"
#include "protocol/series_batch.h"
#include "protocol/status.h"

namespace mg::protocol {

struct otlp_json_document::impl {
    nlohmann::json root;
};

namespace otlp_json_detail {

// Finds a field by its lowerCamelCase name, or its original proto name.
inline const nlohmann::json* member(const nlohmann::json& obj, const char* camel,
                                    const char* snake = nullptr) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(camel);
    if (it != obj.end()) return &*it;
    if (snake != nullptr) {
        it = obj.find(snake);
        if (it != obj.end()) return &*it;
    }
    return nullptr;
}

// The failures of the OTLP/JSON codec: errc::malformed with "OTLP/JSON: " and what went wrong.
inline decode_status fail(const std::string& what) {
    return decode_status::malformed("OTLP/JSON: " + what);
}

// An array field, absent or null meaning empty. Sets `bad` when present but not an array.
inline const nlohmann::json* array_member(const nlohmann::json& obj, const char* camel,
                                          const char* snake, bool& bad) {
    const nlohmann::json* a = member(obj, camel, snake);
    if (a == nullptr || a->is_null()) return nullptr;
    if (!a->is_array()) {
        bad = true;
        return nullptr;
    }
    return a;
}

// Renders an AnyValue object the way the decoder renders an attribute value into a label
// (appended to `out`); for the converter's target_info, which reads resource attributes.
decode_status render_attribute_value(const nlohmann::json& any_value, std::string& out);

}  // namespace otlp_json_detail

}  // namespace mg::protocol
