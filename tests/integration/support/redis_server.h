// redis_server: one Debian redis-server started by a test on a reserved loopback port (it cannot
// report a port it bound itself; see peers.h) and killed with the test. Owned by one test.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/peers.h"
#include "support/process.h"

namespace mg::test {

// One redis-server without persistence, on 127.0.0.1 and a reserved port, plus `extra`
// arguments. tls: the port is the TLS port (--tls-port; --port 0), and `extra` must carry the
// certificate settings.
class redis_server {
  public:
    explicit redis_server(std::vector<std::string> extra = {}, bool tls = false);
    unsigned short port() const { return port_; }
    const std::string& output() const { return proc_->output(); }
    child_process& process() { return *proc_; }  // to pause it (SIGSTOP), or read its log

  private:
    reserved_port reserved_;
    unsigned short port_ = 0;
    std::unique_ptr<child_process> proc_;
};

}  // namespace mg::test
