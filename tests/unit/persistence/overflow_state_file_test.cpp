// overflow_state_file (src/persistence/overflow_state_file.h): the overflow fold state on disk.
// Every field comes back as written; a torn, altered, truncated or foreign file is refused whole,
// set aside as .corrupt (never deleted) and never half-read; a file read whole is removed; a write
// error leaves the previous file as it was.
#include "persistence/overflow_state_file.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <limits>

#include "persistence/tracker_codec.h"
#include "shared/fault_file_system.h"
#include "shared/temp_dir.h"

namespace mp = mg::persistence;
namespace ov = mg::overflow;

namespace {

std::vector<ov::series_state> sample_state() {
    ov::series_state c;
    c.key = "0:7:c_total8:overflow";
    c.tenant = "team-a";
    c.metric_name = "c_total";
    c.labels = {{"env", "prod"}, {"overflow", "true"}};
    c.kind = ov::fold_kind::counter;
    c.delta = true;
    c.interval_ms = 15000;
    c.last_fold_ms = 1700000001000;
    c.first_ts = 1700000000000;
    c.newest_ts = 1700000000900;
    c.last_emit_ms = 1700000000500;
    c.zero_emitted = true;
    c.max_tracked = 100000;
    c.total = 12345.5;
    c.emitted_total = 12000.25;
    c.counter_last = {{42, 7.5}, {~0ULL, 0.0}};
    ov::series_state g;
    g.key = "0:1:g8:overflow";
    g.metric_name = "g";
    g.labels = {{"overflow", "true"}};
    g.kind = ov::fold_kind::gauge;
    g.interval_ms = 1000;
    g.max_tracked = 3;
    g.aggregation = ov::gauge_aggregation::last;
    g.gauge_latest = {{1, {-2.5, 1700000000100}},
                      {2, {std::numeric_limits<double>::quiet_NaN(), 5}}};
    g.gauge_last_series = 2;
    return {c, g};
}

void check_equal(const ov::series_state& a, const ov::series_state& b) {
    CHECK(a.key == b.key);
    CHECK(a.tenant == b.tenant);
    CHECK(a.metric_name == b.metric_name);
    CHECK(a.labels == b.labels);
    CHECK(a.kind == b.kind);
    CHECK(a.delta == b.delta);
    CHECK(a.interval_ms == b.interval_ms);
    CHECK(a.last_fold_ms == b.last_fold_ms);
    CHECK(a.first_ts == b.first_ts);
    CHECK(a.newest_ts == b.newest_ts);
    CHECK(a.last_emit_ms == b.last_emit_ms);
    CHECK(a.zero_emitted == b.zero_emitted);
    CHECK(a.max_tracked == b.max_tracked);
    CHECK(a.total == b.total);
    CHECK(a.emitted_total == b.emitted_total);
    CHECK(a.counter_last == b.counter_last);
    CHECK(a.aggregation == b.aggregation);
    REQUIRE(a.gauge_latest.size() == b.gauge_latest.size());
    for (std::size_t i = 0; i < a.gauge_latest.size(); ++i) {
        CHECK(a.gauge_latest[i].first == b.gauge_latest[i].first);
        // Bit for bit (NaN included).
        CHECK(std::memcmp(&a.gauge_latest[i].second.value, &b.gauge_latest[i].second.value,
                          sizeof(double)) == 0);
        CHECK(a.gauge_latest[i].second.timestamp_ms == b.gauge_latest[i].second.timestamp_ms);
    }
    CHECK(a.gauge_last_series == b.gauge_last_series);
}

}  // namespace

TEST_CASE("overflow state file: every field comes back", "[persistence][overflow]") {
    const auto state = sample_state();
    const auto bytes = mp::encode_overflow_state(state);
    auto back = mp::decode_overflow_state(bytes);
    REQUIRE(back.ok());
    REQUIRE(back->size() == 2);
    check_equal((*back)[0], state[0]);
    check_equal((*back)[1], state[1]);
    CHECK(mp::decode_overflow_state(mp::encode_overflow_state({})).ok());
}

TEST_CASE("overflow state file: any damage refuses the whole file", "[persistence][overflow]") {
    const auto bytes = mp::encode_overflow_state(sample_state());
    // Every single-byte change and every truncation is caught (the CRC, then the parse).
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        auto b = bytes;
        b[i] = static_cast<char>(b[i] ^ 0x5a);
        CHECK_FALSE(mp::decode_overflow_state(b).ok());
    }
    for (std::size_t n = 0; n < bytes.size(); ++n)
        CHECK_FALSE(mp::decode_overflow_state(bytes.substr(0, n)).ok());
    // A valid checksum over a lying count is still refused, without a huge allocation.
    auto lying = bytes.substr(0, bytes.size() - 4);
    lying[8] = '\xff';
    lying[9] = '\xff';
    lying[10] = '\xff';
    lying[11] = '\x7f';
    std::string tail(4, '\0');
    const auto crc = mp::crc32_of(lying);
    std::memcpy(tail.data(), &crc, 4);
    const auto refused = mp::decode_overflow_state(lying + tail);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error_message().find("count") != std::string::npos);
}

TEST_CASE("overflow state file: written 0600, read once, damage kept aside",
          "[persistence][overflow]") {
    mg::test::temp_dir dir;
    auto& fs = mg::posix_file_system();
    const auto path = dir.file("overflow.state.gz");

    auto none = mp::load_overflow_state(fs, dir.path());
    REQUIRE(none.ok());
    CHECK_FALSE(none->found);

    const auto written = mp::save_overflow_state(fs, dir.path(), sample_state());
    REQUIRE(written.ok());
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(static_cast<std::uint64_t>(st.st_size) == *written);

    auto loaded = mp::load_overflow_state(fs, dir.path());
    REQUIRE(loaded.ok());
    CHECK(loaded->found);
    REQUIRE(loaded->state.size() == 2);
    check_equal(loaded->state[0], sample_state()[0]);
    CHECK_FALSE(std::filesystem::exists(path));  // taken back once
    auto again = mp::load_overflow_state(fs, dir.path());
    REQUIRE(again.ok());
    CHECK_FALSE(again->found);

    // A torn file: refused, named, kept as .corrupt for a look.
    REQUIRE(mp::save_overflow_state(fs, dir.path(), sample_state()).ok());
    std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
    auto torn = mp::load_overflow_state(fs, dir.path());
    REQUIRE_FALSE(torn.ok());
    CHECK(torn.error_message().find(path) != std::string::npos);
    CHECK(std::filesystem::exists(path + ".corrupt"));
    CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("overflow state file: a failed write leaves the previous file whole",
          "[persistence][overflow]") {
    mg::test::temp_dir dir;
    mg::test::fault_file_system fs;
    REQUIRE(mp::save_overflow_state(fs, dir.path(), sample_state()).ok());
    const auto before = std::filesystem::file_size(dir.file("overflow.state.gz"));
    for (auto fail :
         {&mg::test::fault_file_system::fail_append, &mg::test::fault_file_system::fail_sync,
          &mg::test::fault_file_system::fail_rename}) {
        mg::test::fault_file_system faulty;
        (faulty.*fail)("overflow.state");
        CHECK_FALSE(mp::save_overflow_state(faulty, dir.path(), {}).ok());
        CHECK(std::filesystem::file_size(dir.file("overflow.state.gz")) == before);
    }
    auto loaded = mp::load_overflow_state(fs, dir.path());
    REQUIRE(loaded.ok());
    CHECK(loaded->state.size() == 2);
}
