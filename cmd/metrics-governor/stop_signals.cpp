#include "stop_signals.h"

#include <pthread.h>

#include <csignal>

namespace mg::cmd {
namespace {

sigset_t daemon_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    return set;
}

}  // namespace

void block_daemon_signals() {
    const auto set = daemon_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void unblock_daemon_signals() {
    const auto set = daemon_signals();
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

}  // namespace mg::cmd
