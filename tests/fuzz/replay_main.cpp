// Replay driver: runs a fuzz target's LLVMFuzzerTestOneInput over files without libFuzzer, so the
// ordinary test build (gcc, any sanitizer or none) checks every committed seed and regression
// input. Usage: fuzz_replay_<target> DIR_OR_FILE...
// A directory contributes its regular files (not recursively, in name order); a missing
// directory is skipped (a target may have no regressions yet). Zero inputs in total is a failure,
// so a test pointed at the wrong place cannot pass. A broken property aborts the process.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
    namespace fs = std::filesystem;
    std::vector<fs::path> inputs;
    for (int i = 1; i < argc; ++i) {
        const fs::path p = argv[i];
        std::error_code ec;
        if (fs::is_directory(p, ec)) {
            std::vector<fs::path> files;
            for (const auto& e : fs::directory_iterator(p)) {
                if (e.is_regular_file() && e.path().filename() != "README.md")
                    files.push_back(e.path());
            }
            std::sort(files.begin(), files.end());
            inputs.insert(inputs.end(), files.begin(), files.end());
        } else if (fs::is_regular_file(p, ec)) {
            inputs.push_back(p);
        } else {
            std::printf("skipping %s: not found\n", p.c_str());
        }
    }
    if (inputs.empty()) {
        std::fprintf(stderr, "no inputs found; give corpus or regression directories\n");
        return 1;
    }
    for (const auto& p : inputs) {
        std::ifstream in(p, std::ios::binary);
        if (!in) {
            std::fprintf(stderr, "cannot read %s\n", p.c_str());
            return 1;
        }
        const std::string bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
        std::printf("%s (%zu bytes)\n", p.c_str(), bytes.size());
        std::fflush(stdout);  // the last name printed is the input that crashed
        // Copied to an exact-size buffer, as libFuzzer does, so an overread is caught by ASan.
        std::vector<std::uint8_t> buf(bytes.begin(), bytes.end());
        LLVMFuzzerTestOneInput(buf.empty() ? nullptr : buf.data(), buf.size());
    }
    std::printf("%zu inputs replayed\n", inputs.size());
    return 0;
}
