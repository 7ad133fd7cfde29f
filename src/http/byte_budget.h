// byte_budget: the bytes of request bodies the ingest listeners hold at once (being read, then
// decoded and decided), so memory under many concurrent large requests is bounded by the budget
// rather than by connections x body size. A request asks for its Content-Length (the body limit
// when it is chunked) after its header and before its body is read; when the budget cannot give
// it, it is answered 429 with Retry-After without reading the body. One request larger than the
// whole budget is let through when nothing else is held, so no request is refused forever.
//
// Shared by every ingest listener. Threading: lock-free; acquire/release from any I/O thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

namespace mg::http {

class byte_budget {
  public:
    explicit byte_budget(std::uint64_t limit) : limit_(limit) {}
    bool try_acquire(std::uint64_t bytes);
    void release(std::uint64_t bytes);
    std::uint64_t held() const { return held_.load(std::memory_order_relaxed); }
    std::uint64_t limit() const { return limit_; }
    // The most held at once since the previous call (to decide when to give memory back).
    std::uint64_t take_high_water();

  private:
    const std::uint64_t limit_;
    std::atomic<std::uint64_t> held_{0};
    std::atomic<std::uint64_t> high_water_{0};
};

// The default budget for a process allowed `memory` bytes: a quarter of it, within 128 MiB and
// 1 GiB (room for a 64 MiB request at the low end; a bound well under a GiB container's memory).
std::uint64_t inflight_budget_for(std::uint64_t memory);
// The memory this process may use: the cgroup limit (v2 memory.max, v1 limit_in_bytes) when one
// is set, else physical memory; nullopt when neither can be read.
std::optional<std::uint64_t> memory_available_to_process();

}  // namespace mg::http
