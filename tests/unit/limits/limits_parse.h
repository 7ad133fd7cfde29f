// The limits-file tests' two ways to parse: a file that must parse (its rules returned), and one
// that must not (its error message returned). Header-only test code.
#pragma once

#include <catch2/catch.hpp>
#include <string>

#include "limits/limits_file.h"

namespace mg::test::limits_parse {

inline mg::limits::limits_file parse_ok(const std::string& text) {
    auto r = mg::limits::parse_limits_yaml(text, "limits.yaml");
    INFO(text);
    if (!r.ok()) FAIL(r.error_message());
    return std::move(r).value();
}

inline std::string parse_error(const std::string& text) {
    auto r = mg::limits::parse_limits_yaml(text, "limits.yaml");
    INFO(text);
    REQUIRE_FALSE(r.ok());
    return r.error_message();
}

}  // namespace mg::test::limits_parse
