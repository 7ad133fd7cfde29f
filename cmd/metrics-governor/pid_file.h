// The pid file (-pid-file): the daemon's process id in a file, so an operator or a script signals
// this instance (`kill -HUP "$(cat metrics-governor.pid)"`) where pidof would signal every
// metrics-governor on the host.
//
// The file is replaced atomically (a temporary file beside it, then rename), so a reader sees the
// previous content or the whole new number, never a part. It is not a lock: a stale file from a
// killed daemon is simply overwritten, and a second daemon given the same path would overwrite it
// too (it normally fails before, binding the same ports).
//
// Ownership: the pid_file object stands for the written file and removes it when destroyed, only
// if the file still holds this pid (a newer daemon may have taken the path over). One thread uses
// it; the daemon creates it on the main thread and lets it go when run_daemon returns.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "common/file_system.h"
#include "common/result.h"

namespace mg::cmd {

class pid_file {
  public:
    // Writes "PID\n" to `path` (mode 0644). On failure nothing is left behind and the message
    // names the path and the system's reason; the daemon then stops with exit code 1.
    static result<std::unique_ptr<pid_file>> write(file_system& fs, std::string path, pid_t pid);
    ~pid_file();
    pid_file(const pid_file&) = delete;
    pid_file& operator=(const pid_file&) = delete;

    const std::string& path() const { return path_; }

  private:
    pid_file(file_system& fs, std::string path, std::string content)
        : fs_(fs), path_(std::move(path)), content_(std::move(content)) {}

    file_system& fs_;
    std::string path_;
    std::string content_;  // what was written, to recognise the file as ours at removal
};

// The daemon's call: no file (nullptr) when `path` is empty, else pid_file::write with the real
// file system and this process's pid.
result<std::unique_ptr<pid_file>> write_pid_file(const std::string& path);

}  // namespace mg::cmd
