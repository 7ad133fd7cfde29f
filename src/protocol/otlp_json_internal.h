// Internal to mg_protocol: the parsed document behind otlp_json_document, shared by the OTLP/JSON
// codec (otlp_json.cpp) and the remote-write converter (otlp_to_prw.cpp), which reads the points'
// values from it.
#pragma once

#include <nlohmann/json.hpp>

#include "protocol/otlp_json.h"

namespace mg::protocol {

struct otlp_json_document::impl {
    nlohmann::json root;
};

}  // namespace mg::protocol
