// How a setting's value is read and written: parsing flag and YAML text into the field a row
// points at (setting::assign, assign_list), rendering it back (setting::render), and the type
// name and accepted form shown in -help, the docs and every error message. The rows themselves
// are in settings.cpp. Pure functions over the row and the configuration; thread-safe.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include "common/strings.h"
#include "common/units.h"
#include "config/settings.h"

namespace mg::config::detail {

namespace {

// The shortest text that reads back as the same double: 0.01, not 0.010000000000000000208;
// 0.0005 rather than 5e-04 while the plain form is short, the exponent form past that.
std::string format_real(double v) {
    char buf[32];
    auto fixed = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
    if (fixed.ec == std::errc()) return std::string(buf, fixed.ptr);
    auto shortest = std::to_chars(buf, buf + sizeof buf, v);
    if (shortest.ec != std::errc()) return std::to_string(v);
    return std::string(buf, shortest.ptr);
}

// A decimal or exponent form ("0.01", "1e-3"); NaN and infinities are not numbers here.
std::optional<double> parse_real(std::string_view text) {
    double v = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, v);
    if (ec != std::errc() || ptr != end || text.empty() || !std::isfinite(v)) return std::nullopt;
    return v;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out += sep;
        out += item;
    }
    return out;
}

std::string quoted(std::string_view text) {
    // Appended piecewise: `"\"" + std::string(text)` trips GCC 12's -Wrestrict false positive at
    // -O3 (a Release build with -Werror).
    std::string out;
    out.reserve(text.size() + 2);
    out += '"';
    out += text;
    out += '"';
    return out;
}

std::optional<std::int64_t> parse_int(std::string_view text) {
    std::int64_t v = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, v);
    if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
    return v;
}

bool is_decimal(std::string_view text) {
    if (!text.empty() && text[0] == '-') text.remove_prefix(1);
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) != 0;
    });
}

template <typename... F>
struct overloaded : F... {
    using F::operator()...;
};
template <typename... F>
overloaded(F...) -> overloaded<F...>;

}  // namespace

std::string_view type_name_of(const setting& s) {
    switch (s.kind) {
        case value_kind::boolean:
            return "bool";
        case value_kind::integer:
            return "int";
        case value_kind::real:
            return "number";
        case value_kind::size:
            return "size";
        case value_kind::duration:
            return "duration";
        case value_kind::string:
            return "string";
        case value_kind::choice:
            return "string";
        case value_kind::listen_address:
            return "address";
        case value_kind::address_list:
            return "addresses";
    }
    return "string";
}

std::string accepted_form(const setting& s) {
    switch (s.kind) {
        case value_kind::boolean:
            return "true or false";
        case value_kind::integer:
            if (s.int_bounds && s.int_bounds->second == std::numeric_limits<std::int64_t>::max()) {
                return "an integer of " + std::to_string(s.int_bounds->first) + " or more";
            }
            if (s.int_bounds) {
                return "an integer from " + std::to_string(s.int_bounds->first) + " to " +
                       std::to_string(s.int_bounds->second);
            }
            return "an integer";
        case value_kind::real: {
            if (!s.real_limits) return "a number, e.g. 0.01";
            const auto& b = *s.real_limits;
            if (b.lo_kind == lower_bound::exclusive) {
                return "a number greater than " + format_real(b.lo) + " and at most " +
                       format_real(b.hi);
            }
            return "a number from " + format_real(b.lo) + " to " + format_real(b.hi);
        }
        case value_kind::size:
            if (s.size_bounds) {
                return "a size from " + format_byte_size(s.size_bounds->first) + " to " +
                       format_byte_size(s.size_bounds->second) + ", e.g. " +
                       std::to_string(s.size_bounds->second) + " or " +
                       format_byte_size(s.size_bounds->second);
            }
            return std::string(k_byte_size_forms);
        case value_kind::duration:
            return s.must_be_positive ? "a duration greater than 0, e.g. 30s, 5m, 1h, 2h30m"
                                      : std::string(k_duration_forms);
        case value_kind::string:
            return s.empty_allowed ? "a string; empty means none" : "a non-empty string";
        case value_kind::choice:
            return "one of " + join(s.choices, ", ");
        case value_kind::listen_address:
            return s.empty_allowed ? std::string(k_listen_address_forms) + ", or empty for none"
                                   : std::string(k_listen_address_forms);
        case value_kind::address_list:
            return "comma-separated " + std::string(k_server_address_forms) +
                   " (in YAML also a list); empty means none";
    }
    return {};
}

