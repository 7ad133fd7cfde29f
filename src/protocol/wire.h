// A small zero-copy protobuf wire-format reader and writer.
//
// wire_reader walks the fields of one message over a caller-owned byte buffer and hands out
// views into it (no copy, no allocation). It is bounded: a truncated varint or fixed field, a
// varint longer than 10 bytes, a length that runs past the end of the message, field number 0 and
// the deprecated group wire types all stop the walk with a static error string. Unknown fields are
// the caller's to skip: next() has already consumed them, so ignoring the field skips it.
// Nesting depth is not the reader's concern (each submessage gets its own reader); the schema
// walkers in this module bound recursion where the schema allows it (AnyValue arrays/kvlists).
//
// wire_writer appends fields to a std::string. Nested messages are written in place with
// begin_message()/end_message(): one byte is reserved for the length and the body is moved
// forward only when its length needs a longer varint, so no temporary buffer per submessage.
//
// Thread-safety: none needed; both are cheap value objects used by one thread.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace mg::protocol {

// Raw bytes are carried as std::string_view: it is the span type the rest of the module already
// uses for label names and values, and it converts from any contiguous char buffer.
using bytes_view = std::string_view;

enum class wire_type : std::uint8_t {
    varint = 0,
    i64 = 1,
    len = 2,
    sgroup = 3,
    egroup = 4,
    i32 = 5
};

const char* wire_type_name(wire_type t);

enum class varint_status : std::uint8_t { ok, truncated, overlong };

// Decodes a base-128 varint at p (advancing p). Rejects >10 bytes and a 10th byte above 1.
inline varint_status read_varint(const char*& p, const char* end, std::uint64_t& out) {
    if (p != end && static_cast<unsigned char>(*p) < 0x80) {
        out = static_cast<unsigned char>(*p++);
        return varint_status::ok;
    }
    std::uint64_t v = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (p == end) return varint_status::truncated;
        const auto b = static_cast<unsigned char>(*p++);
        if (shift == 63 && b > 1) return varint_status::overlong;
        v |= static_cast<std::uint64_t>(b & 0x7fU) << shift;
        if ((b & 0x80U) == 0) {
            out = v;
            return varint_status::ok;
        }
    }
    return varint_status::overlong;
}

inline std::uint64_t zigzag_encode64(std::int64_t v) {
    return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
inline std::int64_t zigzag_decode64(std::uint64_t v) {
    return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1U);
}
inline std::uint32_t zigzag_encode32(std::int32_t v) {
    return (static_cast<std::uint32_t>(v) << 1) ^ static_cast<std::uint32_t>(v >> 31);
}
inline std::int32_t zigzag_decode32(std::uint32_t v) {
    return static_cast<std::int32_t>(v >> 1) ^ -static_cast<std::int32_t>(v & 1U);
}

// One decoded field. For varint fields `value` holds the varint; for i64/i32 the little-endian
// bits; for len fields `bytes` is the payload. `raw` always spans the whole field (key, length
// prefix and payload), which is what a pass-through encoder copies.
struct wire_field {
    std::uint32_t number = 0;
    wire_type type = wire_type::varint;
    std::uint64_t value = 0;
    bytes_view bytes;
    bytes_view raw;

    double as_double() const { return std::bit_cast<double>(value); }
    std::int64_t as_int64() const { return static_cast<std::int64_t>(value); }
};

class wire_reader {
  public:
    explicit wire_reader(bytes_view buf)
        : begin_(buf.data()), p_(buf.data()), end_(buf.data() + buf.size()) {}
    // Starts at `offset` (<= buf.size()) of buf; offsets still count from the start of buf, so a
    // fast path can hand the rest of a message over without changing error offsets.
    wire_reader(bytes_view buf, std::size_t offset)
        : begin_(buf.data()), p_(buf.data() + offset), end_(buf.data() + buf.size()) {}

    // Reads the next field. Returns false at the clean end of the buffer (error() == nullptr)
    // or on a malformed field (error() says what, error_offset() where).
    bool next(wire_field& f);

    bool at_end() const { return p_ == end_; }
    const char* error() const { return error_; }
    std::size_t error_offset() const { return error_offset_; }
    std::size_t offset() const { return static_cast<std::size_t>(p_ - begin_); }

  private:
    bool fail(const char* what, const char* at) {
        error_ = what;
        error_offset_ = static_cast<std::size_t>(at - begin_);
        return false;
    }

    const char* begin_;
    const char* p_;
    const char* end_;
    const char* error_ = nullptr;
    std::size_t error_offset_ = 0;
};

