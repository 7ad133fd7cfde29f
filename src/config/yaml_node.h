// Wording shared by the readers of YAML files (the main config and the limits file), so both
// describe a value of the wrong shape the same way in their errors. Pure; thread-safe.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string_view>

namespace mg::config {

// "a map", "a list", "a scalar", "no value" or "nothing": what a node is, for error messages.
std::string_view node_kind(const YAML::Node& node);

}  // namespace mg::config
