#include "logging/log.h"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <sstream>

namespace lg = mg::logging;

TEST_CASE("json lines carry level, timestamp, message and fields in order", "[log]") {
    const auto line =
        lg::render(lg::format::json, spdlog::level::info, "bloom persistence initialized",
                   {{"path", "./bloom-state"}, {"compression", true}, {"saved", 5}});
    const auto j = nlohmann::json::parse(line);
    CHECK(j["level"] == "info");
    CHECK(j["msg"] == "bloom persistence initialized");
    CHECK(j["path"] == "./bloom-state");
    CHECK(j["compression"] == true);
    CHECK(j["saved"] == 5);
    CHECK(j["ts"].get<std::string>().size() == 24);  // 2026-11-22T01:02:03.456Z
    CHECK(line.rfind(R"({"level":"info","ts":)", 0) == 0);
    CHECK(line.find(R"("msg":"bloom persistence initialized","path":"./bloom-state")") !=
          std::string::npos);
}

TEST_CASE("invalid UTF-8 in a field is replaced, not thrown", "[log]") {
    std::string bad =
        "a\xff"
        "b";
    std::string line;
    REQUIRE_NOTHROW(line = lg::render(lg::format::json, spdlog::level::warn, "x", {{"v", bad}}));
    CHECK_NOTHROW(nlohmann::json::parse(line));
}

TEST_CASE("text lines are readable key=value", "[log]") {
    const auto line = lg::render(lg::format::text, spdlog::level::warn, "evicted tracker",
                                 {{"key", "m"}, {"age", "1h5m"}, {"n", 3}});
    CHECK(line.find(" WARN evicted tracker key=m age=1h5m n=3") != std::string::npos);
}

TEST_CASE("level filter and sink wiring", "[log]") {
    std::ostringstream out;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    lg::init(spdlog::level::warn, lg::format::json, sink);
    lg::info("hidden");
    lg::warn("shown", {{"k", 1}});
    const auto text = out.str();
    CHECK(text.find("hidden") == std::string::npos);
    CHECK(text.find(R"("msg":"shown","k":1)") != std::string::npos);
    CHECK(text.back() == '\n');
}

TEST_CASE("level and format names", "[log]") {
    CHECK(lg::parse_level("debug") == spdlog::level::debug);
    CHECK(lg::parse_level("error") == spdlog::level::err);
    CHECK_FALSE(lg::parse_level("verbose").has_value());
    CHECK(lg::parse_format("text") == lg::format::text);
    CHECK_FALSE(lg::parse_format("xml").has_value());
}
