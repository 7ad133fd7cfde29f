#include "protocol/prometheus_names.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace mg::protocol {

namespace {

bool ascii_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool ascii_digit(char c) {
    return c >= '0' && c <= '9';
}
bool only_underscores(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c == '_'; });
}

struct unit_word {
    std::string_view otlp, prometheus;
};

// OTLP units (UCUM case-sensitive codes) and their Prometheus words: the table Prometheus' OTLP
// translator uses. "1" maps to nothing (a gauge of unit 1 gets `_ratio` instead).
constexpr unit_word k_units[] = {
    {"d", "days"},
    {"h", "hours"},
    {"min", "minutes"},
    {"s", "seconds"},
    {"ms", "milliseconds"},
    {"us", "microseconds"},
    {"ns", "nanoseconds"},
    {"By", "bytes"},
    {"KiBy", "kibibytes"},
    {"MiBy", "mebibytes"},
    {"GiBy", "gibibytes"},
    {"TiBy", "tibibytes"},
    {"KBy", "kilobytes"},
    {"MBy", "megabytes"},
    {"GBy", "gigabytes"},
    {"TBy", "terabytes"},
    {"m", "meters"},
    {"V", "volts"},
    {"A", "amperes"},
    {"J", "joules"},
    {"W", "watts"},
    {"g", "grams"},
    {"Cel", "celsius"},
    {"Hz", "hertz"},
    {"1", ""},
    {"%", "percent"},
};

// The denominator of "a/b" units, singular: `m/s` is meters_per_second.
constexpr unit_word k_per_units[] = {
    {"s", "second"}, {"m", "minute"}, {"h", "hour"}, {"d", "day"},
    {"w", "week"},   {"mo", "month"}, {"y", "year"},
};

template <std::size_t N>
std::string_view word_for(const unit_word (&table)[N], std::string_view unit) {
    for (const unit_word& u : table) {
        if (u.otlp == unit) return u.prometheus;
    }
    return unit;  // an unknown unit is used as it is (cleaned up below)
}

std::string_view trim_space(std::string_view s) {
    const auto space = [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
    };
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return s;
}

// Calls f(token) for each maximal run of ASCII letters and digits in s.
template <typename F>
void for_each_token(std::string_view s, F&& f) {
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && !ascii_alnum(s[i])) ++i;
        const std::size_t start = i;
        while (i < s.size() && ascii_alnum(s[i])) ++i;
        if (i > start) f(s.substr(start, i - start));
    }
}

bool has_token(std::string_view s, std::string_view token) {
    bool found = false;
    for_each_token(s, [&](std::string_view t) { found = found || t == token; });
    return found;
}

// The tokens of s joined with `_` (a unit word made of valid characters only).
void clean_up(std::string_view s, std::string& out) {
    out.clear();
    for_each_token(s, [&](std::string_view t) {
        if (!out.empty()) out += '_';
        out += t;
    });
}

// A unit part usable as a suffix: not blank and not an annotation (`{requests}`).
bool usable_unit(std::string_view u) {
    return !u.empty() && u.find_first_of("{}") == std::string_view::npos;
}

}  // namespace

// Metric names: the characters outside [a-zA-Z0-9_:] separate tokens, which are joined with one
// `_` (so a run of them is one `_`, and they vanish at both ends); underscores themselves are
// kept. A leading digit gets a `_` in front. Empty, or changed into only underscores: invalid.
void sanitize_metric_name(std::string_view in, std::string& out) {
    out.clear();
    bool pending = false;  // a separator run since the last token character
    for (char c : in) {
        if (ascii_alnum(c) || c == '_' || c == ':') {
            if (pending && !out.empty()) out += '_';
            pending = false;
            out += c;
        } else {
            pending = true;
        }
    }
    if (!out.empty() && ascii_digit(out.front())) out.insert(out.begin(), '_');
    if (out.empty() || (out != in && only_underscores(out))) out.clear();
}

