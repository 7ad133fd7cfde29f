// The config tests' shorthands over the daemon's command-line parser (shared/command_line.h):
// parse({...}) and the single error a bad value must give. One definition for every config test
// file, so they also build as one translation unit (MG_UNITY_TESTS). Header only, Catch2.
#pragma once

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "config/config.h"
#include "shared/command_line.h"

namespace mg::test {

inline config::parse_outcome parse(std::vector<std::string> args) {
    return parse_args(std::move(args));
}

// The only error of `out`, which must exist; a bad value exits with 2.
inline std::string only_error(const config::parse_outcome& out) {
    INFO(all_errors(out));
    REQUIRE(out.errors.size() == 1);
    CHECK(out.exit_code() == 2);
    return out.errors[0];
}

}  // namespace mg::test
