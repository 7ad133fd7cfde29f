// Parsing a shape file and deriving series from it (see shape_template.h).
#include "loadgen/shape_template.h"

#include <algorithm>
#include <charconv>
#include <map>

namespace mg::loadgen {

namespace {

void append_number(std::string& out, std::uint64_t v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

bool name_char(char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

// One line: name{l="v",...}. Returns the error, empty when fine.
std::string parse_line(std::string_view line, std::string& name, std::vector<owned_label>& labels) {
    std::size_t i = 0;
    while (i < line.size() && name_char(line[i], i == 0)) ++i;
    if (i == 0) return "no metric name";
    name.assign(line.substr(0, i));
    labels.clear();
    if (i == line.size()) return {};
    if (line[i] != '{') return "want '{' after the metric name";
    ++i;
    while (i < line.size() && line[i] != '}') {
        const std::size_t start = i;
        while (i < line.size() && name_char(line[i], i == start)) ++i;
        if (i == start) return "a label without a name";
        std::string label(line.substr(start, i - start));
        if (i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"')
            return "want =\" after label " + label;
        i += 2;
        std::string value;
        while (i < line.size() && line[i] != '"') {
            if (line[i] == '\\' && i + 1 < line.size()) {
                ++i;
                value.push_back(line[i] == 'n' ? '\n' : line[i]);
            } else {
                value.push_back(line[i]);
            }
            ++i;
        }
        if (i == line.size()) return "unterminated value of label " + label;
        ++i;  // closing quote
        labels.emplace_back(std::move(label), std::move(value));
        if (i < line.size() && line[i] == ',') ++i;
    }
    if (i == line.size()) return "want '}'";
    if (i + 1 != line.size()) return "text after '}'";
    std::sort(labels.begin(), labels.end());
    for (std::size_t k = 1; k < labels.size(); ++k)
        if (labels[k].first == labels[k - 1].first)
            return "label " + labels[k].first + " twice";
    for (const auto& l : labels)
        if (l.first == "__name__") return "__name__ among the labels";
    return {};
}

}  // namespace

result<shape_template> shape_template::parse(std::string_view text) {
    std::map<std::string, std::vector<std::vector<owned_label>>> by_name;
    std::size_t line_no = 0;
    std::string name;
    std::vector<owned_label> labels;
    shape_template out;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        ++line_no;
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
        if (line.empty() || line.front() == '#') continue;
        if (auto why = parse_line(line, name, labels); !why.empty())
            return make_error("line " + std::to_string(line_no) + ": " + why);
        by_name[name].push_back(labels);
        ++out.series_;
    }
    if (by_name.empty()) return make_error("no series (want lines of name{label=\"value\",...})");
    for (auto& [n, series] : by_name) out.families_.push_back({n, std::move(series)});
    return out;
}

const shape_template::family& shape_template::family_of(std::uint32_t m,
                                                        std::uint32_t metrics) const {
    const std::size_t f = families_.size();
    if (metrics <= f) return families_[static_cast<std::size_t>(m) * f / metrics];
    return families_[m % f];
}

std::string shape_template::metric_name(std::uint32_t m, std::uint32_t metrics) const {
    std::string out = "loadgen_";
    out += family_of(m, metrics).name;
    if (metrics > families_.size() && m >= families_.size()) {
        out += '_';
        append_number(out, m / families_.size());
    }
    return out;
}

void shape_template::labels(std::uint32_t m, std::uint32_t metrics, std::uint64_t j,
                            std::uint64_t id, std::vector<owned_label>& out) const {
    const family& fam = family_of(m, metrics);
    const auto& tmpl = fam.series[j % fam.series.size()];
    out.resize(tmpl.size());
    bool has_instance = false;
    for (std::size_t k = 0; k < tmpl.size(); ++k) {
        out[k].first = tmpl[k].first;
        if (tmpl[k].first != "instance") {
            out[k].second = tmpl[k].second;
            continue;
        }
        has_instance = true;
        // Keep the template's port; the host and (past 2^24 ids) the port carry the id.
        std::uint64_t port = 9100;
        const auto colon = tmpl[k].second.rfind(':');
        if (colon != std::string::npos) {
            std::uint64_t p = 0;
            const auto& v = tmpl[k].second;
            const auto r = std::from_chars(v.data() + colon + 1, v.data() + v.size(), p);
            if (r.ec == std::errc() && p < 65536) port = p;
        }
        std::string& v = out[k].second;
        v.clear();
        v += "10.";
        append_number(v, (id >> 16) & 0xff);
        v += '.';
        append_number(v, (id >> 8) & 0xff);
        v += '.';
        append_number(v, id & 0xff);
        v += ':';
        append_number(v, port + (id >> 24));
    }
    if (!has_instance) {
        std::string v = "10.";
        append_number(v, (id >> 16) & 0xff);
        v += '.';
        append_number(v, (id >> 8) & 0xff);
        v += '.';
        append_number(v, id & 0xff);
        v += ':';
        append_number(v, 9100 + (id >> 24));
        out.emplace_back("instance", std::move(v));
        std::sort(out.begin(), out.end());
    }
}

}  // namespace mg::loadgen