status setting::assign(app_config& config, std::string_view text) const {
    const std::string want = "; want " + info.accepted;
    field_ref ref = field(config);
    switch (kind) {
        case value_kind::boolean: {
            bool v = false;
            if (iequals(text, "true") || text == "1") {
                v = true;
            } else if (!iequals(text, "false") && text != "0") {
                return make_error(quoted(text) + " is not a boolean" + want);
            }
            *std::get<bool*>(ref) = v;
            return {};
        }
        case value_kind::integer: {
            auto v = parse_int(text);
            if (!v && is_decimal(text)) {  // too many digits for 64 bits
                return make_error(std::string(text) + " is out of range" + want);
            }
            if (!v) return make_error(quoted(text) + " is not an integer" + want);
            auto lo = int_bounds ? int_bounds->first : std::numeric_limits<int>::min();
            auto hi = int_bounds ? int_bounds->second : std::numeric_limits<int>::max();
            if (*v < lo || *v > hi)
                return make_error(std::string(text) + " is out of range" + want);
            if (auto* count = std::get_if<std::uint64_t*>(&ref)) {
                **count = static_cast<std::uint64_t>(*v);  // int_range() keeps lo >= 0 here
            } else {
                *std::get<int*>(ref) = static_cast<int>(*v);
            }
            return {};
        }
        case value_kind::real: {
            auto v = parse_real(text);
            if (!v) return make_error(quoted(text) + " is not a number" + want);
            if (real_limits) {
                const auto& b = *real_limits;
                const bool low = b.lo_kind == lower_bound::exclusive ? *v <= b.lo : *v < b.lo;
                if (low || *v > b.hi) {
                    return make_error(std::string(text) + " is out of range" + want);
                }
            }
            *std::get<double*>(ref) = *v;
            return {};
        }
        case value_kind::size: {
            auto v = parse_byte_size(text);
            if (!v) return make_error(v.error_message());
            if (size_bounds && (*v < size_bounds->first || *v > size_bounds->second)) {
                return make_error(std::string(text) + " is out of range" + want);
            }
            *std::get<std::uint64_t*>(ref) = *v;
            return {};
        }
        case value_kind::duration: {
            auto v = parse_duration(text);
            if (!v) return make_error(v.error_message());
            if (must_be_positive && v->count() <= 0) {
                return make_error(std::string(text) + " is out of range" + want);
            }
            *std::get<std::chrono::nanoseconds*>(ref) = *v;
            return {};
        }
        case value_kind::string:
            if (text.empty() && !empty_allowed) return make_error("empty value" + want);
            if (info.secret && text == "<redacted>") {
                return make_error(
                    "\"<redacted>\" is the placeholder -show-effective-config prints; put the "
                    "secret (or its *_file setting) back");
            }
            *std::get<std::string*>(ref) = std::string(text);
            return {};
        case value_kind::choice:
            if (std::find(choices.begin(), choices.end(), text) == choices.end()) {
                return make_error(quoted(text) + " is not accepted" + want);
            }
            *std::get<std::string*>(ref) = std::string(text);
            return {};
        case value_kind::listen_address: {
            if (text.empty() && empty_allowed) {  // an optional listener that is off
                std::get<std::string*>(ref)->clear();
                return {};
            }
            auto v = parse_listen_address(text);
            if (!v) return make_error(v.error_message());
            *std::get<std::string*>(ref) = std::string(text);
            return {};
        }
        case value_kind::address_list:
            return assign_list(config, {std::string(text)});
    }
    return make_error("unsupported setting kind");
}

status setting::assign_list(app_config& config, const std::vector<std::string>& items) const {
    if (kind != value_kind::address_list) return make_error("got a list; want " + info.accepted);
    // Every item may itself be comma-separated; a lone empty text is the empty list (off).
    std::vector<std::string> out;
    for (const auto& item : items) {
        if (items.size() == 1 && trim(item).empty()) break;
        std::string_view rest = item;
        while (true) {
            const auto comma = rest.find(',');
            const auto piece = trim(rest.substr(0, comma));
            if (piece.empty())
                return make_error("an empty item in the list; want " + info.accepted);
            auto v = parse_server_address(piece);
            if (!v) return make_error(v.error_message());
            if (std::find(out.begin(), out.end(), piece) != out.end()) {
                return make_error(quoted(piece) + " is listed twice; want each address once");
            }
            out.emplace_back(piece);
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
        }
    }
    *std::get<std::vector<std::string>*>(field(config)) = std::move(out);
    return {};
}

std::string setting::render(const app_config& config) const {
    const const_field_ref ref = const_field(config);
    if (kind == value_kind::integer) {
        // A count (int_range() on a std::uint64_t), not a size: "100000", never "97.65625KB".
        if (const auto* count = std::get_if<const std::uint64_t*>(&ref)) {
            return std::to_string(**count);
        }
    }
    return std::visit(
        overloaded{[](const bool* v) -> std::string { return *v ? "true" : "false"; },
                   [](const int* v) { return std::to_string(*v); },
                   [](const std::uint64_t* v) { return format_byte_size(*v); },
                   [](const double* v) { return format_real(*v); },
                   [](const std::chrono::nanoseconds* v) { return format_duration(*v); },
                   [](const std::string* v) { return *v; },
                   [](const std::vector<std::string>* v) { return join(*v, ","); }},
        ref);
}

}  // namespace mg::config::detail
