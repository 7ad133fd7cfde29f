// fold_gate: makes a request's folds one step for the overflow store's collect() (issue 21). A
// request's folded series fold one by one (each under its shard's lock); without the gate an
// emission could fall between two of them and say a newest-sample time for which it holds only
// part of that request's increases (the next emission caught up, but rate() over the series read
// the short value at a window's end). Folding requests enter the gate together; collect() closes
// it, waits for the requests inside to leave, takes its snapshot and opens it again.
//
// Closing has priority: a request that comes while collect() waits waits too, so a steady stream
// of overlapping requests cannot keep collect() (and every emission) out, as a reader-preferring
// shared_mutex (glibc's default) would. The gate is held only around folds and a snapshot, never
// around I/O, so a wait is as short as a request's folds.
//
// Thread-safety: enter()/leave() from any thread, close()/open() from one thread at a time (the
// emitter's); a thread must not close while it is inside.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace mg::overflow {

class fold_gate {
  public:
    void enter() {
        std::unique_lock lock(mu_);
        ++entering_;
        cv_.wait(lock, [&] { return !closed_; });
        --entering_;
        ++inside_;
    }
    void leave() {
        std::lock_guard lock(mu_);
        if (--inside_ == 0 && closed_) cv_.notify_all();
    }
    void close() {
        std::unique_lock lock(mu_);
        closed_ = true;
        ++closing_;
        cv_.wait(lock, [&] { return inside_ == 0; });
        --closing_;
    }
    void open() {
        {
            std::lock_guard lock(mu_);
            closed_ = false;
        }
        cv_.notify_all();
    }

    // For tests: how many threads wait to enter, and to close.
    std::size_t entering() const {
        std::lock_guard lock(mu_);
        return entering_;
    }
    std::size_t closing() const {
        std::lock_guard lock(mu_);
        return closing_;
    }

  private:
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::size_t inside_ = 0;
    std::size_t entering_ = 0;
    std::size_t closing_ = 0;
    bool closed_ = false;
};

}  // namespace mg::overflow
