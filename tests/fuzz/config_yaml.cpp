// Fuzz target: the main configuration file, loaded as the daemon loads it (`validate -config
// FILE`: parse, overlay on the defaults, per-setting and cross-setting checks). The entry point
// takes a path, so the input goes to a per-process temp file. A valid configuration printed by
// -show-effective-config must load back to the same configuration.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.h"
#include "fuzz_util.h"

namespace {

mg::config::parse_outcome load(const std::string& path, bool show) {
    const char* argv[] = {"metrics-governor", show ? "-show-effective-config" : "validate",
                          "-config", path.c_str()};
    return mg::config::parse_command_line(4, argv);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    constexpr const char* target = "config_yaml";
    static const mg::fuzz::temp_file file("config.yaml");
    const auto first = load(file.write(mg::fuzz::as_view(data, size)), true);
    if (first.exit_code() != 0) {
        for (const auto& e : first.errors) {
            if (e.empty()) mg::fuzz::fail(target, "an empty error message");
        }
        return 0;
    }
    // Secrets print as "<redacted>", which the loader refuses on purpose (a config saved from
    // -show-effective-config must not run with the placeholder as its password): put a secret
    // back where each placeholder stands, as an operator would, and it must print the same again.
    std::string reloaded = first.output;
    const std::string placeholder = "\"<redacted>\"";
    for (auto at = reloaded.find(placeholder); at != std::string::npos;
         at = reloaded.find(placeholder, at))
        reloaded.replace(at, placeholder.size(), "\"fuzz-secret\"");
    const auto second = load(file.write(reloaded), true);
    if (second.exit_code() != 0) {
        mg::fuzz::fail(target,
                       "-show-effective-config output does not load: " + second.errors.front());
    }
    if (second.output != first.output) {
        mg::fuzz::fail(target, "-show-effective-config output loads to another configuration");
    }
    return 0;
}
