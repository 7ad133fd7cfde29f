#include "protocol/wire.h"

#include <catch2/catch.hpp>
#include <limits>
#include <string>

#include "test_util.h"

using namespace mg::protocol;
using mg::protocol::test::bytes;

TEST_CASE("varints round-trip at every length", "[wire]") {
    for (std::uint64_t v :
         std::initializer_list<std::uint64_t>{0, 1, 127, 128, 300, 16383, 16384, 1ULL << 35,
                                              std::numeric_limits<std::uint64_t>::max()}) {
        std::string s;
        wire_writer::put_varint(s, v);
        CHECK(s.size() == wire_writer::varint_size(v));
        const char* p = s.data();
        std::uint64_t got = 0;
        REQUIRE(read_varint(p, s.data() + s.size(), got) == varint_status::ok);
        CHECK(got == v);
        CHECK(p == s.data() + s.size());
    }
}

TEST_CASE("zigzag maps small magnitudes to small codes", "[wire]") {
    CHECK(zigzag_encode64(0) == 0);
    CHECK(zigzag_encode64(-1) == 1);
    CHECK(zigzag_encode64(1) == 2);
    CHECK(zigzag_encode64(-2) == 3);
    CHECK(zigzag_encode32(-2147483647 - 1) == 0xffffffffU);
    for (std::int64_t v : std::initializer_list<std::int64_t>{
             0, 1, -1, 123456789, -987654321, std::numeric_limits<std::int64_t>::min(),
             std::numeric_limits<std::int64_t>::max()}) {
        CHECK(zigzag_decode64(zigzag_encode64(v)) == v);
    }
    for (std::int32_t v : {0, 5, -5, std::numeric_limits<std::int32_t>::min()}) {
        CHECK(zigzag_decode32(zigzag_encode32(v)) == v);
    }
}

TEST_CASE("overlong and truncated varints are rejected", "[wire]") {
    std::uint64_t v = 0;
    const std::string eleven(11, '\x80');
    const char* p = eleven.data();
    CHECK(read_varint(p, eleven.data() + eleven.size(), v) == varint_status::overlong);
    // 10 bytes whose last byte carries more than the 64th bit.
    const std::string ten = std::string(9, '\xff') + "\x02";
    p = ten.data();
    CHECK(read_varint(p, ten.data() + ten.size(), v) == varint_status::overlong);
    const std::string max = std::string(9, '\xff') + "\x01";
    p = max.data();
    CHECK(read_varint(p, max.data() + max.size(), v) == varint_status::ok);
    CHECK(v == std::numeric_limits<std::uint64_t>::max());
    const std::string cut = "\x80\x80";
    p = cut.data();
    CHECK(read_varint(p, cut.data() + cut.size(), v) == varint_status::truncated);
}

TEST_CASE("the reader decodes every wire type and exposes raw spans", "[wire]") {
    std::string buf;
    wire_writer w(buf);
    w.varint_field(1, 150);
    w.fixed64_field(2, 0x0102030405060708ULL);
    w.bytes_field(3, "hello");
    w.fixed32_field(4, 0xdeadbeef);
    w.double_field(5, 2.5);
    w.sint64_field(6, -3);
    wire_reader r(buf);
    wire_field f;
    REQUIRE(r.next(f));
    CHECK(f.number == 1);
    CHECK(f.type == wire_type::varint);
    CHECK(f.value == 150);
    CHECK(f.raw == bytes({0x08, 0x96, 0x01}));
    REQUIRE(r.next(f));
    CHECK(f.type == wire_type::i64);
    CHECK(f.value == 0x0102030405060708ULL);
    REQUIRE(r.next(f));
    CHECK(f.type == wire_type::len);
    CHECK(f.bytes == "hello");
    CHECK(f.raw == bytes({0x1a, 5}) + "hello");
    REQUIRE(r.next(f));
    CHECK(f.type == wire_type::i32);
    CHECK(f.value == 0xdeadbeef);
    REQUIRE(r.next(f));
    CHECK(f.as_double() == 2.5);
    REQUIRE(r.next(f));
    CHECK(zigzag_decode64(f.value) == -3);
    CHECK_FALSE(r.next(f));
    CHECK(r.error() == nullptr);
}