// Suffixed metric names: the name's tokens (runs of letters and digits: `_`, `.`, `:` and every
// other character separate them), then the unit word unless a token already equals it, then
// "per" and the denominator's word (same condition), then `total` / `ratio` with every earlier
// element equal to it removed (so it comes last, once), joined with `_`. A name without any
// letter or digit is invalid even if suffixes would follow (Prometheus would name it after its
// unit alone: a metric nobody could find).
void suffixed_metric_name(std::string_view name, std::string_view unit, otlp_name_type type,
                          std::string& out) {
    out.clear();
    const bool total = type == otlp_name_type::monotonic_sum;
    const bool ratio = type == otlp_name_type::gauge && unit == "1";
    const auto append = [&](std::string_view t) {
        if (t.empty() || (total && t == "total") || (ratio && t == "ratio")) return;
        if (!out.empty()) out += '_';
        out += t;
    };
    bool any = false;
    for_each_token(name, [&](std::string_view t) {
        any = true;
        append(t);
    });
    if (!any) return;
    const std::size_t slash = unit.find('/');
    const std::string_view main = trim_space(unit.substr(0, slash));
    std::string main_word, per_word;  // short: in the string's own buffer
    if (usable_unit(main)) {
        clean_up(word_for(k_units, main), main_word);
        if (!main_word.empty() && !has_token(name, main_word)) {
            append(main_word);
        } else {
            main_word.clear();
        }
    }
    if (slash != std::string_view::npos) {
        const std::string_view per = trim_space(unit.substr(slash + 1));
        if (usable_unit(per)) {
            clean_up(word_for(k_per_units, per), per_word);
            if (!per_word.empty() && !has_token(name, per_word) && per_word != main_word) {
                append("per");
                append(per_word);
            }
        }
    }
    if (total || ratio) {
        if (!out.empty()) out += '_';
        out += total ? "total" : "ratio";
    }
    if (!out.empty() && ascii_digit(out.front())) out.insert(out.begin(), '_');
}

// Label names: every character outside [a-zA-Z0-9] becomes `_`, a run of them one `_` (so `__`
// inside a name collapses too), except that a reserved name `__x__` keeps its wrapping
// underscores; a leading digit gets `key_`. Only underscores: invalid.
void sanitize_label_name(std::string_view in, std::string& out) {
    out.clear();
    const bool reserved = in.size() >= 4 && in.starts_with("__") && in.ends_with("__");
    const std::string_view inner = reserved ? in.substr(2, in.size() - 4) : in;
    if (reserved) out += "__";
    bool prev_underscore = false;
    for (char c : inner) {
        if (ascii_alnum(c)) {
            out += c;
            prev_underscore = false;
        } else if (!prev_underscore) {
            out += '_';
            prev_underscore = true;
        }
    }
    if (reserved) out += "__";
    if (!out.empty() && ascii_digit(out.front())) out.insert(0, "key_");
    if (only_underscores(out)) out.clear();
}

// Go's strconv.FormatFloat(v, 'f', -1, 64): the shortest decimal that round-trips, never in
// exponent form (what Prometheus' translator writes into `le` and `quantile`).
void format_fixed(double v, std::string& out) {
    out.clear();
    if (std::isinf(v)) {
        out = v > 0 ? "+Inf" : "-Inf";
        return;
    }
    if (std::isnan(v)) {
        out = "NaN";
        return;
    }
    char buf[400];  // 1.8e308 in fixed form has 309 digits
    const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
    out.assign(buf, r.ptr);
}

std::string prometheus_metric_name(std::string_view otlp_name) {
    std::string out;
    sanitize_metric_name(otlp_name, out);
    return out;
}

std::string prometheus_metric_name(std::string_view otlp_name, std::string_view unit,
                                   otlp_name_type type) {
    std::string out;
    suffixed_metric_name(otlp_name, unit, type, out);
    return out;
}

std::string prometheus_label_name(std::string_view otlp_key) {
    std::string out;
    sanitize_label_name(otlp_key, out);
    return out;
}

}  // namespace mg::protocol
