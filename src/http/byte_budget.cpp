// The in-flight byte budget and its default (see byte_budget.h).
#include "http/byte_budget.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>

namespace mg::http {

bool byte_budget::try_acquire(std::uint64_t bytes) {
    auto held = held_.load(std::memory_order_relaxed);
    for (;;) {
        // Over the limit only when nothing else is held: one huge request can always go alone.
        if (held != 0 && held + bytes > limit_) return false;
        if (held_.compare_exchange_weak(held, held + bytes, std::memory_order_acq_rel)) break;
    }
    const auto now = held + bytes;
    auto hw = high_water_.load(std::memory_order_relaxed);
    while (now > hw && !high_water_.compare_exchange_weak(hw, now, std::memory_order_relaxed)) {
    }
    return true;
}

void byte_budget::release(std::uint64_t bytes) {
    held_.fetch_sub(bytes, std::memory_order_acq_rel);
}

std::uint64_t byte_budget::take_high_water() {
    return high_water_.exchange(held_.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

std::uint64_t inflight_budget_for(std::uint64_t memory) {
    constexpr std::uint64_t k_min = 128ull << 20;
    constexpr std::uint64_t k_max = 1ull << 30;
    return std::clamp(memory / 4, k_min, k_max);
}

namespace {

std::optional<std::uint64_t> read_limit(const char* path) {
    std::ifstream in(path);
    std::string text;
    if (!(in >> text) || text == "max") return std::nullopt;
    try {
        const auto v = std::stoull(text);
        // cgroup v1 says "no limit" with a huge number (the page-rounded LONG_MAX).
        if (v == 0 || v >= (1ull << 60)) return std::nullopt;
        return v;
    } catch (...) {
        return std::nullopt;
    }
}

}  // namespace

std::optional<std::uint64_t> memory_available_to_process() {
    if (auto v = read_limit("/sys/fs/cgroup/memory.max")) return v;
    if (auto v = read_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes")) return v;
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    const long page = ::sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || page <= 0) return std::nullopt;
    return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
}

}  // namespace mg::http
