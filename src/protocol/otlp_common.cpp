#include <algorithm>
#include <charconv>
#include <cmath>

#include "protocol/otlp_internal.h"

namespace mg::protocol::otlp_detail {

decode_status fail(const std::string& what) {
    return decode_status::malformed("OTLP: " + what);
}

decode_status fail_wire(const wire_reader& r, const char* where) {
    return fail(std::string(where) + ": " + r.error() + " at offset " +
                std::to_string(r.error_offset()));
}

decode_status fail_type(const wire_field& f, const char* where, wire_type want) {
    return fail(std::string(where) + " (field " + std::to_string(f.number) + ") has wire type " +
                wire_type_name(f.type) + ", want " + wire_type_name(want));
}

void render_double(double v, std::string& out) {
    if (std::isnan(v)) {
        out += "NaN";
        return;
    }
    if (std::isinf(v)) {
        out += v > 0 ? "+Inf" : "-Inf";
        return;
    }
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

void render_int(std::int64_t v, std::string& out) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

void json_quote(std::string_view s, std::string& out) {
    out += '"';
    for (char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    static constexpr char hex[] = "0123456789abcdef";
                    out += "\\u00";
                    out += hex[(static_cast<unsigned char>(c) >> 4) & 0xF];
                    out += hex[static_cast<unsigned char>(c) & 0xF];
                } else {
                    out += c;
                }
        }
    }
    out += '"';
}

void render_kvlist(std::vector<std::pair<std::string_view, std::string>>& items, std::string& out) {
    std::stable_sort(items.begin(), items.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    out += '{';
    bool first = true;
    for (const auto& [k, v] : items) {
        if (!first) out += ',';
        first = false;
        json_quote(k, out);
        out += ':';
        out += v;
    }
    out += '}';
}

void merge_labels(std::span<const label_view> base, std::span<const label_view> top,
                  std::vector<label_view>& out) {
    out.clear();
    std::size_t i = 0, j = 0;
    while (i < base.size() && j < top.size()) {
        if (base[i].name < top[j].name) {
            out.push_back(base[i++]);
        } else if (top[j].name < base[i].name) {
            out.push_back(top[j++]);
        } else {
            out.push_back(top[j++]);
            ++i;
        }
    }
    out.insert(out.end(), base.begin() + static_cast<std::ptrdiff_t>(i), base.end());
    out.insert(out.end(), top.begin() + static_cast<std::ptrdiff_t>(j), top.end());
}

void push_point(series_batch& out, series_entry& e, metric_kind k,
                std::span<const label_view> scope_merged, std::span<const label_view> point,
                std::vector<label_view>& merged) {
    merge_labels(scope_merged, point, merged);
    e.label_begin = out.label_mark();
    out.push_labels(merged);
    e.label_count = static_cast<std::uint32_t>(merged.size());
    if (k == metric_kind::gauge || k == metric_kind::sum) {
        e.samples = 1;
    } else {
        e.histograms = 1;
    }
    out.push_series(e);
}

}  // namespace mg::protocol::otlp_detail
