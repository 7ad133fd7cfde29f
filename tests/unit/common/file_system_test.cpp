// posix_file_system's calls that the export disk queue added (truncate, open_appendable,
// lock_file), and the fault_file_system's full-disk model they are tested with elsewhere.
#include "common/file_system.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "shared/fault_file_system.h"
#include "shared/temp_dir.h"

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("truncate cuts the file and the next append writes at the cut", "[common][file_system]") {
    mg::test::temp_dir d;
    auto& fs = mg::posix_file_system();
    const auto path = d.file("f");
    auto f = fs.create_file(path, 0600);
    REQUIRE(f.ok());
    REQUIRE((*f)->append("hello world").ok());
    REQUIRE((*f)->truncate(5).ok());
    REQUIRE((*f)->append("!").ok());  // no hole where " world" was
    REQUIRE((*f)->sync().ok());
    REQUIRE((*f)->close().ok());
    CHECK(slurp(path) == "hello!");
}

TEST_CASE("open_appendable writes at the end of an existing file only", "[common][file_system]") {
    mg::test::temp_dir d;
    auto& fs = mg::posix_file_system();
    const auto path = d.write("f", "abc");
    auto f = fs.open_appendable(path);
    REQUIRE(f.ok());
    REQUIRE((*f)->append("def").ok());
    REQUIRE((*f)->truncate(4).ok());
    REQUIRE((*f)->append("x").ok());
    REQUIRE((*f)->close().ok());
    CHECK(slurp(path) == "abcdx");

    auto missing = fs.open_appendable(d.file("missing"));
    REQUIRE_FALSE(missing.ok());
    CHECK_THAT(missing.error_message(), Catch::Contains(d.file("missing")));
    CHECK_FALSE(std::filesystem::exists(d.file("missing")));
}

TEST_CASE("lock_file is exclusive until the lock object goes away", "[common][file_system]") {
    mg::test::temp_dir d;
    auto& fs = mg::posix_file_system();
    const auto path = d.file("LOCK");
    {
        auto lock = fs.lock_file(path);
        REQUIRE(lock.ok());
        CHECK((std::filesystem::status(path).permissions() & std::filesystem::perms::all) ==
              (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
        auto second = fs.lock_file(path);
        REQUIRE_FALSE(second.ok());
        CHECK_THAT(second.error_message(), Catch::Contains(path));
        CHECK_THAT(second.error_message(), Catch::Contains("another process"));
    }
    CHECK(fs.lock_file(path).ok());
    auto bad = fs.lock_file(d.file("no/such/dir/LOCK"));
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error_message(), Catch::Contains("no/such/dir/LOCK"));
}

TEST_CASE("fault_file_system: a full disk writes what fits, truncation gives it back",
          "[common][file_system]") {
    mg::test::temp_dir d;
    mg::test::fault_file_system faults;
    const auto path = d.file("f");
    auto f = faults.create_file(path, 0600);
    REQUIRE(f.ok());
    REQUIRE((*f)->append("0123").ok());
    faults.disk_budget(3);
    const auto full = (*f)->append("456789");
    REQUIRE_FALSE(full.ok());
    CHECK_THAT(full.error_message(), Catch::Contains("No space left on device"));
    CHECK(slurp(path) == "0123456");  // as write(2) leaves it
    CHECK(*faults.available_bytes(d.path()) == 0);
    REQUIRE((*f)->truncate(4).ok());
    CHECK(*faults.available_bytes(d.path()) == 3);
    REQUIRE((*f)->append("abc").ok());
    REQUIRE((*f)->close().ok());
    CHECK(slurp(path) == "0123abc");

    // open_appendable knows the size it starts from, and obeys the create switch.
    auto g = faults.open_appendable(path);
    REQUIRE(g.ok());
    REQUIRE((*g)->truncate(0).ok());
    CHECK(*faults.available_bytes(d.path()) == 7);
    faults.fail_create("f");
    CHECK_FALSE(faults.open_appendable(path).ok());
    faults.fail_lock("LOCK");
    CHECK_FALSE(faults.lock_file(d.file("LOCK")).ok());
}
