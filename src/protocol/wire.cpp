#include "protocol/wire.h"

namespace mg::protocol {

const char* wire_type_name(wire_type t) {
    switch (t) {
        case wire_type::varint:
            return "varint";
        case wire_type::i64:
            return "fixed64";
        case wire_type::len:
            return "length-delimited";
        case wire_type::sgroup:
            return "start-group";
        case wire_type::egroup:
            return "end-group";
        case wire_type::i32:
            return "fixed32";
    }
    return "invalid";
}

void wire_writer::end_message(std::size_t token) {
    const std::size_t len = out_.size() - token;
    const std::size_t n = varint_size(len);
    if (n == 1) {
        out_[token - 1] = static_cast<char>(len);
        return;
    }
    out_.insert(token, n - 1, '\0');
    char* p = out_.data() + token - 1;
    std::uint64_t v = len;
    while (v >= 0x80) {
        *p++ = static_cast<char>((v & 0x7fU) | 0x80U);
        v >>= 7;
    }
    *p = static_cast<char>(v);
}

}  // namespace mg::protocol
