// The POSIX file system and the atomic replace built on the interface (see file_system.h).
#include "common/file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mg {
namespace {

error sys_error(std::string_view op, const std::string& path, int err) {
    return make_error(std::string(op) + " " + path + ": " + std::strerror(err));
}

class posix_writable_file final : public writable_file {
  public:
    posix_writable_file(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
    ~posix_writable_file() override {
        if (fd_ >= 0) ::close(fd_);
    }

    status append(std::string_view data) override {
        while (!data.empty()) {
            const ssize_t n = ::write(fd_, data.data(), data.size());
            if (n < 0) {
                if (errno == EINTR) continue;
                return sys_error("write", path_, errno);
            }
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return {};
    }
    status sync() override {
        if (::fdatasync(fd_) != 0) return sys_error("fdatasync", path_, errno);
        return {};
    }
    status truncate(std::uint64_t size) override {
        // ftruncate leaves the file offset where it was: without the seek the next write would
        // leave a hole of zeros where the cut bytes were.
        if (::ftruncate(fd_, static_cast<off_t>(size)) != 0)
            return sys_error("truncate", path_, errno);
        if (::lseek(fd_, static_cast<off_t>(size), SEEK_SET) < 0)
            return sys_error("seek", path_, errno);
        return {};
    }
    status close() override {
        if (fd_ < 0) return {};
        const int fd = fd_;
        fd_ = -1;
        if (::close(fd) != 0) return sys_error("close", path_, errno);
        return {};
    }

  private:
    int fd_;
    std::string path_;
};

class posix_file_lock final : public file_lock {
  public:
    explicit posix_file_lock(int fd) : fd_(fd) {}
    ~posix_file_lock() override { ::close(fd_); }  // releases the flock

  private:
    int fd_;
};

class posix_fs final : public file_system {
  public:
    result<std::unique_ptr<writable_file>> create_file(const std::string& path,
                                                       unsigned mode) override {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                              static_cast<mode_t>(mode));
        if (fd < 0) return sys_error("create", path, errno);
        if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) {
            const int err = errno;
            ::close(fd);
            return sys_error("chmod", path, err);
        }
        return std::unique_ptr<writable_file>(std::make_unique<posix_writable_file>(fd, path));
    }

    result<std::unique_ptr<writable_file>> open_appendable(const std::string& path) override {
        // Not O_APPEND: truncate() repositions the offset itself.
        const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0) return sys_error("open", path, errno);
        if (::lseek(fd, 0, SEEK_END) < 0) {
            const int err = errno;
            ::close(fd);
            return sys_error("seek", path, err);
        }
        return std::unique_ptr<writable_file>(std::make_unique<posix_writable_file>(fd, path));
    }

    result<std::string> read_file(const std::string& path, std::uint64_t max_bytes) override {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return sys_error("open", path, errno);
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            const int err = errno;
            ::close(fd);
            return sys_error("stat", path, err);
        }
        if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
            ::close(fd);
            return make_error("read " + path + ": " + std::to_string(st.st_size) +
                              " bytes, over the limit of " + std::to_string(max_bytes));
        }
        std::string out(static_cast<std::size_t>(st.st_size), '\0');
        std::size_t got = 0;
        while (got < out.size()) {
            const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                const int err = errno;
                ::close(fd);
                return sys_error("read", path, err);
            }
            if (n == 0) break;  // shrank meanwhile
            got += static_cast<std::size_t>(n);
        }
        ::close(fd);
        out.resize(got);
        return out;
    }

    status rename(const std::string& from, const std::string& to) override {
        if (::rename(from.c_str(), to.c_str()) != 0)
            return sys_error("rename", from + " to " + to, errno);
        return {};
    }

    status remove(const std::string& path) override {
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) return sys_error("remove", path, errno);
        return {};
    }

    status create_dirs(const std::string& path, unsigned mode) override {
        if (path.empty()) return make_error("create directory: empty path");
        // Parents first, each created with the same mode (umask applies).
        for (std::size_t pos = path.find('/', 1); pos != std::string::npos;
             pos = path.find('/', pos + 1)) {
            const std::string part = path.substr(0, pos);
            if (::mkdir(part.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST)
                return sys_error("create directory", part, errno);
        }
        if (::mkdir(path.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST)
            return sys_error("create directory", path, errno);
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) return sys_error("stat", path, errno);
        if (!S_ISDIR(st.st_mode))
            return make_error("create directory " + path + ": exists and is not a directory");
        if ((st.st_mode & 07777) != mode && ::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0)
            return sys_error("chmod", path, errno);
        return {};
    }

    status sync_dir(const std::string& path) override {
        const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) return sys_error("open directory", path, errno);
        const bool ok = ::fsync(fd) == 0;
        const int err = errno;
        ::close(fd);
        if (!ok) return sys_error("fsync directory", path, err);
        return {};
    }

    result<std::vector<dir_entry>> list_dir(const std::string& path) override {
        DIR* d = ::opendir(path.c_str());
        if (d == nullptr) return sys_error("list", path, errno);
        std::vector<dir_entry> out;
        while (const dirent* e = ::readdir(d)) {
            const std::string_view name = e->d_name;
            if (name == "." || name == "..") continue;
            struct stat st {};
            const std::string full = path + "/" + std::string(name);
            if (::lstat(full.c_str(), &st) != 0) continue;  // removed meanwhile
            dir_entry de;
            de.name = std::string(name);
            de.is_dir = S_ISDIR(st.st_mode);
            if (S_ISREG(st.st_mode)) de.size = static_cast<std::uint64_t>(st.st_size);
            out.push_back(std::move(de));
        }
        ::closedir(d);
        return out;
    }

    result<std::uint64_t> file_size(const std::string& path) override {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) return sys_error("stat", path, errno);
        return static_cast<std::uint64_t>(st.st_size);
    }

    result<std::uint64_t> available_bytes(const std::string& path) override {
        struct statvfs sv {};
        if (::statvfs(path.c_str(), &sv) != 0) return sys_error("statvfs", path, errno);
        return static_cast<std::uint64_t>(sv.f_bavail) * static_cast<std::uint64_t>(sv.f_frsize);
    }

    result<std::unique_ptr<file_lock>> lock_file(const std::string& path) override {
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) return sys_error("open", path, errno);
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            const int err = errno;
            ::close(fd);
            if (err == EWOULDBLOCK) return make_error("lock " + path + ": held by another process");
            return sys_error("lock", path, err);
        }
        return std::unique_ptr<file_lock>(std::make_unique<posix_file_lock>(fd));
    }
};

}  // namespace

file_system& posix_file_system() {
    static posix_fs fs;
    return fs;
}

std::string parent_dir(const std::string& path) {
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

status write_file_atomic(file_system& fs, const std::string& path, std::string_view data,
                         unsigned mode, bool sync_parent) {
    const std::string tmp = path + ".tmp";
    auto file = fs.create_file(tmp, mode);
    if (!file) return make_error(file.error_message());
    status st = (*file)->append(data);
    if (st) st = (*file)->sync();
    if (status closed = (*file)->close(); st && !closed) st = closed;
    if (st) st = fs.rename(tmp, path);
    if (!st) {
        (void)fs.remove(tmp);
        return st;
    }
    return sync_parent ? fs.sync_dir(parent_dir(path)) : status{};
}

}  // namespace mg
