#include "limits/limits_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "common/units.h"
#include "config/yaml_node.h"
#include "limits/bounded_regex.h"

namespace mg::limits {

using config::node_kind;

namespace {

constexpr std::string_view k_count_form = "an integer of 0 or more (0 = no limit)";
constexpr std::string_view k_label_limit_form = "an integer of 1 or more";
constexpr std::string_view k_rule_name_form =
    "a unique name of letters, digits and _ . : - (e.g. http-requests-dev)";
constexpr std::string_view k_label_name_form =
    "a Prometheus label name: a letter or _, then letters, digits or _ (e.g. user_id)";
constexpr std::string_view k_tenant_name_form =
    "a tenant name as senders give it: 1 to 1024 bytes of UTF-8 without control characters";
constexpr std::string_view k_max_tracked_form = "an integer from 1 to 100000000";
constexpr std::uint64_t k_max_overflow_tracked = 100000000;
constexpr std::string_view k_interval_form =
    "a duration from 1s to 1h, e.g. 15s (leave it out for -overflow-interval)";
constexpr std::string_view k_keep_labels_form = "a list of label names, e.g. [service, env]";
// The keys every rule (and the defaults) may carry for action overflow.
constexpr std::string_view k_overflow_keys =
    "keep_labels, overflow_label, overflow_aggregation, overflow_max_tracked, overflow_interval";
constexpr std::string_view k_pattern_form =
    "an exact metric name or an ECMAScript regex matched against the whole name";

std::string in_quotes(std::string_view text) {
    return "\"" + std::string(text) + "\"";
}

bool is_rule_name(std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' ||
               c == ':' || c == '-';
    });
}

bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + n >= s.size()) return false;
        for (std::size_t k = 1; k <= n; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) return false;
            cp = cp << 6 | (cc & 0x3F);
        }
        // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

