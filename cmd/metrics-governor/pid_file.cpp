#include "pid_file.h"

#include <unistd.h>

#include "logging/log.h"

namespace mg::cmd {

namespace {

// A pid file is a number and a newline; anything much larger is not one we wrote.
constexpr std::uint64_t k_max_pid_file_bytes = 64;

}  // namespace

result<std::unique_ptr<pid_file>> pid_file::write(file_system& fs, std::string path, pid_t pid) {
    std::string content = std::to_string(pid) + "\n";
    if (auto st = write_file_atomic(fs, path, content, 0644); !st) {
        return make_error("-pid-file \"" + path + "\": " + st.error_message());
    }
    return std::unique_ptr<pid_file>(new pid_file(fs, std::move(path), std::move(content)));
}

pid_file::~pid_file() {
    auto now = fs_.read_file(path_, k_max_pid_file_bytes);
    if (!now.ok() || *now != content_) {
        // Gone, or another process wrote its own pid there since: not ours to remove.
        mg::logging::warn(
            "pid file no longer holds this process's pid; left alone",
            {{"path", path_}, {"error", now.ok() ? std::string() : now.error_message()}});
        return;
    }
    if (auto st = fs_.remove(path_); !st) {
        mg::logging::warn("cannot remove the pid file",
                          {{"path", path_}, {"error", st.error_message()}});
    }
}

result<std::unique_ptr<pid_file>> write_pid_file(const std::string& path) {
    if (path.empty()) return std::unique_ptr<pid_file>();
    return pid_file::write(posix_file_system(), path, ::getpid());
}

}  // namespace mg::cmd
