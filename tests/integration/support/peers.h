// peers: starting the real programs the tests run against (prometheus, victoria-metrics,
// redis-server, ...): finding them, a command line that dies with the test, and a loopback port
// held for a peer that cannot report the port it bound.
// Functions are thread-safe; a reserved_port is owned by one test.
#pragma once

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace mg::test {

// The program's path (PATH, then the usual bin directories), or empty.
std::string find_program(const std::string& name);

// The peer's path, or a failed test naming the Debian package that provides it.
inline std::string require_program(const std::string& name, const std::string& package) {
    auto path = find_program(name);
    if (path.empty()) {
        FAIL("peer '" << name << "' not found in PATH: install the Debian package '" << package
                      << "' (bash scripts/install-deps.sh --e2e, or make deps-e2e)");
    }
    return path;
}

// The command line that runs a peer. When the test process dies without running destructors
// (ctest's timeout kill, SIGPIPE on a closed output), the peer would live on, orphaned;
// util-linux's setpriv (Debian: essential) makes the kernel SIGKILL it when we die. It execs the
// peer, so the pid is the peer's.
std::vector<std::string> peer_command(const std::string& bin, const std::vector<std::string>& args);

// A port on 127.0.0.1 that nothing listens on, held until release(). The socket is bound with
// SO_REUSEADDR and never listens: a connection to it is refused (exactly "backend down"), the
// kernel hands the port to no other bind(0) or outgoing connection while we hold it, and a peer
// that binds with SO_REUSEADDR too (Go's net package always does, so Prometheus and
// VictoriaMetrics; redis-server does too) can still bind and listen on it. So there is no window
// where another process can take the port. With a peer that did not set SO_REUSEADDR the bind
// would fail and the test would report it (never hang).
class reserved_port {
  public:
    reserved_port();
    ~reserved_port() { release(); }
    reserved_port(const reserved_port&) = delete;
    reserved_port& operator=(const reserved_port&) = delete;
    unsigned short port() const { return port_; }
    void release();

  private:
    int fd_ = -1;
    unsigned short port_ = 0;
};

}  // namespace mg::test
