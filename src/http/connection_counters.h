// connection_counters: why an HTTP listener closed connections on its own (timeouts, size
// limits, malformed requests, the connection limit), and how many connections it holds open.
// The server counts here; telemetry turns the numbers into metrics at scrape time, so the http
// module needs no metrics library. One instance may be shared by several listeners of one kind
// (both ingest listeners count as "ingest").
//
// Threading: lock-free atomics, written from any I/O thread, read from the scrape thread.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mg::http {

enum class close_reason : std::size_t {
    read_timeout,       // a started request was not complete within read_timeout
    write_timeout,      // the client did not take the response within read_timeout
    idle_timeout,       // no new request within idle_timeout (normal keep-alive housekeeping)
    header_too_large,   // answered 431 before routing
    body_too_large,     // answered 413 before routing (Content-Length or streamed body)
    malformed_request,  // answered 400 before routing: not parseable as HTTP/1.1
    max_connections,    // closed at accept: the listener held max_connections and none could go
    inflight_bytes,  // answered 429 before its body was read: the in-flight byte budget was used up
    evicted,         // idle or slowest reader, closed at max_connections to make room for a new one
};
inline constexpr std::size_t k_close_reasons = 9;

// "read_timeout", ...: the metric's reason label.
std::string_view close_reason_name(close_reason r);

class connection_counters {
  public:
    void add(close_reason r) {
        closed_[static_cast<std::size_t>(r)].fetch_add(1, std::memory_order_relaxed);
    }
    std::uint64_t closed(close_reason r) const {
        return closed_[static_cast<std::size_t>(r)].load(std::memory_order_relaxed);
    }

    void opened() { open_.fetch_add(1, std::memory_order_relaxed); }
    void gone() { open_.fetch_sub(1, std::memory_order_relaxed); }
    std::uint64_t open() const { return open_.load(std::memory_order_relaxed); }

  private:
    std::array<std::atomic<std::uint64_t>, k_close_reasons> closed_{};
    std::atomic<std::uint64_t> open_{0};
};

}  // namespace mg::http
