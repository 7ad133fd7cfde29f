// running_daemon: starts the built metrics-governor binary on free ports (port 0) and learns the
// ports from its startup log, for integration tests. Stops it with SIGTERM on request, SIGKILL in
// the destructor if the test did not.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/process.h"

namespace mg::test {

// Path of the binary under test, set by CMake.
std::string daemon_path();

class running_daemon {
  public:
    // Starts the daemon with `args` after "-stats-addr=127.0.0.1:0 -http-listen=127.0.0.1:0
    // -grpc-listen=127.0.0.1:0 -log-level=debug" and waits until it reports "metrics-governor
    // started". Throws if it does not.
    explicit running_daemon(std::vector<std::string> args = {});
    unsigned short stats_port() const { return stats_port_; }
    unsigned short ingest_port() const { return ingest_port_; }
    // 0 when the gRPC listener is off (-grpc-listen=).
    unsigned short grpc_port() const { return grpc_port_; }
    child_process& process() { return *proc_; }

  private:
    std::unique_ptr<child_process> proc_;
    unsigned short stats_port_ = 0;
    unsigned short ingest_port_ = 0;
    unsigned short grpc_port_ = 0;
};

}  // namespace mg::test
