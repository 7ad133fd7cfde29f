// Helpers shared by the fuzz targets of tests/fuzz (see docs/testing.md, "Fuzzing").
//
// A target checks properties of the code under test beyond "does not crash" (a decoded request
// re-encodes to a body that decodes again, ...). A broken property aborts with a message, which
// libFuzzer reports as a crash and the replay driver as a failed test.
//
// Each process runs one target on one thread, so the per-process temp file needs no locking.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

namespace mg::fuzz {

inline std::string_view as_view(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

[[noreturn]] inline void fail(const char* target, const std::string& what) {
    std::fprintf(stderr, "fuzz target %s: property broken: %s\n", target, what.c_str());
    std::fflush(stderr);
    std::abort();
}

// A file in the temp directory owned by this process, rewritten for each input (for the entry
// points that only take a path). Removed at exit.
class temp_file {
  public:
    explicit temp_file(std::string_view name) {
        const char* dir = std::getenv("TMPDIR");
        path_ = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/mg-fuzz-" +
                std::to_string(::getpid()) + "-" + std::string(name);
    }
    ~temp_file() { std::remove(path_.c_str()); }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;

    const std::string& write(std::string_view bytes) const {
        std::ofstream out(path_, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        out.close();
        if (!out) fail("temp_file", "cannot write " + path_);
        return path_;
    }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

// A compression wrapper with an output bound, as the receiver runs it: `decode(in, bound, out)`
// returns a status; a decoded body never exceeds the bound and survives `encode(out, packed)`
// (which returns whether it worked) and a second decode unchanged.
template <typename Decode, typename Encode>
void check_bounded_codec(const char* target, const char* encoder, std::string_view in,
                         std::size_t bound, Decode&& decode, Encode&& encode) {
    static std::string out;  // reused across requests, as the receiver's is
    if (!decode(in, bound, out)) return;
    if (out.size() > bound) fail(target, "output larger than the bound");
    std::string packed, again;
    if (!encode(out, packed)) fail(target, std::string(encoder) + " failed");
    if (!decode(packed, bound, again) || again != out) {
        fail(target, std::string("round trip through ") + encoder + " changed the data");
    }
}

// A cheap deterministic choice derived from the input, so replays see the same decisions.
inline std::uint64_t input_seed(std::string_view in) {
    std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
    for (unsigned char c : in) h = (h ^ c) * 1099511628211ULL;
    return h;
}

}  // namespace mg::fuzz
