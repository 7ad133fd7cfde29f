// Structured logging on top of spdlog: one event per line, either a JSON object in the shape the
// bloom-persistence spec shows ({"level":"info","ts":"...","msg":"...","path":"./bloom-state"}) or
// a human-readable text line (ts LEVEL msg key=value ...).
//
// init() installs the process-wide spdlog logger and is called once at startup, before any other
// thread exists. The logging functions are thread-safe (spdlog's mt sink) and cheap when the level
// is disabled: the fields are only rendered when the event is written.
#pragma once

#include <spdlog/common.h>

#include <initializer_list>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace spdlog {
class logger;
namespace sinks {
class sink;
}
}  // namespace spdlog

namespace mg::logging {

enum class format { json, text };

using field = std::pair<std::string_view, nlohmann::ordered_json>;
using fields = std::initializer_list<field>;

// Parses "trace|debug|info|warn|error"; nullopt for anything else.
std::optional<spdlog::level::level_enum> parse_level(std::string_view name);
// Parses "json|text".
std::optional<format> parse_format(std::string_view name);

// Replaces the default logger with one writing to stderr (or to `sink`, for tests).
void init(spdlog::level::level_enum level, format fmt,
          std::shared_ptr<spdlog::sinks::sink> sink = nullptr);

// Renders one event to a line without the trailing newline; exposed for tests.
std::string render(format fmt, spdlog::level::level_enum level, std::string_view msg, fields f);

bool enabled(spdlog::level::level_enum level);
void write(spdlog::level::level_enum level, std::string_view msg, fields f);

inline void trace(std::string_view msg, fields f = {}) {
    write(spdlog::level::trace, msg, f);
}
inline void debug(std::string_view msg, fields f = {}) {
    write(spdlog::level::debug, msg, f);
}
inline void info(std::string_view msg, fields f = {}) {
    write(spdlog::level::info, msg, f);
}
inline void warn(std::string_view msg, fields f = {}) {
    write(spdlog::level::warn, msg, f);
}
inline void error(std::string_view msg, fields f = {}) {
    write(spdlog::level::err, msg, f);
}

}  // namespace mg::logging
