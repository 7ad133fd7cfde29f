// A redis-server for one test (redis_server.h).
#include "support/redis_server.h"

#include <catch2/catch.hpp>
#include <chrono>

namespace mg::test {

using namespace std::chrono_literals;

redis_server::redis_server(std::vector<std::string> extra, bool tls) {
    const auto bin = require_program("redis-server", "redis-server");
    port_ = reserved_.port();
    std::vector<std::string> args{"--bind", "127.0.0.1", "--save", "", "--appendonly", "no"};
    if (tls) {
        args.insert(args.end(), {"--port", "0", "--tls-port", std::to_string(port_)});
    } else {
        args.insert(args.end(), {"--port", std::to_string(port_)});
    }
    args.insert(args.end(), extra.begin(), extra.end());
    proc_ = std::make_unique<child_process>(peer_command(bin, args));
    if (!proc_->wait_for_line("Ready to accept connections", 20s))
        FAIL("redis-server did not start; output:\n" << proc_->output());
}

}  // namespace mg::test
