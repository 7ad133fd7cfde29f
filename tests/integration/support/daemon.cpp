#include "support/daemon.h"

#include <stdexcept>

namespace mg::test {

std::string daemon_path() {
    return MG_DAEMON_PATH;
}

running_daemon::running_daemon(std::vector<std::string> args) {
    std::vector<std::string> argv{daemon_path(), "-stats-addr=127.0.0.1:0",
                                  "-http-listen=127.0.0.1:0", "-grpc-listen=127.0.0.1:0",
                                  "-log-level=debug"};
    argv.insert(argv.end(), args.begin(), args.end());
    proc_ = std::make_unique<child_process>(argv);
    if (!proc_->wait_for_line("metrics-governor started"))
        throw std::runtime_error("daemon did not start; output:\n" + proc_->output());
    // The listeners log their bound addresses before "started".
    auto port_of = [this](const std::string& msg) -> unsigned short {
        const auto& out = proc_->output();
        const auto at = out.find(msg);
        if (at == std::string::npos) return 0;
        const auto begin = out.rfind('\n', at);
        const auto end = out.find('\n', at);
        const auto line = out.substr(begin == std::string::npos ? 0 : begin + 1,
                                     end - (begin == std::string::npos ? 0 : begin + 1));
        return port_from_log_line(line).value_or(0);
    };
    stats_port_ = port_of("stats listener started");
    ingest_port_ = port_of("ingest listener started");
    grpc_port_ = port_of("grpc listener started");
    if (stats_port_ == 0)
        throw std::runtime_error("no stats port in the output:\n" + proc_->output());
}

}  // namespace mg::test
