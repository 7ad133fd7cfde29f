// The `state` command's arguments and exit codes (cmd/metrics-governor/state_command.h); the
// report itself is tested in tests/unit/persistence/state_inspect_test.cpp, the binary in
// tests/integration/state_command_test.cpp.
#include "state_command.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "shared/temp_dir.h"

namespace {

using mg::cmd::state_action;

std::string all(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

struct run_output {
    int code;
    std::string out;
    std::string err;
};

run_output run(const std::vector<std::string>& args) {
    std::ostringstream out, err;
    mg::fake_clock clock;
    const int code = mg::cmd::run_state_command(args, mg::posix_file_system(), clock, out, err);
    return {code, out.str(), err.str()};
}

}  // namespace

TEST_CASE("state arguments: the command word and both flag forms", "[cmd][state]") {
    auto a = mg::cmd::parse_state_args({"inspect", "-bloom-persistence-path", "/d"});
    CHECK(a.errors.empty());
    CHECK(a.action == state_action::inspect);
    CHECK(a.path == "/d");
    CHECK_FALSE(a.json);

    a = mg::cmd::parse_state_args({"--bloom-persistence-path=/e", "--format=json", "verify"});
    INFO(all(a.errors));
    CHECK(a.errors.empty());
    CHECK(a.action == state_action::verify);
    CHECK(a.path == "/e");
    CHECK(a.json);

    a = mg::cmd::parse_state_args({"verify", "-help"});
    CHECK(a.help);
    CHECK(a.errors.empty());
}

TEST_CASE("state arguments: every problem named with its accepted form", "[cmd][state]") {
    auto a = mg::cmd::parse_state_args({});
    REQUIRE(a.errors.size() == 2);
    CHECK(a.errors[0] == "state: missing command; want inspect or verify");
    CHECK_THAT(a.errors[1], Catch::StartsWith("-bloom-persistence-path: required; want the state "
                                              "directory, e.g. -bloom-persistence-path="));

    a = mg::cmd::parse_state_args({"inspect", "-bloom-persistence-path="});
    REQUIRE(a.errors.size() == 1);
    CHECK_THAT(a.errors[0], Catch::StartsWith("-bloom-persistence-path: missing value; want "));

    a = mg::cmd::parse_state_args({"inspect", "-bloom-persistence-path=/d", "-format", "yaml"});
    REQUIRE(a.errors.size() == 1);
    CHECK(a.errors[0] == "-format: \"yaml\" is not accepted; want text or json");

    a = mg::cmd::parse_state_args({"inspect", "-bloom-persistence-path=/d", "-format"});
    REQUIRE(a.errors.size() == 1);
    CHECK(a.errors[0] == "-format: missing value; want text or json");

    a = mg::cmd::parse_state_args({"show", "-bloom-persistence-path=/d"});
    REQUIRE(a.errors.size() == 1);
    CHECK(a.errors[0] == "\"show\": unknown state command; want inspect or verify");

    // An unknown flag's value is not a second problem; a word after the command is.
    a = mg::cmd::parse_state_args({"verify", "-bloom-persistence-path=/d", "-verbose", "yes"});
    REQUIRE(a.errors.size() == 1);
    CHECK_THAT(a.errors[0], Catch::StartsWith("-verbose: unknown flag; the state commands take "));
    a = mg::cmd::parse_state_args({"verify", "-bloom-persistence-path=/d", "extra"});
    REQUIRE(a.errors.size() == 1);
    CHECK(a.errors[0] == "\"extra\": unexpected argument");
}

TEST_CASE("state command: exit codes 0, 1 and 2", "[cmd][state]") {
    mg::test::temp_dir dir;
    SECTION("usage: 2, the problems on stderr") {
        const auto r = run({"verify"});
        CHECK(r.code == 2);
        CHECK(r.out.empty());
        CHECK_THAT(r.err,
                   Catch::StartsWith("metrics-governor state: invalid arguments (1 problem):\n"
                                     "  -bloom-persistence-path: required"));
    }
    SECTION("help: 0") {
        const auto r = run({"-h"});
        CHECK(r.code == 0);
        CHECK_THAT(r.out, Catch::StartsWith("Usage: metrics-governor state inspect|verify"));
    }
    SECTION("no directory: 1 for both, the reason on stderr (text) or in the JSON") {
        for (const char* cmd : {"inspect", "verify"}) {
            const auto r = run({cmd, "-bloom-persistence-path=" + dir.file("none")});
            CHECK(r.code == 1);
            CHECK_THAT(r.err, Catch::Contains("not a readable state directory"));
        }
        const auto j =
            run({"verify", "-bloom-persistence-path=" + dir.file("none"), "-format=json"});
        CHECK(j.code == 1);
        CHECK(nlohmann::json::parse(j.out)["ok"] == false);
    }
    SECTION("an empty index: 0 for both") {
        dir.write("meta.json", R"({"version": 1, "trackers": {}})");
        const auto v = run({"verify", "-bloom-persistence-path=" + dir.path()});
        CHECK(v.code == 0);
        CHECK_THAT(v.out, Catch::StartsWith("state OK: "));
        CHECK(run({"inspect", "-bloom-persistence-path=" + dir.path()}).code == 0);
    }
    SECTION("an index of another version: 1 for both") {
        dir.write("meta.json", R"({"version": 7, "trackers": {}})");
        const auto v = run({"verify", "-bloom-persistence-path=" + dir.path()});
        CHECK(v.code == 1);
        CHECK_THAT(v.out, Catch::StartsWith("problem: ") && Catch::Contains("version 7"));
        CHECK(run({"inspect", "-bloom-persistence-path=" + dir.path()}).code == 1);
    }
}
