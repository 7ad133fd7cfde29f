// The helpers of the checks between settings, shared by config.cpp (the listeners' access, the
// exporter) and cluster_settings.cpp: messages that name a key with its flag, and the secret and
// TLS files read or opened at parse time. Pure functions but for reading those files; run once at
// startup on the calling thread.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "config/settings.h"

namespace mg::config::detail {

bool reported(const std::vector<std::string>& errors, std::string_view yaml_path) {
    const setting* s = find_by_yaml_path(yaml_path);
    for (const auto& e : errors) {
        if (e.rfind(std::string(yaml_path) + ":", 0) == 0) return true;
        if (s != nullptr && e.rfind(s->info.flag + ":", 0) == 0) return true;
    }
    return false;
}

std::string key_and_flag(const std::string& yaml_path) {
    const setting* s = find_by_yaml_path(yaml_path);
    return s == nullptr ? yaml_path : yaml_path + " (" + s->info.flag + ")";
}

void read_secret_file(const std::string& key, const std::string& path, std::string& into,
                      std::vector<std::string>& errors) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        errors.push_back(key_and_flag(key) + ": cannot read \"" + path +
                         "\": " + std::strerror(errno));
        return;
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string text = buffer.str();
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (text.empty()) {
        errors.push_back(key_and_flag(key) + ": \"" + path +
                         "\" is empty; want a file holding the secret");
        return;
    }
    into = std::move(text);
}

void check_readable(const std::string& key, const std::string& path,
                    std::vector<std::string>& errors) {
    if (path.empty()) return;
    std::ifstream in(path, std::ios::binary);
    if (!in)
        errors.push_back(key_and_flag(key) + ": cannot read \"" + path +
                         "\": " + std::strerror(errno));
}

}  // namespace mg::config::detail
