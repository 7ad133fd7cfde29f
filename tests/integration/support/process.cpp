#include "support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <stdexcept>

extern char** environ;

namespace mg::test {

child_process::child_process(std::vector<std::string> argv) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    fd_ = fds[0];
    if (rc != 0) {
        close(fd_);
        throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
    }
}

child_process::~child_process() {
    if (!exit_code_) {
        kill(pid_, SIGKILL);
        int status = 0;
        waitpid(pid_, &status, 0);
    }
    if (fd_ >= 0) close(fd_);
}

bool child_process::read_some(std::chrono::steady_clock::time_point deadline) {
    if (eof_) return false;
    // A deadline already past still takes what is in the pipe now (a zero timeout drains).
    const auto left =
        std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - std::chrono::steady_clock::now())
                                      .count());
    pollfd p{fd_, POLLIN, 0};
    const int r = poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) return true;
    if (r <= 0) return false;
    char buf[8192];
    const ssize_t n = read(fd_, buf, sizeof buf);
    if (n <= 0) {
        eof_ = true;
        return false;
    }
    output_.append(buf, static_cast<std::size_t>(n));
    return true;
}

std::optional<std::string> child_process::wait_for_line(const std::string& needle,
                                                        std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        // Only whole lines are searched, so a line is never matched half-written.
        std::size_t nl;
        while ((nl = output_.find('\n', scanned_)) != std::string::npos) {
            std::string line = output_.substr(scanned_, nl - scanned_);
            scanned_ = nl + 1;
            if (line.find(needle) != std::string::npos) return line;
        }
        if (!read_some(deadline)) {
            if (eof_ || std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        }
    }
}

void child_process::signal(int signo) {
    kill(pid_, signo);
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
    if (exit_code_) return exit_code_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    // The pipe reaches EOF when the child exits (it has no children sharing the pipe).
    while (!eof_) {
        if (!read_some(deadline) && !eof_) return std::nullopt;
    }
    int status = 0;
    if (waitpid(pid_, &status, 0) != pid_) return std::nullopt;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return exit_code_;
}

std::optional<unsigned short> port_from_log_line(const std::string& line) {
    static const std::regex re(R"re((?:"addr":"|addr=)[^" ]*:(\d+))re");
    std::smatch m;
    if (!std::regex_search(line, m, re)) return std::nullopt;
    return static_cast<unsigned short>(std::stoi(m[1].str()));
}

}  // namespace mg::test
