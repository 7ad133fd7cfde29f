// `metrics-governor state inspect|verify -bloom-persistence-path DIR [-format text|json]`: an
// operator's read-only look at a bloom state directory without starting the daemon (a volume in a
// debugging container, a backup before a restore). The work is persistence::inspect_state (read
// only, through the given file_system) and its renderers; this file parses the arguments after
// the word `state` and maps the report to an exit code:
//   0  inspect: the index was read (problems, if any, are in the report); verify: no problem
//   1  inspect: no readable state directory or meta.json; verify: any problem (each on a line)
//   2  usage: no -bloom-persistence-path, an unknown -format, command or flag
// Plain functions on the calling thread; nothing is kept.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/file_system.h"

namespace mg::cmd {

enum class state_action { none, inspect, verify };

struct state_args {
    state_action action = state_action::none;
    std::string path;
    bool json = false;
    bool help = false;
    // Each problem names the flag or word and the accepted form; non-empty means exit code 2.
    std::vector<std::string> errors;
};

// The arguments after `state`, flags in the daemon's style (-name value, -name=value, one dash
// or two), in any order around the command word.
state_args parse_state_args(const std::vector<std::string>& args);

std::string state_help_text();

// Runs the command: the report on `out`, usage errors and an unreadable directory on `err`;
// returns the exit code above.
int run_state_command(const std::vector<std::string>& args, file_system& fs, mg::clock& clock,
                      std::ostream& out, std::ostream& err);

}  // namespace mg::cmd
