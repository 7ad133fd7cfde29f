#include "pid_file.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "shared/fault_file_system.h"
#include "shared/temp_dir.h"

using mg::test::temp_dir;

namespace {

std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

bool only_file_in(const temp_dir& dir, const std::string& name) {
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        if (e.path().filename() != name) return false;
        ++n;
    }
    return n == 1;
}

}  // namespace

TEST_CASE("the pid file holds the pid while the object lives and is removed with it",
          "[cmd][pid_file]") {
    temp_dir dir;
    const auto path = dir.file("mg.pid");
    {
        auto written = mg::cmd::pid_file::write(mg::posix_file_system(), path, 4242);
        REQUIRE(written.ok());
        CHECK((*written)->path() == path);
        CHECK(read(path) == "4242\n");
        CHECK(only_file_in(dir, "mg.pid"));  // the temporary file was renamed, not left behind
        CHECK((std::filesystem::status(path).permissions() & std::filesystem::perms::others_read) !=
              std::filesystem::perms::none);
    }
    CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("a stale pid file is replaced", "[cmd][pid_file]") {
    temp_dir dir;
    const auto path = dir.write("mg.pid", "99999999\n");
    auto written = mg::cmd::pid_file::write(mg::posix_file_system(), path, 77);
    REQUIRE(written.ok());
    CHECK(read(path) == "77\n");
}

TEST_CASE("a pid file that another process rewrote is left alone", "[cmd][pid_file]") {
    temp_dir dir;
    const auto path = dir.file("mg.pid");
    {
        auto written = mg::cmd::pid_file::write(mg::posix_file_system(), path, 100);
        REQUIRE(written.ok());
        dir.write("mg.pid", "200\n");  // a newer daemon took the path over
    }
    CHECK(read(path) == "200\n");
}

TEST_CASE("a pid file that cannot be written is an error naming the flag and the path",
          "[cmd][pid_file]") {
    temp_dir dir;
    SECTION("no such directory") {
        const auto path = dir.file("missing/mg.pid");
        auto written = mg::cmd::pid_file::write(mg::posix_file_system(), path, 1);
        REQUIRE_FALSE(written.ok());
        CHECK_THAT(written.error_message(), Catch::StartsWith("-pid-file \"" + path + "\": "));
        CHECK_THAT(written.error_message(), Catch::Contains("No such file or directory"));
    }
    SECTION("the rename fails: the old file stays and no temporary file is left") {
        mg::test::fault_file_system fs;
        const auto path = dir.write("mg.pid", "5\n");
        fs.fail_rename("mg.pid");
        auto written = mg::cmd::pid_file::write(fs, path, 6);
        REQUIRE_FALSE(written.ok());
        CHECK_THAT(written.error_message(), Catch::StartsWith("-pid-file \"" + path + "\": "));
        CHECK(read(path) == "5\n");
        CHECK(only_file_in(dir, "mg.pid"));
    }
}

TEST_CASE("no path, no pid file", "[cmd][pid_file]") {
    auto none = mg::cmd::write_pid_file("");
    REQUIRE(none.ok());
    CHECK(*none == nullptr);
}
