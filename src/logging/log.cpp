#include "logging/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <ctime>

namespace mg::logging {
namespace {

std::atomic<format> g_format{format::json};

std::string_view level_name(spdlog::level::level_enum level) {
    switch (level) {
        case spdlog::level::trace:
            return "trace";
        case spdlog::level::debug:
            return "debug";
        case spdlog::level::info:
            return "info";
        case spdlog::level::warn:
            return "warn";
        case spdlog::level::err:
            return "error";
        case spdlog::level::critical:
            return "fatal";
        default:
            return "off";
    }
}

// RFC 3339 in UTC with milliseconds, the form log shippers parse without configuration.
std::string timestamp_now() {
    const auto now = std::chrono::system_clock::now();
    const auto secs = std::chrono::system_clock::to_time_t(now);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms));
    return buf;
}

}  // namespace

std::optional<spdlog::level::level_enum> parse_level(std::string_view name) {
    if (name == "trace") return spdlog::level::trace;
    if (name == "debug") return spdlog::level::debug;
    if (name == "info") return spdlog::level::info;
    if (name == "warn") return spdlog::level::warn;
    if (name == "error") return spdlog::level::err;
    return std::nullopt;
}

std::optional<format> parse_format(std::string_view name) {
    if (name == "json") return format::json;
    if (name == "text") return format::text;
    return std::nullopt;
}

void init(spdlog::level::level_enum level, format fmt, std::shared_ptr<spdlog::sinks::sink> sink) {
    if (!sink) sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto logger = std::make_shared<spdlog::logger>("metrics-governor", std::move(sink));
    logger->set_pattern("%v");  // the line is rendered here, with its own timestamp
    logger->set_level(level);
    logger->flush_on(spdlog::level::trace);  // a daemon's log is read live; never hold lines back
    spdlog::set_default_logger(std::move(logger));
    g_format.store(fmt, std::memory_order_relaxed);
}

std::string render(format fmt, spdlog::level::level_enum level, std::string_view msg, fields f) {
    if (fmt == format::json) {
        nlohmann::ordered_json line;
        line["level"] = level_name(level);
        line["ts"] = timestamp_now();
        line["msg"] = msg;
        for (const auto& [key, value] : f) line[std::string(key)] = value;
        // Replace rather than throw on invalid UTF-8: a log line must never take the daemon down.
        return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    }
    std::string out = timestamp_now();
    out += ' ';
    std::string upper(level_name(level));
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    out += upper;
    out += ' ';
    out += msg;
    for (const auto& [key, value] : f) {
        out += ' ';
        out += key;
        out += '=';
        out += value.is_string()
                   ? value.get<std::string>()
                   : value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    }
    return out;
}

bool enabled(spdlog::level::level_enum level) {
    return spdlog::default_logger_raw()->should_log(level);
}

void write(spdlog::level::level_enum level, std::string_view msg, fields f) {
    auto* logger = spdlog::default_logger_raw();
    if (!logger->should_log(level)) return;
    const auto line = render(g_format.load(std::memory_order_relaxed), level, msg, f);
    logger->log(level, "{}", line);
}

}  // namespace mg::logging