// Inline: it runs once per field on the decode hot path.
inline bool wire_reader::next(wire_field& f) {
    if (p_ == end_) return false;
    const char* start = p_;
    std::uint64_t key = 0;
    switch (read_varint(p_, end_, key)) {
        case varint_status::ok:
            break;
        case varint_status::truncated:
            return fail("truncated field key", start);
        case varint_status::overlong:
            return fail("field key varint longer than 10 bytes", start);
    }
    if (key > 0xffffffffULL) return fail("field number out of range", start);
    f.number = static_cast<std::uint32_t>(key >> 3);
    if (f.number == 0) return fail("field number 0", start);
    const auto t = static_cast<unsigned>(key & 7U);
    switch (t) {
        case 0: {
            f.type = wire_type::varint;
            const char* at = p_;
            switch (read_varint(p_, end_, f.value)) {
                case varint_status::ok:
                    break;
                case varint_status::truncated:
                    return fail("truncated varint", at);
                case varint_status::overlong:
                    return fail("varint longer than 10 bytes", at);
            }
            f.bytes = {};
            break;
        }
        case 1: {
            f.type = wire_type::i64;
            if (end_ - p_ < 8) return fail("truncated fixed64", p_);
            std::uint64_t v = 0;
            for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p_[i]);
            f.value = v;
            p_ += 8;
            f.bytes = {};
            break;
        }
        case 2: {
            f.type = wire_type::len;
            const char* at = p_;
            std::uint64_t n = 0;
            switch (read_varint(p_, end_, n)) {
                case varint_status::ok:
                    break;
                case varint_status::truncated:
                    return fail("truncated length", at);
                case varint_status::overlong:
                    return fail("length varint longer than 10 bytes", at);
            }
            if (n > static_cast<std::uint64_t>(end_ - p_)) {
                return fail("length runs past the end of the message", at);
            }
            f.bytes = bytes_view(p_, static_cast<std::size_t>(n));
            f.value = n;
            p_ += n;
            break;
        }
        case 5: {
            f.type = wire_type::i32;
            if (end_ - p_ < 4) return fail("truncated fixed32", p_);
            std::uint32_t v = 0;
            for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p_[i]);
            f.value = v;
            p_ += 4;
            f.bytes = {};
            break;
        }
        case 3:
        case 4:
            return fail("group wire types are not supported", start);
        default:
            return fail("invalid wire type", start);
    }
    f.raw = bytes_view(start, static_cast<std::size_t>(p_ - start));
    return true;
}

// Iterates the varints of a packed repeated field payload.
class packed_varint_reader {
  public:
    explicit packed_varint_reader(bytes_view payload)
        : p_(payload.data()), end_(payload.data() + payload.size()) {}
    // false at the end or on a bad varint (then failed() is true).
    bool next(std::uint64_t& v) {
        if (p_ == end_) return false;
        if (read_varint(p_, end_, v) != varint_status::ok) {
            failed_ = true;
            return false;
        }
        return true;
    }
    bool failed() const { return failed_; }

  private:
    const char* p_;
    const char* end_;
    bool failed_ = false;
};

class wire_writer {
  public:
    explicit wire_writer(std::string& out) : out_(out) {}

    static std::size_t varint_size(std::uint64_t v) {
        return static_cast<std::size_t>((70 - std::countl_zero(v | 1U)) / 7);
    }
    static void put_varint(std::string& out, std::uint64_t v) {
        char buf[10];
        std::size_t n = 0;
        while (v >= 0x80) {
            buf[n++] = static_cast<char>((v & 0x7fU) | 0x80U);
            v >>= 7;
        }
        buf[n++] = static_cast<char>(v);
        out.append(buf, n);
    }

    void key(std::uint32_t field, wire_type t) {
        put_varint(out_, (static_cast<std::uint64_t>(field) << 3) | static_cast<std::uint64_t>(t));
    }
    void varint_field(std::uint32_t field, std::uint64_t v) {
        key(field, wire_type::varint);
        put_varint(out_, v);
    }
    void int64_field(std::uint32_t field, std::int64_t v) {
        varint_field(field, static_cast<std::uint64_t>(v));
    }
    void sint64_field(std::uint32_t field, std::int64_t v) {
        varint_field(field, zigzag_encode64(v));
    }
    void fixed64_field(std::uint32_t field, std::uint64_t v) {
        key(field, wire_type::i64);
        char b[8];
        for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
        out_.append(b, 8);
    }
    void double_field(std::uint32_t field, double v) {
        fixed64_field(field, std::bit_cast<std::uint64_t>(v));
    }
    void fixed32_field(std::uint32_t field, std::uint32_t v) {
        key(field, wire_type::i32);
        char b[4];
        for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
        out_.append(b, 4);
    }
    void bytes_field(std::uint32_t field, bytes_view v) {
        key(field, wire_type::len);
        put_varint(out_, v.size());
        out_.append(v.data(), v.size());
    }
    void raw(bytes_view v) { out_.append(v.data(), v.size()); }

    // Starts a length-delimited submessage; returns a token for end_message().
    std::size_t begin_message(std::uint32_t field) {
        key(field, wire_type::len);
        out_.push_back('\0');
        return out_.size();
    }
    // Fixes up the length of the submessage started by begin_message().
    void end_message(std::size_t token);
    // Drops a submessage started by begin_message() (and its key) as if it was never written.
    void cancel_message(std::size_t token, std::uint32_t field) {
        out_.resize(token - 1 - varint_size((static_cast<std::uint64_t>(field) << 3) | 2U));
    }

    std::string& out() { return out_; }

  private:
    std::string& out_;
};

}  // namespace mg::protocol
