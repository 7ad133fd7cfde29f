// delay_proxy: a TCP forwarder on 127.0.0.1 (port 0) that delays every byte by a fixed one-way
// latency in each direction, so a backend on loopback looks as far away as one in another zone
// or region (tests of the write path against a distant backend; no tc/netem needed). Bytes keep
// their order; throughput is not limited, only latency added.
//
// Threads: one acceptor, and per connection two threads per direction (a reader that stamps each
// chunk with its due time, a writer that sends it when due). The destructor closes everything and
// joins. Thread-safe to construct and destroy from the test thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace mg::test {

class delay_proxy {
  public:
    // Forwards to 127.0.0.1:target_port, adding `one_way` to each direction.
    delay_proxy(unsigned short target_port, std::chrono::milliseconds one_way);
    ~delay_proxy();
    delay_proxy(const delay_proxy&) = delete;
    delay_proxy& operator=(const delay_proxy&) = delete;

    unsigned short port() const { return port_; }
    std::size_t connections() const { return connections_.load(); }

  private:
    struct pipe;
    void accept_loop();

    unsigned short target_port_;
    std::chrono::milliseconds one_way_;
    int listen_fd_ = -1;
    unsigned short port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<std::size_t> connections_{0};
    std::thread acceptor_;
    std::mutex mu_;
    std::vector<std::shared_ptr<pipe>> pipes_;
};

}  // namespace mg::test
