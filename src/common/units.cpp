#include "common/units.h"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include "common/strings.h"

namespace mg {
namespace {

// Reads a non-negative decimal number ("12", "1.5", ".5") from the front of s.
bool take_decimal(std::string_view& s, long double& out) {
    std::size_t i = 0;
    bool digits = false;
    long double whole = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
        whole = whole * 10 + (s[i] - '0');
        ++i;
        digits = true;
    }
    long double frac = 0;
    if (i < s.size() && s[i] == '.') {
        ++i;
        long double scale = 0.1L;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
            frac += (s[i] - '0') * scale;
            scale /= 10;
            ++i;
            digits = true;
        }
    }
    if (!digits) return false;
    out = whole + frac;
    s.remove_prefix(i);
    return true;
}

}  // namespace

result<std::uint64_t> parse_byte_size(std::string_view text) {
    auto s = trim(text);
    auto bad = [&](std::string_view why) {
        return make_error("invalid size \"" + std::string(text) + "\": " + std::string(why) +
                          "; want " + std::string(k_byte_size_forms));
    };
    if (s.empty()) return bad("empty");
    if (s.front() == '-') return bad("negative");
    // A plain integer is exact; take it without going through floating point.
    std::uint64_t plain = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), plain);
    if (ec == std::errc::result_out_of_range) return bad("too large");
    if (ec == std::errc() && ptr == s.data() + s.size()) return plain;

    std::string_view rest = s;
    long double number = 0;
    if (!take_decimal(rest, number)) return bad("no number");
    const std::string unit = lower(trim(rest));
    struct unit_def {
        std::string_view name;
        int power;
    };
    static constexpr std::array<unit_def, 17> k_units{{
        {"b", 0},
        {"k", 1},
        {"kb", 1},
        {"ki", 1},
        {"kib", 1},
        {"m", 2},
        {"mb", 2},
        {"mi", 2},
        {"mib", 2},
        {"g", 3},
        {"gb", 3},
        {"gi", 3},
        {"gib", 3},
        {"t", 4},
        {"tb", 4},
        {"ti", 4},
        {"tib", 4},
    }};
    for (const auto& u : k_units) {
        if (unit != u.name) continue;
        const long double bytes = number * std::pow(1024.0L, u.power);
        if (bytes >= 18446744073709551616.0L) return bad("too large");
        if (bytes != std::floor(bytes)) return bad("not a whole number of bytes");
        return static_cast<std::uint64_t>(bytes);
    }
    return bad(unit.empty() ? "no unit after a fraction" : "unknown unit \"" + unit + "\"");
}

result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
    auto s = trim(text);
    auto bad = [&](std::string_view why) {
        return make_error("invalid duration \"" + std::string(text) + "\": " + std::string(why) +
                          "; want " + std::string(k_duration_forms));
    };
    if (s.empty()) return bad("empty");
    if (s == "0") return std::chrono::nanoseconds(0);
    if (s.front() == '-') return bad("negative");
    if (s.front() == '+') s.remove_prefix(1);
    long double total_ns = 0;
    while (!s.empty()) {
        long double number = 0;
        if (!take_decimal(s, number)) return bad("expected a number");
        std::size_t n = 0;
        while (n < s.size() && !std::isdigit(static_cast<unsigned char>(s[n])) && s[n] != '.') ++n;
        const std::string_view unit = s.substr(0, n);
        s.remove_prefix(n);
        long double scale = 0;
        if (unit == "ns")
            scale = 1;
        else if (unit == "us" || unit == "\xC2\xB5s")
            scale = 1e3L;
        else if (unit == "ms")
            scale = 1e6L;
        else if (unit == "s")
            scale = 1e9L;
        else if (unit == "m")
            scale = 60e9L;
        else if (unit == "h")
            scale = 3600e9L;
        else if (unit.empty())
            return bad("missing unit");
        else
            return bad("unknown unit \"" + std::string(unit) + "\"");
        total_ns += number * scale;
    }
    if (total_ns > static_cast<long double>(std::numeric_limits<std::int64_t>::max()))
        return bad("too large");
    return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(total_ns)));
}

std::string format_byte_size(std::uint64_t bytes) {
    static constexpr std::array<const char*, 5> k_names{"B", "KB", "MB", "GB", "TB"};
    std::size_t i = 0;
    while (bytes != 0 && i + 1 < k_names.size() && bytes % 1024 == 0) {
        bytes /= 1024;
        ++i;
    }
    return std::to_string(bytes) + k_names[i];
}

std::string format_duration(std::chrono::nanoseconds d) {
    std::int64_t ns = d.count();
    if (ns == 0) return "0s";
    std::string out;
    if (ns < 0) {
        out = "-";
        ns = -ns;
    }
    auto fraction = [](std::int64_t value, std::int64_t unit) {
        std::string s = std::to_string(value / unit);
        std::int64_t rem = value % unit;
        if (rem != 0) {
            std::string digits = std::to_string(rem + unit).substr(1);  // zero-padded
            while (!digits.empty() && digits.back() == '0') digits.pop_back();
            s += "." + digits;
        }
        return s;
    };
    if (ns < 1'000) return out + std::to_string(ns) + "ns";
    if (ns < 1'000'000) return out + fraction(ns, 1'000) + "us";
    if (ns < 1'000'000'000) return out + fraction(ns, 1'000'000) + "ms";
    const std::int64_t h = ns / 3'600'000'000'000;
    ns %= 3'600'000'000'000;
    const std::int64_t m = ns / 60'000'000'000;
    ns %= 60'000'000'000;
    if (h) out += std::to_string(h) + "h";
    if (m) out += std::to_string(m) + "m";
    if (ns) out += fraction(ns, 1'000'000'000) + "s";
    return out;
}

}  // namespace mg
