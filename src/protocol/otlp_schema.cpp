// The OTLP/JSON number readers of otlp_schema.h.
#include "protocol/otlp_schema.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

namespace mg::protocol::otlp_schema {

using json = nlohmann::json;

namespace {

// The whole string is one integer (or double) for from_chars, nothing before or after it.
template <typename T>
bool from_string(const std::string& s, T& out) {
    const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

bool json_uint64(const json& v, std::uint64_t& out) {
    if (v.is_number_unsigned()) {
        out = v.get<std::uint64_t>();
        return true;
    }
    if (v.is_number_integer()) {
        const auto i = v.get<std::int64_t>();
        if (i < 0) return false;
        out = static_cast<std::uint64_t>(i);
        return true;
    }
    if (v.is_number_float()) {  // 3.0 is a valid JSON number for an integer field
        const double d = v.get<double>();
        if (!(d >= 0) || d >= 18446744073709551616.0 || std::floor(d) != d) return false;
        out = static_cast<std::uint64_t>(d);
        return true;
    }
    if (!v.is_string()) return false;
    return from_string(v.get_ref<const std::string&>(), out);
}

bool json_int64(const json& v, std::int64_t& out) {
    if (v.is_number_integer() && !v.is_number_unsigned()) {
        out = v.get<std::int64_t>();
        return true;
    }
    if (v.is_number_unsigned()) {
        const auto u = v.get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return false;
        out = static_cast<std::int64_t>(u);
        return true;
    }
    if (v.is_number_float()) {  // as in json_uint64: integral values only
        const double d = v.get<double>();
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || std::floor(d) != d) {
            return false;
        }
        out = static_cast<std::int64_t>(d);
        return true;
    }
    if (!v.is_string()) return false;
    return from_string(v.get_ref<const std::string&>(), out);
}

bool json_double(const json& v, double& out) {
    if (v.is_number()) {
        out = v.get<double>();
        return true;
    }
    if (!v.is_string()) return false;
    const std::string& s = v.get_ref<const std::string&>();
    if (s == "NaN") {
        out = std::numeric_limits<double>::quiet_NaN();
    } else if (s == "Infinity") {
        out = std::numeric_limits<double>::infinity();
    } else if (s == "-Infinity") {
        out = -std::numeric_limits<double>::infinity();
    } else {
        return from_string(s, out);
    }
    return true;
}

}  // namespace mg::protocol::otlp_schema
