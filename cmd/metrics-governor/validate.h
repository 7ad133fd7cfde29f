// `metrics-governor validate`, beyond the settings that parse_command_line checks: every file the
// daemon loads at startup is loaded here too, with the daemon's own functions, so a configuration
// that validate accepts is not refused at startup, and one it refuses gets the text the daemon
// would print:
//   - the limits file (-limits-config): limits::load_limits_file, as run_daemon and SIGHUP;
//   - the listeners' TLS files: make_listener_access (listener_access.h);
//   - the exporter's endpoint, headers and, for https, its TLS files: exporter::check_settings;
//   - the credentials files (*.bearer_token_file, *.basic_auth.password_file) are read by
//     parse_command_line for both already.
// What validate leaves alone, because the daemon claims it and validate may run beside a running
// daemon: the listen addresses (bound), the state and queue directories (created and locked)
// and the pid file (written).
//
// Plain functions on the calling thread; nothing is kept.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace mg::cmd {

struct startup_check {
    // Each problem as the daemon prints it on stderr at startup, without the final newline;
    // empty when the configuration would start.
    std::vector<std::string> errors;
    // What was loaded, in order, for the OK line: "limits file limits.yaml (2 rules and defaults)".
    std::vector<std::string> checked;
};

// Loads every file of cfg that the daemon loads at startup (see above) and reports each problem.
startup_check check_startup_files(const mg::config::app_config& cfg);

// The line validate prints on success: "configuration OK (file F and flags; limits file L (3
// rules); receiver TLS files)\n", naming the configuration's sources and what was loaded.
std::string validate_ok_text(const mg::config::app_config& cfg, const startup_check& check);

// The command: prints the problems on stderr (exit code 2) or the OK line on stdout (0).
int run_validate(const mg::config::app_config& cfg);

}  // namespace mg::cmd
