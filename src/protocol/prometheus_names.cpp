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

std::string prometheus_label_name(std::string_view otlp_key) {
    std::string out;
    sanitize_label_name(otlp_key, out);
    return out;
}

}  // namespace mg::protocol
