#include "support/daemon.h"

#include <stdexcept>

namespace mg::test {

std::string daemon_path() { return MG_DAEMON_PATH; }

running_daemon::running_daemon(std::vector<std::string> args) {
    std::vector<std::string> argv{daemon_path(), "-stats-addr=127.0.0.1:0", "-log-level=debug"};
    argv.insert(argv.end(), args.begin(), args.end());
    proc_ = std::make_unique<child_process>(argv);
    const auto line = proc_->wait_for_line("stats listener started");
    if (!line) throw std::runtime_error("daemon did not start its stats listener; output:\n" + proc_->output());
    const auto port = port_from_log_line(*line);
    if (!port) throw std::runtime_error("no port in: " + *line);
    stats_port_ = *port;
    if (!proc_->wait_for_line("metrics-governor started"))
        throw std::runtime_error("daemon did not finish starting; output:\n" + proc_->output());
}

}  // namespace mg::test
