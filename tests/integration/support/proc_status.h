// proc_status: a process's memory as /proc/PID/status reports it (VmRSS, VmHWM), its mappings
// (/proc/PID/maps), and the allowance the memory bounds of the hostile-client tests widen by in
// sanitizer builds.
// Header-only test code; reads /proc of the calling thread's choosing, no state.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace mg::test {

// Sanitizer builds (make sanitize-test) add shadow memory, redzones and ASan's quarantine of
// freed blocks to every allocation (TSan measured ~38KiB per idle connection against ~7KiB):
// the memory bounds get a wider allowance there, still far under what an unbounded decoder
// (512MiB) or per-connection buffer would cost.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr std::uint64_t k_memory_slack = 4;
#else
inline constexpr std::uint64_t k_memory_slack = 1;
#endif

// The value in KiB of one "Key:   123 kB" line of /proc/PID/status; throws when it is missing.
inline std::uint64_t proc_status_kib(pid_t pid, const std::string& key) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(key + ":", 0) == 0) return std::stoull(line.substr(key.size() + 1));
    }
    throw std::runtime_error("no " + key + " in /proc/" + std::to_string(pid) + "/status");
}

// The text of /proc/PID/maps: the files the process has mapped (libraries, plugins).
inline std::string proc_maps(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace mg::test
