// `metrics-governor state inspect|verify` through the real binary, on a state directory the
// daemon wrote (a base and increments): exit codes 0, 1 and 2, the JSON report, a torn increment
// found by verify, and the directory left as it was.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "persistence_helpers.h"
#include "support/daemon.h"
#include "support/process.h"

using namespace std::chrono_literals;
using mg::test::child_process;
using mg::test::running_daemon;
using mg::test::temp_dir;
using namespace persistence_helpers;
namespace fs = std::filesystem;

namespace {

struct run_result {
    int code = -1;
    std::string output;
};

run_result run_state(std::vector<std::string> args) {
    args.insert(args.begin(), {mg::test::daemon_path(), "state"});
    child_process p(args);
    const auto code = p.wait_exit(60s);
    REQUIRE(code);
    return {*code, p.output()};
}

std::map<std::string, std::uintmax_t> files_of(const std::string& dir) {
    std::map<std::string, std::uintmax_t> out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        out[e.path().string()] = e.is_regular_file() ? e.file_size() : 0;
    return out;
}

}  // namespace

TEST_CASE("state inspect and verify on the daemon's own state directory", "[persistence][state]") {
    temp_dir dir;
    const std::string state = dir.file("bloom-state");
    {
        running_daemon d({"-bloom-persistence-enabled=true", "-bloom-persistence-path=" + state,
                          "-bloom-persistence-save-interval=50ms",
                          // A tracker this small makes an increment of 10 series larger than
                          // half its base: keep the increments.
                          "-bloom-persistence-snapshot-ratio=100"});
        REQUIRE(post(d, body("free", 0, 50)) == 204);
        REQUIRE(d.process().wait_for_line("\"msg\":\"bloom state saved\""));
        REQUIRE(post(d, body("free", 50, 60)) == 204);
        REQUIRE(d.process().wait_for_line("\"increments\":1"));  // an increment of the base
        d.process().signal(SIGTERM);
        REQUIRE(d.process().wait_exit(20s) == 0);
    }
    const auto before = files_of(state);
    const std::string path_flag = "-bloom-persistence-path=" + state;

    const auto verify = run_state({"verify", path_flag});
    INFO(verify.output);
    CHECK(verify.code == 0);
    CHECK(verify.output.find("state OK: " + state + ", 1 tracker verified") != std::string::npos);

    const auto text = run_state({"inspect", "-bloom-persistence-path", state});
    INFO(text.output);
    CHECK(text.code == 0);
    CHECK(text.output.find("stats:metric:free") != std::string::npos);
    CHECK(text.output.find("60 (if loaded now)") != std::string::npos);

    const auto json = run_state({"inspect", path_flag, "-format=json"});
    CHECK(json.code == 0);
    const auto j = nlohmann::json::parse(json.output);
    CHECK(j["ok"] == true);
    REQUIRE(j["trackers"].size() == 1);
    const auto& t = j["trackers"][0];
    CHECK(t["key"] == "stats:metric:free");
    CHECK(t["count_now"] == 60);
    CHECK(t["base"]["status"] == "ok");
    REQUIRE(t["increments"].size() >= 1);
    std::string torn;
    for (const auto& inc : t["increments"]) {
        CHECK(inc["status"] == "ok");
        CHECK(inc["fate"] == "applied");
        torn = state + "/trackers/" + inc["file"].get<std::string>();
    }
    CHECK(files_of(state) == before);  // read only

    // A torn increment: verify lists it and exits 1; inspect still reports (exit 0).
    fs::resize_file(torn, fs::file_size(torn) / 2);
    const auto bad = run_state({"verify", path_flag});
    INFO(bad.output);
    CHECK(bad.code == 1);
    CHECK(bad.output.find("problem: stats:metric:free: increment ") != std::string::npos);
    CHECK(bad.output.find("checksum mismatch") != std::string::npos);
    const auto bad_json = run_state({"verify", path_flag, "-format", "json"});
    CHECK(bad_json.code == 1);
    CHECK(nlohmann::json::parse(bad_json.output)["ok"] == false);
    CHECK(run_state({"inspect", path_flag}).code == 0);
}

TEST_CASE("state: no state directory exits 1, usage errors exit 2 naming the flag",
          "[persistence][state]") {
    temp_dir dir;
    {
        const auto r = run_state({"verify", "-bloom-persistence-path=" + dir.file("none")});
        CHECK(r.code == 1);
        CHECK(r.output.find("not a readable state directory") != std::string::npos);
    }
    {
        const auto r = run_state({"inspect", "-bloom-persistence-path=" + dir.path()});
        CHECK(r.code == 1);  // a directory without meta.json
        CHECK(r.output.find("meta.json: missing") != std::string::npos);
    }
    {
        const auto r = run_state({"inspect"});
        CHECK(r.code == 2);
        CHECK(r.output.find("-bloom-persistence-path: required") != std::string::npos);
    }
    {
        const auto r =
            run_state({"verify", "-bloom-persistence-path=" + dir.path(), "-format=yaml"});
        CHECK(r.code == 2);
        CHECK(r.output.find("-format: \"yaml\" is not accepted; want text or json") !=
              std::string::npos);
    }
    {
        const auto r = run_state({"list", "-bloom-persistence-path=" + dir.path()});
        CHECK(r.code == 2);
        CHECK(r.output.find("\"list\": unknown state command; want inspect or verify") !=
              std::string::npos);
    }
    {
        const auto r = run_state({"-help"});
        CHECK(r.code == 0);
        CHECK(r.output.find("Usage: metrics-governor state inspect|verify") != std::string::npos);
    }
}
