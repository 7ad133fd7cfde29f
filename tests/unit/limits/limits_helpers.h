// What the governor's tests share: a rule set parsed from YAML (a test failure when it does not
// parse). Header only.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "limits/limits_file.h"

namespace mg::test {

inline std::shared_ptr<limits::limits_file> limits_from_yaml(const std::string& yaml) {
    auto f = limits::parse_limits_yaml(yaml, "test");
    REQUIRE(f.ok());
    return std::make_shared<limits::limits_file>(std::move(*f));
}

}  // namespace mg::test
