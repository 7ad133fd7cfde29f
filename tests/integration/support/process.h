// child_process: runs a program for an integration test with its stdout and stderr captured
// through one pipe, so a test can wait for a log line (the daemon prints the port it bound), send
// signals and wait for the exit. Waits are driven by poll() on the pipe, never by sleeping.
// Not thread-safe; owned by one test. The destructor kills a child that is still running.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "shared/temp_dir.h"

namespace mg::test {

class child_process {
  public:
    explicit child_process(std::vector<std::string> argv);
    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    // Reads output until a line contains `needle`; returns that line, or nullopt at the timeout
    // or when the child closed its output first.
    std::optional<std::string> wait_for_line(
        const std::string& needle, std::chrono::milliseconds timeout = std::chrono::seconds(20));
    void signal(int signo);
    // Reads until the child exits; returns its exit code (128+N for signal N), or nullopt at the
    // timeout (the child keeps running).
    std::optional<int> wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(20));
    // Everything the child printed so far.
    const std::string& output() const { return output_; }
    pid_t pid() const { return pid_; }

  private:
    // Reads what is available within `timeout`; false on EOF or timeout.
    bool read_some(std::chrono::steady_clock::time_point deadline);

    pid_t pid_ = -1;
    int fd_ = -1;
    bool eof_ = false;
    std::optional<int> exit_code_;
    std::string output_;
    std::size_t scanned_ = 0;  // output_ before this offset was already searched line by line
};

// Extracts "host:port" -> port from a daemon log line with "addr":"127.0.0.1:43123".
std::optional<unsigned short> port_from_log_line(const std::string& line);

}  // namespace mg::test
