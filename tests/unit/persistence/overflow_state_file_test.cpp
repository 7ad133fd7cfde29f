// overflow_state_file (src/persistence/overflow_state_file.h): the overflow fold state on disk.
// Every field comes back as written; a torn, altered, truncated or foreign file is refused whole,
// set aside as .corrupt (never deleted) and never half-read; a file read whole is removed; a write
// error leaves the previous file as it was.
#include "persistence/overflow_state_file.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <functional>
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
    ov::series_state h;
    h.key = "0:1:h8:overflow";
    h.metric_name = "h";
    h.labels = {{"overflow", "true"}};
    h.kind = ov::fold_kind::histogram;
    h.from_otlp = true;
    h.unit = "ms";
    h.interval_ms = 1000;
    h.max_tracked = 10;
    h.histogram_has_layout = true;
    h.histogram_total.schema = -2;
    h.histogram_total.zero_threshold = 1e-9;
    h.histogram_total.zero_count = 1;
    h.histogram_total.count = 6;
    h.histogram_total.sum = 12.5;
    h.histogram_total.positive = {{-3, 2}, {4, 3}};
    h.histogram_total.negative = {{1, 0.5}};
    h.histogram_last = {{9, h.histogram_total}, {10, {}}};
    ov::series_state x;
    x.key = "0:1:x8:overflow";
    x.metric_name = "x";
    x.kind = ov::fold_kind::summary;
    x.interval_ms = 1000;
    x.max_tracked = 10;
    x.explicit_has_bounds = true;
    x.explicit_total = {{0.5, 1}, {1, 2, 3}, 6, 4.25};
    x.explicit_last = {{11, x.explicit_total}, {12, {{}, {}, 2, 1}}};
    return {c, g, h, x};
}

bool same(const mg::native_histogram& a, const mg::native_histogram& b) {
    return a.schema == b.schema && a.zero_threshold == b.zero_threshold &&
           a.zero_count == b.zero_count && a.count == b.count && a.sum == b.sum &&
           a.positive == b.positive && a.negative == b.negative;
}

bool same(const mg::explicit_histogram& a, const mg::explicit_histogram& b) {
    return a.bounds == b.bounds && a.bucket_counts == b.bucket_counts && a.count == b.count &&
           a.sum == b.sum;
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
    CHECK(a.from_otlp == b.from_otlp);
    CHECK(a.unit == b.unit);
    CHECK(a.histogram_has_layout == b.histogram_has_layout);
    CHECK(same(a.histogram_total, b.histogram_total));
    REQUIRE(a.histogram_last.size() == b.histogram_last.size());
    for (std::size_t i = 0; i < a.histogram_last.size(); ++i) {
        CHECK(a.histogram_last[i].first == b.histogram_last[i].first);
        CHECK(same(a.histogram_last[i].second, b.histogram_last[i].second));
    }
    CHECK(a.explicit_has_bounds == b.explicit_has_bounds);
    CHECK(same(a.explicit_total, b.explicit_total));
    REQUIRE(a.explicit_last.size() == b.explicit_last.size());
    for (std::size_t i = 0; i < a.explicit_last.size(); ++i) {
        CHECK(a.explicit_last[i].first == b.explicit_last[i].first);
        CHECK(same(a.explicit_last[i].second, b.explicit_last[i].second));
    }
}

}  // namespace

TEST_CASE("overflow state file: every field comes back", "[persistence][overflow]") {
    const auto state = sample_state();
    const auto bytes = mp::encode_overflow_state(state);
    auto back = mp::decode_overflow_state(bytes);
    REQUIRE(back.ok());
    REQUIRE(back->size() == state.size());
    for (std::size_t i = 0; i < state.size(); ++i) check_equal((*back)[i], state[i]);
    CHECK(mp::decode_overflow_state(mp::encode_overflow_state({})).ok());
}

// A file of the version before units (1): each series ended after its explicit-histogram folds.
// Made from this build's encoding of series without a unit: their empty units' lengths (4 zero
// bytes each, the last field of a series) taken out, the version set to 1, the checksum redone.
TEST_CASE("overflow state file: a version 1 file is read, its units empty",
          "[persistence][overflow]") {
    auto state = sample_state();
    for (auto& s : state) s.unit.clear();
    const auto v2 = mp::encode_overflow_state(state);
    std::string v1 = v2.substr(0, 6);  // the magic
    v1 += std::string("\x01\x00", 2);
    v1 += std::string(4, '\0');  // the series count, set below
    std::uint32_t n = static_cast<std::uint32_t>(state.size());
    std::memcpy(v1.data() + 8, &n, 4);
    for (const auto& s : state) {
        // Each series' own encoding, cut before its unit.
        const auto one = mp::encode_overflow_state({s});
        const auto series = one.substr(12, one.size() - 12 - 4);
        REQUIRE(series.substr(series.size() - 4) == std::string(4, '\0'));
        v1 += series.substr(0, series.size() - 4);
    }
    const auto crc = mp::crc32_of(v1);
    v1.append(reinterpret_cast<const char*>(&crc), 4);
    auto back = mp::decode_overflow_state(v1);
    REQUIRE(back.ok());
    REQUIRE(back->size() == state.size());
    for (std::size_t i = 0; i < state.size(); ++i) check_equal((*back)[i], state[i]);

    // A version this build does not know is refused, naming the versions it reads.
    auto v9 = v2;
    v9[6] = 9;
    const auto body = v9.substr(0, v9.size() - 4);
    const auto crc9 = mp::crc32_of(body);
    std::memcpy(v9.data() + v9.size() - 4, &crc9, 4);
    auto refused = mp::decode_overflow_state(v9);
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.error_message(),
               Catch::Contains("unsupported version 9") && Catch::Contains("reads 1 to 2"));
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
    // Well-formed bytes that would break a fold's invariants are refused as well: buckets out of
    // order, a schema no fold makes, bounds not increasing, counts that do not match the bounds.
    const auto crafted = [](const std::function<void(ov::series_state&)>& edit) {
        auto st = sample_state();
        edit(st[2].kind == ov::fold_kind::histogram ? st[2] : st[0]);
        return mp::decode_overflow_state(mp::encode_overflow_state(st)).ok();
    };
    CHECK(crafted([](ov::series_state&) {}));
    CHECK_FALSE(crafted([](ov::series_state& h) {
        h.histogram_total.positive = {{4, 1}, {-3, 1}};
    }));
    CHECK_FALSE(crafted([](ov::series_state& h) { h.histogram_last[1].second.schema = 9; }));
    CHECK_FALSE(crafted([](ov::series_state& h) { h.explicit_total.bounds = {2, 1}; }));
    CHECK_FALSE(crafted([](ov::series_state& h) { h.explicit_total = {{1}, {1, 2, 3}, 6, 0}; }));
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
    REQUIRE(loaded->state.size() == 4);
    check_equal(loaded->state[2], sample_state()[2]);
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
    CHECK(loaded->state.size() == 4);
}
