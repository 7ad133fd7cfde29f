#include "config/settings.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "config/config.h"

namespace {

std::string flag_from_yaml_path(const std::string& path) {
    std::string flag = "-";
    for (char c : path) flag += (c == '.' || c == '_') ? '-' : c;
    return flag;
}

std::string read_doc() {
    std::ifstream in(std::string(MG_SOURCE_DIR) + "/docs/configuration.md");
    REQUIRE(in.good());
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

TEST_CASE("flags are derived from YAML paths and unique", "[config][settings]") {
    // The rows that name their own flag (.flag()): few on purpose, each a flag named elsewhere
    // before its YAML key.
    const std::map<std::string, std::string> own_flags{
        {"cluster.addresses", "-cluster-redis-addr"},
    };
    std::set<std::string> flags;
    std::set<std::string> paths;
    for (const auto& s : mg::config::all_settings()) {
        INFO(s.flag);
        CHECK(flags.insert(s.flag).second);
        CHECK_FALSE(s.help.empty());
        CHECK_FALSE(s.accepted.empty());
        CHECK_FALSE(s.type_name.empty());
        if (s.yaml_path.empty()) continue;  // flag only
        CHECK(paths.insert(s.yaml_path).second);
        const auto own = own_flags.find(s.yaml_path);
        CHECK(s.flag == (own == own_flags.end() ? flag_from_yaml_path(s.yaml_path) : own->second));
    }
    for (const auto& c : mg::config::command_flags()) CHECK(flags.insert(c.flag).second);
}

TEST_CASE("every group has settings and rows are in group order", "[config][settings]") {
    const auto& groups = mg::config::group_names();
    std::size_t last = 0;
    for (const auto& s : mg::config::all_settings()) {
        auto it = std::find(groups.begin(), groups.end(), s.group);
        REQUIRE(it != groups.end());
        auto index = static_cast<std::size_t>(it - groups.begin());
        CHECK(index >= last);
        last = index;
    }
    CHECK(last == groups.size() - 1);
}

TEST_CASE("the bloom_persistence section has the spec's keys and defaults, and ours",
          "[config][settings]") {
    std::map<std::string, std::string> expected{
        {"bloom_persistence.enabled", "false"},
        {"bloom_persistence.path", "./bloom-state"},
        {"bloom_persistence.save_interval", "5s"},
        {"bloom_persistence.state_ttl", "1h"},
        {"bloom_persistence.cleanup_interval", "5m"},
        {"bloom_persistence.max_size", "500MB"},
        {"bloom_persistence.max_memory", "256MB"},
        {"bloom_persistence.compression", "true"},
        {"bloom_persistence.compression_level", "1"},
        // Ours (incremental saves); the save interval's default is 5s instead of the spec's 30s
        // because of them (docs/persistence.md).
        {"bloom_persistence.incremental", "true"},
        {"bloom_persistence.chunk_size", "64B"},
        {"bloom_persistence.snapshot_ratio", "0.5"},
    };
    std::map<std::string, std::string> actual;
    for (const auto& s : mg::config::all_settings()) {
        if (s.yaml_path.rfind("bloom_persistence.", 0) == 0) actual[s.yaml_path] = s.default_text;
    }
    CHECK(actual == expected);
}

TEST_CASE("the cardinality, limits and stats rows and their defaults", "[config][settings]") {
    struct expected_row {
        std::string default_text;
        std::string type_name;
        std::string group;
        std::string accepted;
    };
    std::map<std::string, expected_row> expected{
        {"cardinality.expected_items",
         {"100000", "int", "Cardinality", "an integer from 1 to 1000000000"}},
        {"cardinality.fp_rate",
         {"0.01", "number", "Cardinality", "a number greater than 0 and at most 0.5"}},
        {"cardinality.generations", {"3", "int", "Cardinality", "an integer from 1 to 64"}},
        {"cardinality.window",
         {"1h", "duration", "Cardinality", "a duration greater than 0, e.g. 30s, 5m, 1h, 2h30m"}},
        {"limits.config", {"", "string", "Limits", "a string; empty means none"}},
        {"limits.dry_run", {"false", "bool", "Limits", "true or false"}},
        {"limits.max_series", {"0", "int", "Limits", "an integer of 0 or more"}},
        {"limits.max_tenants_in_metrics", {"100", "int", "Limits", "an integer from 0 to 100000"}},
        {"stats.top_n", {"100", "int", "Stats", "an integer from 1 to 100000"}},
    };
    std::size_t found = 0;
    for (const auto& s : mg::config::all_settings()) {
        auto it = expected.find(s.yaml_path);
        if (it == expected.end()) continue;
        INFO(s.yaml_path);
        ++found;
        CHECK(s.default_text == it->second.default_text);
        CHECK(s.type_name == it->second.type_name);
        CHECK(s.group == it->second.group);
        CHECK(s.accepted == it->second.accepted);
    }
    CHECK(found == expected.size());
}

TEST_CASE("real and count rows assign and render", "[config][settings]") {
    using mg::config::detail::find_by_yaml_path;
    mg::config::app_config c;

    const auto* fp = find_by_yaml_path("cardinality.fp_rate");
    REQUIRE(fp != nullptr);
    CHECK(fp->kind == mg::config::detail::value_kind::real);
    REQUIRE(fp->assign(c, "0.1").ok());
    CHECK(c.cardinality.fp_rate == 0.1);
    CHECK(fp->render(c) == "0.1");
    REQUIRE(fp->assign(c, "5e-4").ok());
    CHECK(fp->render(c) == "0.0005");
    REQUIRE(fp->assign(c, "0.5").ok());  // the upper bound is inclusive
    for (const char* bad : {"0", "0.0", "0.50001", "", " 0.1", "0.1x", "nan", "-inf", "1/100"}) {
        INFO(bad);
        CHECK_FALSE(fp->assign(c, bad).ok());
        CHECK(c.cardinality.fp_rate == 0.5);  // unchanged on failure
    }

    const auto* items = find_by_yaml_path("cardinality.expected_items");
    REQUIRE(items != nullptr);
    CHECK(items->kind == mg::config::detail::value_kind::integer);
    REQUIRE(items->assign(c, "1048576").ok());
    CHECK(c.cardinality.expected_items == 1048576ULL);
    CHECK(items->render(c) == "1048576");  // a count: never "1MB"
    CHECK_FALSE(items->assign(c, "1Mi").ok());

    const auto* cap = find_by_yaml_path("limits.max_series");
    REQUIRE(cap != nullptr);
    REQUIRE(cap->assign(c, "9223372036854775807").ok());
    CHECK(c.limits.max_series == 9223372036854775807ULL);
    CHECK(cap->render(c) == "9223372036854775807");

    const auto* path = find_by_yaml_path("limits.config");
    REQUIRE(path != nullptr);
    REQUIRE(path->assign(c, "x.yaml").ok());
    REQUIRE(path->assign(c, "").ok());  // empty is allowed here: no limits file
    CHECK(c.limits.config.empty());
    // ...but not where a string must have a value.
    CHECK_FALSE(find_by_yaml_path("bloom_persistence.path")->assign(c, "").ok());
}

TEST_CASE("a row assigns and renders its own field", "[config][settings]") {
    const auto* row = mg::config::detail::find_by_yaml_path("bloom_persistence.max_memory");
    REQUIRE(row != nullptr);
    mg::config::app_config c;
    REQUIRE(row->assign(c, "1GiB").ok());
    CHECK(c.bloom_persistence.max_memory == 1073741824ULL);
    CHECK(row->render(c) == "1GB");
    auto bad = row->assign(c, "-5");
    CHECK_FALSE(bad.ok());
    CHECK(c.bloom_persistence.max_memory == 1073741824ULL);             // unchanged on failure
    CHECK(mg::config::detail::find_by_yaml_path("config") == nullptr);  // flag only
    CHECK(mg::config::detail::find_by_yaml_path("bloom_persistence") == nullptr);
}

TEST_CASE("docs/configuration.md documents exactly the flags in the table", "[config][docs]") {
    const std::string doc = read_doc();
    std::set<std::string> known;
    for (const auto& s : mg::config::all_settings()) known.insert(s.flag);
    for (const auto& c : mg::config::command_flags()) known.insert(c.flag);

    // Every flag appears in a table row, and every -flag or --flag in a table row is a real one.
    std::set<std::string> documented;
    std::set<std::string> documented_keys;
    const std::regex flag_re("(^|[\\s|,(`])--?([a-z][a-z0-9-]*)");
    const std::regex key_re("`([a-z_]+(\\.[a-z_]+)*)`");
    std::istringstream lines(doc);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind("|", 0) != 0) continue;
        for (std::sregex_iterator it(line.begin(), line.end(), flag_re), end; it != end; ++it) {
            documented.insert("-" + (*it)[2].str());
        }
        for (std::sregex_iterator it(line.begin(), line.end(), key_re), end; it != end; ++it) {
            documented_keys.insert((*it)[1]);
        }
    }
    for (const auto& flag : known) {
        INFO(flag);
        CHECK(documented.count(flag) == 1);
    }
    for (const auto& flag : documented) {
        INFO("documented but not in the table: " << flag);
        CHECK(known.count(flag) == 1);
    }
    for (const auto& s : mg::config::all_settings()) {
        if (s.yaml_path.empty()) continue;
        INFO(s.yaml_path);
        CHECK(documented_keys.count(s.yaml_path) == 1);
    }
}
