#include "limits/rule_matcher.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "logging/log.h"

namespace mg::limits {

rule_matcher::rule_matcher(std::shared_ptr<const limits_file> file, mg::clock& clock)
    : file_(std::move(file)), clock_(clock) {
    if (!file_) throw std::invalid_argument("rule_matcher: no limits file");
    const auto& rules = file_->rules;
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const std::string& pattern = rules[i].metric_pattern;
        if (!pattern.empty() && is_literal_pattern(pattern)) {
            exact_[pattern].push_back(i);
            continue;
        }
        pattern_rule p;
        p.index = i;
        if (!pattern.empty()) {
            try {
                // Validate alone first: wrapping an unbalanced pattern ("a)|(b") would compile
                // into an unanchored alternation.
                boost::regex check(pattern, boost::regex::ECMAScript);
                p.re.emplace("^(?:" + pattern + ")$",
                             boost::regex::ECMAScript | boost::regex::optimize);
            } catch (const boost::regex_error& e) {
                throw std::invalid_argument("rule " + rules[i].name + ": metric_name \"" + pattern +
                                            "\" is not a valid regex: " + e.what());
            }
        }
        patterns_.push_back(std::move(p));
    }
}

std::vector<std::size_t> rule_matcher::candidates(std::string_view metric_name) const {
    std::vector<std::size_t> out;
    if (auto it = exact_.find(metric_name); it != exact_.end()) out = it->second;
    const std::size_t exact_count = out.size();
    for (const auto& p : patterns_) {
        bool match = !p.re;
        if (!match) {
            try {
                match = boost::regex_match(metric_name.begin(), metric_name.end(), *p.re);
            } catch (const std::runtime_error&) {
                // The matcher's complexity bound (nested repetition backtracking on this name):
                // the rule does not apply. Logged at most every 10 s, whatever the sender sends.
                gave_up_.fetch_add(1, std::memory_order_relaxed);
                if (gave_up_log_.allow(clock_.monotonic_now(), std::chrono::seconds(10))) {
                    const auto& r = file_->rules[p.index];
                    logging::warn("rule regex too costly for a metric name, treated as no match",
                                  {{"rule", r.name},
                                   {"pattern", r.metric_pattern},
                                   {"metric_name", std::string(metric_name.substr(0, 256))}});
                }
            }
        }
        if (match) out.push_back(p.index);
    }
    // Both runs are already in file order; interleave them.
    std::inplace_merge(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(exact_count),
                       out.end());
    return out;
}

const rule* rule_matcher::select(std::span<const std::size_t> candidates,
                                 std::span<const label_pair> sorted_labels) const {
    const auto& rules = file_->rules;
    for (std::size_t index : candidates) {
        if (index >= rules.size()) continue;
        if (labels_match(rules[index].labels, sorted_labels)) return &rules[index];
    }
    return file_->has_defaults ? &file_->defaults : nullptr;
}

bool labels_match(std::span<const label_matcher> matchers,
                  std::span<const label_pair> sorted_labels) {
    // Both sides sorted by name: one merge walk.
    auto label = sorted_labels.begin();
    for (const auto& m : matchers) {
        while (label != sorted_labels.end() && label->name < m.name) ++label;
        if (label == sorted_labels.end() || label->name != m.name) return false;
        if (!m.any_value && label->value != m.value) return false;
    }
    return true;
}

}  // namespace mg::limits
