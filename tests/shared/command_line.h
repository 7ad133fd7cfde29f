// The daemon's command-line parser called as main() calls it, for the tests of the configuration
// and of its wiring: argv[0] added, the arguments as the shell would pass them. Header only;
// the test links mg_config.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace mg::test {

inline config::parse_outcome parse_args(std::vector<std::string> args) {
    args.insert(args.begin(), "metrics-governor");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    return config::parse_command_line(static_cast<int>(argv.size()), argv.data());
}

// Every error of a parse, a line each (for INFO).
inline std::string all_errors(const config::parse_outcome& out) {
    std::string text;
    for (const auto& e : out.errors) text += e + "\n";
    return text;
}

}  // namespace mg::test
