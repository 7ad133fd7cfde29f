// delay_forwarder: the tests' delay proxy (tests/integration/support/delay_proxy.h) as a program,
// for bench/latency_prometheus.sh: forwards 127.0.0.1:0 to 127.0.0.1:TARGET, adding ONE_WAY_MS
// in each direction, until SIGTERM or SIGINT.
//
// Usage: delay_forwarder TARGET_PORT ONE_WAY_MS
// Prints "listening 127.0.0.1:PORT" once it accepts. Single-threaded main; the proxy owns its
// threads.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "support/delay_proxy.h"

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: delay_forwarder TARGET_PORT ONE_WAY_MS\n");
        return 2;
    }
    const long target = std::strtol(argv[1], nullptr, 10);
    const long one_way = std::strtol(argv[2], nullptr, 10);
    if (target <= 0 || target > 65535 || one_way < 0) {
        std::fprintf(stderr, "delay_forwarder: TARGET_PORT must be 1..65535 and ONE_WAY_MS >= 0\n");
        return 2;
    }
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    // Blocked before the proxy starts its threads, so only sigwait below receives them.
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);
    mg::test::delay_proxy proxy(static_cast<unsigned short>(target),
                                std::chrono::milliseconds(one_way));
    std::printf("listening 127.0.0.1:%u\n", static_cast<unsigned>(proxy.port()));
    std::fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    return 0;
}
