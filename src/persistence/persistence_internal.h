// persistence_internal: small helpers shared by bloom_persistence's files (save, restore,
// cleanup): the log component, durations and percentages. Internal to the module; header only.
#pragma once

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/units.h"

namespace mg::persistence::detail {
using steady = std::chrono::steady_clock;
using wall = std::chrono::system_clock;

// A save pass hands the store this much file data at a time: bounded memory, and the index is
// written once per chunk rather than once per tracker.
constexpr std::uint64_t k_chunk_bytes = 32ull << 20;

inline std::int64_t ms_since(const mg::clock& clock, steady::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock.monotonic_now() - start)
        .count();
}

// p% of x without overflow, and exact for small x.
inline std::uint64_t percent_of(std::uint64_t x, std::uint64_t p) {
    return x / 100 * p + x % 100 * p / 100;
}

// Every warning and error of this module carries it, so the spec's troubleshooting advice
// (grep "bloom persistence" logs) finds each failure, whatever its message says.
constexpr std::string_view k_component = "bloom persistence";

// A last use this much newer than the index's moves the entry (the tracker's own resolution).
constexpr auto k_stamp_resolution = std::chrono::seconds(1);

inline std::string age_text(std::chrono::nanoseconds age) {
    // Whole seconds: "5m", "1h5m" as the spec's log lines show them.
    return format_duration(std::chrono::duration_cast<std::chrono::seconds>(
        std::max(age, std::chrono::nanoseconds{0})));
}

// Background work yields the CPU to ingest: on Linux nice is per thread, so this lowers only the
// calling thread. A failure (e.g. a seccomp profile) is harmless and ignored.
inline void lower_thread_priority() {
    (void)setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
}

}  // namespace mg::persistence::detail
