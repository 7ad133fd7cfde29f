// fault_file_system: the real file system with switches that make operations fail, for tests of
// what the daemon does on write errors and a full disk (header-only, shared by unit tests).
//
// `disk_budget` simulates a small disk: an append past it writes what still fits (as write(2)
// does) and fails with "No space left on device"; truncating a file gives its bytes back;
// available_bytes() reports what is left. The other switches fail every call of one kind whose
// path contains the given substring (empty substring: switch off); fail_create also covers
// open_appendable (both open a file for writing). hold_syncs() makes every sync of a matching
// path wait until release_syncs() (a disk that stalls), counting the syncs that waited;
// await_held_syncs() lets a test wait until the disk stalls.
// Thread-safety: the switches are read and set under a mutex; set them from the test thread. A
// file's sync may run while another thread appends to it, as the real one allows.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/file_system.h"

namespace mg::test {

class fault_file_system final : public mg::file_system {
  public:
    explicit fault_file_system(mg::file_system& real = mg::posix_file_system()) : real_(real) {}

    // Fails creations of matching paths after letting the first `skip` of them through.
    void fail_create(std::string substring, int skip = 0) {
        set(create_, std::move(substring));
        std::lock_guard lock(mu_);
        create_skip_ = skip;
    }
    void fail_append(std::string substring) { set(append_, std::move(substring)); }
    void fail_sync(std::string substring) { set(sync_, std::move(substring)); }
    void fail_rename(std::string substring) { set(rename_, std::move(substring)); }
    void fail_read(std::string substring) { set(read_, std::move(substring)); }
    void fail_truncate(std::string substring) { set(truncate_, std::move(substring)); }
    void fail_lock(std::string substring) { set(lock_, std::move(substring)); }
    // nullopt: the real disk. A number: the bytes appends may still write.
    void disk_budget(std::optional<std::uint64_t> bytes) {
        std::lock_guard lock(mu_);
        budget_ = bytes;
    }
    void hold_syncs(std::string substring) { set(hold_, std::move(substring)); }
    void release_syncs() {
        {
            std::lock_guard lock(mu_);
            hold_.clear();
        }
        released_.notify_all();
    }
    int held_syncs() const {
        std::lock_guard lock(mu_);
        return held_;
    }
    // Waits (for real, at most `timeout`) until n syncs have stalled; false at the timeout.
    bool await_held_syncs(int n,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30)) const {
        std::unique_lock lock(mu_);
        return held_cv_.wait_for(lock, timeout, [&] { return held_ >= n; });
    }
    void clear() {
        std::lock_guard lock(mu_);
        create_.clear(), append_.clear(), sync_.clear(), rename_.clear(), read_.clear();
        truncate_.clear(), lock_.clear();
        budget_.reset();
    }
    std::uint64_t appended_bytes() const {
        std::lock_guard lock(mu_);
        return appended_;
    }

    mg::result<std::unique_ptr<mg::writable_file>> create_file(const std::string& path,
                                                               unsigned mode) override {
        if (hit(create_, path)) {
            std::lock_guard lock(mu_);
            if (create_skip_ > 0) {
                --create_skip_;
            } else {
                return mg::make_error("create " + path + ": Input/output error (injected)");
            }
        }
        auto f = real_.create_file(path, mode);
        if (!f) return f;
        return std::unique_ptr<mg::writable_file>(
            std::make_unique<file>(*this, std::move(*f), path, 0));
    }
    mg::result<std::unique_ptr<mg::writable_file>> open_appendable(
        const std::string& path) override {
        if (hit(create_, path))
            return mg::make_error("open " + path + ": Input/output error (injected)");
        auto size = real_.file_size(path);
        auto f = real_.open_appendable(path);
        if (!f) return f;
        if (!size) return mg::make_error(size.error_message());
        return std::unique_ptr<mg::writable_file>(
            std::make_unique<file>(*this, std::move(*f), path, *size));
    }
    mg::result<std::string> read_file(const std::string& path, std::uint64_t max_bytes) override {
        if (hit(read_, path))
            return mg::make_error("read " + path + ": Input/output error (injected)");
        return real_.read_file(path, max_bytes);
    }
    mg::status rename(const std::string& from, const std::string& to) override {
        if (hit(rename_, to))
            return mg::make_error("rename " + from + ": Input/output error (injected)");
        return real_.rename(from, to);
    }
    mg::status remove(const std::string& path) override { return real_.remove(path); }
    mg::status create_dirs(const std::string& path, unsigned mode) override {
        return real_.create_dirs(path, mode);
    }
    mg::status sync_dir(const std::string& path) override { return real_.sync_dir(path); }
    mg::result<std::vector<mg::dir_entry>> list_dir(const std::string& path) override {
        return real_.list_dir(path);
    }
    mg::result<std::uint64_t> file_size(const std::string& path) override {
        return real_.file_size(path);
    }
    mg::result<std::uint64_t> available_bytes(const std::string& path) override {
        {
            std::lock_guard lock(mu_);
            if (budget_) return *budget_;
        }
        return real_.available_bytes(path);
    }
    mg::result<std::unique_ptr<mg::file_lock>> lock_file(const std::string& path) override {
        if (hit(lock_, path))
            return mg::make_error("lock " + path + ": Input/output error (injected)");
        return real_.lock_file(path);
    }