TEST_CASE("the reader stops with a message on malformed input", "[wire]") {
    struct bad_case {
        std::string buf;
        const char* want;
    };
    const bad_case cases[] = {
        {bytes({0x08}), "truncated varint"},
        {bytes({0x08, 0x80}), "truncated varint"},
        {bytes({0x08}) + std::string(11, '\x81'), "varint longer than 10 bytes"},
        {bytes({0x09, 1, 2, 3}), "truncated fixed64"},
        {bytes({0x0d, 1, 2}), "truncated fixed32"},
        {bytes({0x0a, 5, 'a', 'b'}), "length runs past the end of the message"},
        {bytes({0x0a}), "truncated length"},
        {bytes({0x00, 0x01}), "field number 0"},
        {bytes({0x0b}), "group wire types are not supported"},
        {bytes({0x0c}), "group wire types are not supported"},
        {bytes({0x0e}), "invalid wire type"},
        {bytes({0x0f}), "invalid wire type"},
        {bytes({0x80}), "truncated field key"},
        {std::string(11, '\x88'), "field key varint longer than 10 bytes"},
    };
    for (const auto& c : cases) {
        INFO(c.want);
        wire_reader r(c.buf);
        wire_field f;
        while (r.next(f)) {
        }
        REQUIRE(r.error() != nullptr);
        CHECK(std::string(r.error()) == c.want);
    }
    // A length that would overflow a pointer must not wrap.
    std::string huge = bytes({0x0a});
    wire_writer::put_varint(huge, std::numeric_limits<std::uint64_t>::max());
    wire_reader r(huge);
    wire_field f;
    CHECK_FALSE(r.next(f));
    CHECK(std::string(r.error()) == "length runs past the end of the message");
}

TEST_CASE("nested messages get correct lengths however long the body", "[wire]") {
    for (std::size_t n : {0U, 1U, 126U, 127U, 128U, 300U, 16383U, 16384U, 70000U}) {
        std::string buf;
        wire_writer w(buf);
        const std::size_t outer = w.begin_message(1);
        const std::size_t inner = w.begin_message(2);
        w.bytes_field(3, std::string(n, 'x'));
        w.end_message(inner);
        w.varint_field(4, 7);
        w.end_message(outer);
        wire_reader r(buf);
        wire_field f;
        REQUIRE(r.next(f));
        REQUIRE(r.at_end());
        wire_reader r2(f.bytes);
        wire_field g;
        REQUIRE(r2.next(g));
        wire_reader r3(g.bytes);
        wire_field h;
        REQUIRE(r3.next(h));
        CHECK(h.bytes.size() == n);
        REQUIRE(r2.next(g));
        CHECK(g.value == 7);
        CHECK(r2.at_end());
    }
}

TEST_CASE("a cancelled submessage leaves no trace", "[wire]") {
    std::string buf;
    wire_writer w(buf);
    w.varint_field(1, 1);
    const std::string before = buf;
    const std::size_t t = w.begin_message(200);
    w.bytes_field(3, "dropped");
    w.cancel_message(t, 200);
    CHECK(buf == before);
}

TEST_CASE("packed varints are iterated and bad ones flagged", "[wire]") {
    std::string p;
    for (std::uint64_t v : {1U, 300U, 0U}) wire_writer::put_varint(p, v);
    packed_varint_reader r(p);
    std::uint64_t v = 0;
    std::vector<std::uint64_t> got;
    while (r.next(v)) got.push_back(v);
    CHECK(got == std::vector<std::uint64_t>{1, 300, 0});
    CHECK_FALSE(r.failed());
    const std::string truncated = bytes({0x01, 0x80});  // the reader holds a view
    packed_varint_reader bad(truncated);
    while (bad.next(v)) {
    }
    CHECK(bad.failed());
}
