// ASCII text helpers and base64 (see strings.h).
#include "common/strings.h"

#include <algorithm>

namespace mg {

namespace {

constexpr char k_base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// The value of a base64 digit in either alphabet (standard "+/", URL-safe "-_"); -1 for others.
int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

}  // namespace

std::string_view trim(std::string_view s, std::string_view chars) {
    const auto first = s.find_first_not_of(chars);
    if (first == std::string_view::npos) return s.substr(s.size());
    return s.substr(first, s.find_last_not_of(chars) - first + 1);
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return ascii_lower(x) == ascii_lower(y);
           });
}

void base64_append(std::string_view in, std::string& out) {
    out.reserve(out.size() + (in.size() + 2) / 3 * 4);
    const auto at = [in](std::size_t k) {
        return static_cast<unsigned>(static_cast<unsigned char>(in[k]));
    };
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        const unsigned v = (at(i) << 16U) | (at(i + 1) << 8U) | at(i + 2);
        out += k_base64_alphabet[(v >> 18U) & 63U];
        out += k_base64_alphabet[(v >> 12U) & 63U];
        out += k_base64_alphabet[(v >> 6U) & 63U];
        out += k_base64_alphabet[v & 63U];
    }
    if (in.size() - i == 1) {
        const unsigned v = at(i) << 16U;
        out += k_base64_alphabet[(v >> 18U) & 63U];
        out += k_base64_alphabet[(v >> 12U) & 63U];
        out += "==";
    } else if (in.size() - i == 2) {
        const unsigned v = (at(i) << 16U) | (at(i + 1) << 8U);
        out += k_base64_alphabet[(v >> 18U) & 63U];
        out += k_base64_alphabet[(v >> 12U) & 63U];
        out += k_base64_alphabet[(v >> 6U) & 63U];
        out += '=';
    }
}

std::string base64_encode(std::string_view in) {
    std::string out;
    base64_append(in, out);
    return out;
}

bool base64_decode(std::string_view in, std::string& out) {
    while (!in.empty() && in.back() == '=') in.remove_suffix(1);
    if (in.size() % 4 == 1) return false;
    unsigned acc = 0;
    int bits = 0;
    for (char c : in) {
        const int v = base64_value(c);
        if (v < 0) return false;
        acc = (acc << 6U) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> static_cast<unsigned>(bits)) & 0xFFU);
        }
    }
    return true;
}

}  // namespace mg