  private:
    class file final : public mg::writable_file {
      public:
        file(fault_file_system& fs, std::unique_ptr<mg::writable_file> real, std::string path,
             std::uint64_t size)
            : fs_(fs), real_(std::move(real)), path_(std::move(path)), size_(size) {}
        mg::status append(std::string_view data) override {
            if (fs_.hit(fs_.append_, path_))
                return mg::make_error("write " + path_ + ": Input/output error (injected)");
            bool full = false;
            {
                std::lock_guard lock(fs_.mu_);
                if (fs_.budget_ && data.size() > *fs_.budget_) {
                    data = data.substr(0, static_cast<std::size_t>(*fs_.budget_));
                    full = true;
                }
                if (fs_.budget_) *fs_.budget_ -= data.size();
                fs_.appended_ += data.size();
            }
            if (auto st = real_->append(data); !st) return st;
            size_ += data.size();
            if (full)
                return mg::make_error("write " + path_ + ": No space left on device (injected)");
            return {};
        }
        mg::status sync() override {
            if (fs_.hit(fs_.sync_, path_))
                return mg::make_error("fdatasync " + path_ + ": Input/output error (injected)");
            {
                std::unique_lock lock(fs_.mu_);
                if (!fs_.hold_.empty() && path_.find(fs_.hold_) != std::string::npos) {
                    ++fs_.held_;
                    fs_.held_cv_.notify_all();
                    fs_.released_.wait(lock, [this] { return fs_.hold_.empty(); });
                }
            }
            return real_->sync();
        }
        mg::status truncate(std::uint64_t size) override {
            if (fs_.hit(fs_.truncate_, path_))
                return mg::make_error("truncate " + path_ + ": Input/output error (injected)");
            if (auto st = real_->truncate(size); !st) return st;
            if (size < size_) {
                std::lock_guard lock(fs_.mu_);
                if (fs_.budget_) *fs_.budget_ += size_ - size;
            }
            size_ = size;
            return {};
        }
        mg::status close() override { return real_->close(); }

      private:
        fault_file_system& fs_;
        std::unique_ptr<mg::writable_file> real_;
        std::string path_;
        std::uint64_t size_;  // append/truncate only (never concurrent with each other)
    };

    void set(std::string& which, std::string substring) {
        std::lock_guard lock(mu_);
        which = std::move(substring);
    }
    bool hit(const std::string& which, const std::string& path) const {
        std::lock_guard lock(mu_);
        return !which.empty() && path.find(which) != std::string::npos;
    }

    mg::file_system& real_;
    mutable std::mutex mu_;
    std::string create_, append_, sync_, rename_, read_, truncate_, lock_, hold_;
    std::condition_variable released_;
    mutable std::condition_variable held_cv_;  // a sync stalled
    int held_ = 0;
    int create_skip_ = 0;
    std::optional<std::uint64_t> budget_;
    std::uint64_t appended_ = 0;
};

}  // namespace mg::test