bool is_label_name(std::string_view name) {
    auto alpha = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    };
    return !name.empty() && alpha(name[0]) &&
           std::all_of(name.begin() + 1, name.end(),
                       [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

// Collects every problem of one document; the parse goes on after each, so one run reports all.
class parser {
  public:
    std::vector<std::string> errors;

    void parse(const YAML::Node& root, limits_file& out) {
        if (root.IsNull()) return;  // empty document or only comments: no limits
        if (!root.IsMap()) {
            errors.push_back("file: got " + std::string(node_kind(root)) +
                             "; want a map with defaults and rules");
            return;
        }
        for_each_entry(
            root, "",
            [&](const std::string& key, const YAML::Node& value, const std::string& path) {
                if (key == "defaults") {
                    out.has_defaults = true;
                    parse_defaults(value, path, out.defaults);
                } else if (key == "rules") {
                    parse_rules(value, path, out.rules);
                } else if (key == "tenants") {
                    parse_tenants(value, path, out.tenants);
                } else if (key == "tenant_defaults") {
                    out.has_tenant_defaults = true;
                    parse_tenant(value, path, out.tenant_defaults);
                } else {
                    unknown_key(path, "defaults, rules, tenants, tenant_defaults");
                }
            });
    }

  private:
    void fail(const std::string& path, std::string message) {
        errors.push_back(path + ": " + std::move(message));
    }

    void unknown_key(const std::string& path, std::string_view accepted) {
        fail(path, "unknown key; want one of " + std::string(accepted));
    }

    // Keys the Go governor accepts but this one does not: say so, rather than "unknown key".
    bool unsupported_key(const std::string& key, const std::string& path) {
        if (key == "max_datapoints_rate") {
            fail(path,
                 "not supported (the Go governor's datapoint rate limit; limits here are on "
                 "cardinality only); remove it");
            return true;
        }
        if (key == "group_by") {
            fail(path,
                 "not supported (it groups the Go governor's adaptive action, which is not "
                 "supported either); remove it");
            return true;
        }
        return false;
    }

    // Calls f(key, value, path) for each entry of a map node, reporting non-scalar and duplicate
    // keys itself. A null node (a key with nothing under it) is an empty map.
    template <typename F>
    void for_each_entry(const YAML::Node& node, const std::string& prefix, F&& f,
                        std::string_view want = "a map") {
        if (node.IsNull()) return;
        if (!node.IsMap()) {
            fail(prefix, "got " + std::string(node_kind(node)) + "; want " + std::string(want));
            return;
        }
        std::set<std::string, std::less<>> seen;
        for (const auto& entry : node) {
            if (!entry.first.IsScalar()) {
                fail(prefix.empty() ? std::string("file") : prefix,
                     "keys must be plain names, not " + std::string(node_kind(entry.first)));
                continue;
            }
            const std::string& key = entry.first.Scalar();
            const std::string path = prefix.empty() ? key : prefix + "." + key;
            if (!seen.insert(key).second) {
                fail(path, "duplicate key; give each key once");
                continue;
            }
            f(key, entry.second, path);
        }
    }

    std::optional<std::string> read_scalar(const YAML::Node& node, const std::string& path,
                                           std::string_view want) {
        if (!node.IsScalar()) {
            fail(path, "got " + std::string(node_kind(node)) + "; want " + std::string(want));
            return std::nullopt;
        }
        return node.Scalar();
    }

    std::optional<std::uint64_t> read_count(const YAML::Node& node, const std::string& path,
                                            std::string_view want) {
        auto text = read_scalar(node, path, want);
        if (!text) return std::nullopt;
        const std::string& t = *text;
        if (!t.empty() && t[0] == '-') {
            fail(path, t + " is negative; want " + std::string(want));
            return std::nullopt;
        }
        std::uint64_t v = 0;
        const char* end = t.data() + t.size();
        auto [ptr, ec] = std::from_chars(t.data(), end, v);
        if (ec == std::errc::result_out_of_range) {
            fail(path, t + " is out of range; want " + std::string(want));
            return std::nullopt;
        }
        if (t.empty() || ec != std::errc() || ptr != end) {
            fail(path, in_quotes(t) + " is not an integer; want " + std::string(want));
            return std::nullopt;
        }
        return v;
    }

    std::optional<action> read_action(const YAML::Node& node, const std::string& path) {
        constexpr std::string_view want = "drop, log or overflow";
        auto text = read_scalar(node, path, want);
        if (!text) return std::nullopt;
        if (*text == "drop") return action::drop;
        if (*text == "log") return action::log;
        if (*text == "overflow") return action::overflow;
        if (*text == "adaptive") {
            fail(path,
                 "\"adaptive\" (the Go governor's action) is not supported; want drop, log or "
                 "overflow");
        } else {
            fail(path, in_quotes(*text) + " is not an action; want drop, log or overflow");
        }
        return std::nullopt;
    }

    std::optional<label_limit_action> read_label_action(const YAML::Node& node,
                                                        const std::string& path) {
        constexpr std::string_view want = "drop, strip or overflow";
        auto text = read_scalar(node, path, want);
        if (!text) return std::nullopt;
        if (*text == "drop") return label_limit_action::drop;
        if (*text == "strip") return label_limit_action::strip;
        if (*text == "overflow") return label_limit_action::overflow;
        fail(path, in_quotes(*text) + " is not a label limit action; want drop, strip or overflow");
        return std::nullopt;
    }

    // The overflow keys of a rule or the defaults; false when `key` is not one of them.
    bool parse_overflow_key(const std::string& key, const YAML::Node& value,
                            const std::string& path, rule& r) {
        if (key == "keep_labels") {
            parse_keep_labels(value, path, r);
        } else if (key == "overflow_label") {
            auto text = read_scalar(value, path, k_label_name_form);
            if (text && check_label_name(*text, path)) r.overflow_label = *text;
        } else if (key == "overflow_aggregation") {
            auto text = read_scalar(value, path, "sum, max, min or last");
            if (!text) return true;
            auto a = overflow::parse_gauge_aggregation(*text);
            if (a) {
                r.overflow_aggregation = *a;
            } else {
                fail(path, a.error_message());
            }
        } else if (key == "overflow_max_tracked") {
            auto v = read_count(value, path, k_max_tracked_form);
            if (!v) return true;
            if (*v == 0 || *v > k_max_overflow_tracked) {
                fail(path, std::to_string(*v) + " is out of range; want " +
                               std::string(k_max_tracked_form));
                return true;
            }
            r.overflow_max_tracked = *v;
        } else if (key == "overflow_interval") {
            auto text = read_scalar(value, path, k_interval_form);
            if (!text) return true;
            auto d = parse_duration(*text);
            if (!d || *d < std::chrono::seconds(1) || *d > std::chrono::hours(1)) {
                fail(path, in_quotes(*text) + " is not a duration from 1s to 1h; want " +
                               std::string(k_interval_form));
                return true;
            }
            r.overflow_interval = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
        } else {
            return false;
        }
        return true;
    }

    void parse_keep_labels(const YAML::Node& node, const std::string& path, rule& r) {
        if (node.IsNull()) return;
        if (!node.IsSequence()) {
            fail(path, "got " + std::string(node_kind(node)) + "; want " +
                           std::string(k_keep_labels_form));
            return;
        }
        std::size_t index = 0;
        for (const auto& item : node) {
            const std::string item_path = path + "[" + std::to_string(index++) + "]";
            auto text = read_scalar(item, item_path, k_label_name_form);
            if (!text || !check_label_name(*text, item_path)) continue;
            if (std::find(r.keep_labels.begin(), r.keep_labels.end(), *text) !=
                r.keep_labels.end()) {
                fail(item_path, in_quotes(*text) + " is listed twice; give each label once");
                continue;
            }
            r.keep_labels.push_back(*text);
        }
        std::sort(r.keep_labels.begin(), r.keep_labels.end());
    }

    // The overflow series' marker label must not be one it keeps (it would be overwritten).
    void check_overflow_rule(const std::string& path, const rule& r) {
        if (std::binary_search(r.keep_labels.begin(), r.keep_labels.end(), r.overflow_label)) {
            fail(path + ".keep_labels",
                 in_quotes(r.overflow_label) +
                     " is the overflow label; keep other labels, or name another overflow_label");
        }
    }

    void parse_tenants(const YAML::Node& node, const std::string& path,
                       std::map<std::string, tenant_limits, std::less<>>& out) {
        for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& key_path) {
                if (!check_tenant_name(key, key_path)) return;
                parse_tenant(value, key_path, out[key]);
            },
            "a map of tenant name to {max_series, defaults, rules}");
    }

    bool check_tenant_name(const std::string& name, const std::string& path) {
        if (name.empty()) {
            fail(path, "empty tenant name; want " + std::string(k_tenant_name_form));
            return false;
        }
        if (name.size() > k_max_tenant_name_bytes) {
            fail(path, "tenant name longer than " + std::to_string(k_max_tenant_name_bytes) +
                           " bytes; want " + std::string(k_tenant_name_form));
            return false;
        }
        if (!valid_utf8(name)) {
            fail(path, "tenant name is not valid UTF-8; want " + std::string(k_tenant_name_form));
            return false;
        }
        for (const char c : name) {
            const auto u = static_cast<unsigned char>(c);
            if (u < 0x20 || u == 0x7f) {
                fail(path, "tenant name holds a control character; want " +
                               std::string(k_tenant_name_form));
                return false;
            }
        }
        return true;
    }

    void parse_tenant(const YAML::Node& node, const std::string& path, tenant_limits& out) {
        for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& key_path) {
                if (key == "max_series") {
                    if (auto v = read_count(value, key_path, k_count_form)) out.max_series = *v;
                } else if (key == "defaults") {
                    out.has_defaults = true;
                    parse_defaults(value, key_path, out.defaults);
                } else if (key == "rules") {
                    out.has_rules = true;
                    parse_rules(value, key_path, out.rules);
                } else {
                    unknown_key(key_path, "max_series, defaults, rules");
                }
            },
            "a map with max_series, defaults and rules");
        out.defaults.name = "default";
    }

    void parse_defaults(const YAML::Node& node, const std::string& path, rule& out) {
        out.name = "default";
        for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& key_path) {
                if (key == "max_cardinality") {
                    if (auto v = read_count(value, key_path, k_count_form))
                        out.max_cardinality = *v;
                } else if (key == "action") {
                    if (auto a = read_action(value, key_path)) out.on_limit = *a;
                } else if (parse_overflow_key(key, value, key_path, out)) {
                } else if (!unsupported_key(key, key_path)) {
                    unknown_key(key_path,
                                "max_cardinality, action, " + std::string(k_overflow_keys));
                }
            },
            "a map with max_cardinality and action");
        check_overflow_rule(path, out);
    }

    void parse_rules(const YAML::Node& node, const std::string& path, std::vector<rule>& out) {
        if (node.IsNull()) return;
        if (!node.IsSequence()) {
            fail(path, "got " + std::string(node_kind(node)) + "; want a list of rules");
            return;
        }
        std::set<std::string, std::less<>> names;
        std::size_t index = 0;
        for (const auto& item : node) {
            const std::string rule_path = path + "[" + std::to_string(index++) + "]";
            rule r;
            if (parse_rule(item, rule_path, r)) {
                if (!names.insert(r.name).second) {
                    fail(rule_path + ".name", in_quotes(r.name) +
                                                  " is used by an earlier rule; want " +
                                                  std::string(k_rule_name_form));
                }
            }
            out.push_back(std::move(r));
        }
    }

    // Fills r; returns whether the rule has a valid name (for the duplicate check).
    bool parse_rule(const YAML::Node& node, const std::string& path, rule& r) {
        if (!node.IsMap()) {
            fail(path, "got " + std::string(node_kind(node)) +
                           "; want a map with name, match, max_cardinality, action, label_limits, "
                           "label_limit_action");
            return false;
        }
        bool has_name = false;
        bool name_ok = false;
        for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& key_path) {
                if (key == "name") {
                    has_name = true;
                    auto text = read_scalar(value, key_path, k_rule_name_form);
                    if (!text) return;
                    if (!is_rule_name(*text)) {
                        fail(key_path, in_quotes(*text) + " is not a valid rule name; want " +
                                           std::string(k_rule_name_form));
                    } else if (*text == "default") {
                        fail(key_path, "\"default\" is reserved for the defaults; want " +
                                           std::string(k_rule_name_form));
                    } else {
                        r.name = *text;
                        name_ok = true;
                    }
                } else if (key == "match") {
                    parse_match(value, key_path, r);
                } else if (key == "max_cardinality") {
                    if (auto v = read_count(value, key_path, k_count_form)) r.max_cardinality = *v;
                } else if (key == "action") {
                    if (auto a = read_action(value, key_path)) r.on_limit = *a;
                } else if (key == "label_limits") {
                    parse_label_limits(value, key_path, r);
                } else if (key == "label_limit_action") {
                    if (auto a = read_label_action(value, key_path)) r.label_action = *a;
                } else if (parse_overflow_key(key, value, key_path, r)) {
                } else if (!unsupported_key(key, key_path)) {
                    unknown_key(key_path,
                                "name, match, max_cardinality, action, label_limits, "
                                "label_limit_action, " +
                                    std::string(k_overflow_keys));
                }
            });
        check_overflow_rule(path, r);
        if (!has_name) fail(path + ".name", "missing; want " + std::string(k_rule_name_form));
        return name_ok;
    }

    void parse_match(const YAML::Node& node, const std::string& path, rule& r) {
        for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& key_path) {
                if (key == "metric_name") {
                    parse_metric_pattern(value, key_path, r);
                } else if (key == "labels") {
                    parse_label_matchers(value, key_path, r);
                } else {
                    unknown_key(key_path, "metric_name, labels");
                }
            },
            "a map with metric_name and labels");
    }

    void parse_metric_pattern(const YAML::Node& node, const std::string& path, rule& r) {
        auto text = read_scalar(node, path, k_pattern_form);
        if (!text) return;
        if (text->empty()) {
            fail(path, "empty; want " + std::string(k_pattern_form) +
                           ", or leave metric_name out to match every metric");
            return;
        }
        if (!is_literal_pattern(*text)) {
            // Compiled alone first: "^(?:" + p + ")$" is only anchored when p is balanced.
            try {
                boost::regex re(*text, boost::regex::ECMAScript);
            } catch (const boost::regex_error& e) {
                fail(path, in_quotes(*text) + " is not a valid regex (" + e.what() + "); want " +
                               std::string(k_pattern_form));
                return;
            }
        }
        r.metric_pattern = *text;
    }

    void parse_label_matchers(const YAML::Node& node, const std::string& path, rule& r) {
        for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& key_path) {
                const bool name_ok = check_label_name(key, key_path);
                auto text = read_scalar(value, key_path, "an exact value, or \"*\" for any value");
                if (!text || !name_ok) return;
                label_matcher m;
                m.name = key;
                if (*text == "*") {
                    m.any_value = true;
                } else {
                    m.value = *text;
                }
                r.labels.push_back(std::move(m));
            },
            "a map of label name to value (or \"*\")");
        std::sort(r.labels.begin(), r.labels.end(),
                  [](const label_matcher& a, const label_matcher& b) { return a.name < b.name; });
    }

    void parse_label_limits(const YAML::Node& node, const std::string& path, rule& r) {
        for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& key_path) {
                const bool name_ok = check_label_name(key, key_path);
                auto limit = read_count(value, key_path, k_label_limit_form);
                if (!limit || !name_ok) return;
                if (*limit == 0) {
                    fail(key_path, "0 is out of range; want " + std::string(k_label_limit_form) +
                                       " (leave the label out for no limit)");
                    return;
                }
                r.label_limits.emplace_back(key, *limit);
            },
            "a map of label name to distinct value limit");
        std::sort(r.label_limits.begin(), r.label_limits.end());
    }

    bool check_label_name(const std::string& name, const std::string& path) {
        if (name == "__name__") {
            fail(path, "the metric name is not a label here; use match.metric_name");
            return false;
        }
        if (!is_label_name(name)) {
            fail(path, in_quotes(name) + " is not a valid label name; want " +
                           std::string(k_label_name_form));
            return false;
        }
        return true;
    }
};

std::string join_errors(const std::vector<std::string>& errors, std::string_view source) {
    std::string message;
    for (const auto& e : errors) {
        if (!message.empty()) message += '\n';
        if (!source.empty()) message += std::string(source) + ": ";
        message += e;
    }
    return message;
}

}  // namespace

bool is_literal_pattern(std::string_view pattern) {
    return pattern.find_first_of("\\^$.|?*+()[]{}") == std::string_view::npos;
}

std::string_view to_string(action a) {
    switch (a) {
        case action::drop:
            return "drop";
        case action::log:
            return "log";
        case action::overflow:
            return "overflow";
    }
    return "drop";
}

std::string_view to_string(label_limit_action a) {
    switch (a) {
        case label_limit_action::drop:
            return "drop";
        case label_limit_action::strip:
            return "strip";
        case label_limit_action::overflow:
            return "overflow";
    }
    return "drop";
}

result<limits_file> parse_limits_yaml(std::string_view text, std::string_view source_name) {
    YAML::Node root;
    try {
        root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
        return make_error(
            join_errors({"not valid YAML: line " + std::to_string(e.mark.line + 1) + ", column " +
                         std::to_string(e.mark.column + 1) + ": " + e.msg},
                        source_name));
    }
    limits_file out;
    out.source = std::string(source_name);
    out.defaults.name = "default";
    parser p;
    p.parse(root, out);
    if (!p.errors.empty()) return make_error(join_errors(p.errors, source_name));
    return out;
}

result<limits_file> load_limits_file(const std::string& path) {
    const std::string where = "limits file " + in_quotes(path);
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status)) {
        return make_error(where + ": cannot read: " +
                          (ec ? ec.message() : std::string("No such file or directory")));
    }
    if (std::filesystem::is_directory(status)) {
        return make_error(where + ": is a directory; want a YAML file");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(where + ": cannot read: " + std::strerror(errno));
    // Stops one chunk past the bound, so a huge (or endless) file is never buffered whole.
    std::string text;
    char chunk[65536];
    while (in && text.size() <= k_max_limits_file_bytes) {
        in.read(chunk, sizeof chunk);
        text.append(chunk, static_cast<std::size_t>(in.gcount()));
    }
    if (in.bad()) return make_error(where + ": cannot read: " + std::strerror(errno));
    if (text.size() > k_max_limits_file_bytes) {
        return make_error(where + ": larger than " + std::to_string(k_max_limits_file_bytes) +
                          " bytes; a limits file that large is a mistake");
    }
    return parse_limits_yaml(text, path);
}

}  // namespace mg::limits
