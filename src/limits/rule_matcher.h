// rule_matcher: a parsed limits file compiled for the ingest path. It answers two questions:
// which rules can govern a metric name (candidates: the regex work, done once per metric name),
// and which of those governs one series of it (select: label matching, cheap, per series).
//
// Thread-safety and ownership: built once per limits_file (at start and on every SIGHUP reload),
// then immutable; any number of threads may call its const methods at once without locking. It
// shares ownership of the file, so a rule* from select() stays valid while the matcher lives.
// A reload builds a new matcher; holders of the old one (and the rule pointers and candidate
// lists they got from it) keep using it until they let go of it.
//
// Regexes: Boost.Regex (Perl/ECMAScript syntax) rather than std::regex, because its matcher
// gives up after a bounded number of states (limits/bounded_regex.h) where std::regex backtracks
// for ever: a pattern with nested repetition, such as `(a+)+x`, against a sender's metric name must
// not hang an ingest thread. A match that gives up counts as no match (the rule does not apply) and
// is counted (regex_gave_up()); it is logged at most every 10 s of the injected clock's time (the
// clock must outlive the matcher).
//
// Caching: candidates() runs the regexes of every regex rule, which is far too slow to do per
// series. It does not cache (that would make it mutable); the caller keeps the result per metric
// name, e.g. beside the metric's tracker, and recomputes it when the matcher is replaced.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cardinality/series_hash.h"
#include "common/clock.h"
#include "limits/bounded_regex.h"
#include "limits/limits_file.h"
#include "limits/log_gate.h"

namespace mg::limits {

// A series' labels as views, sorted by name (the order series identity uses).
// A label of a series: the same view type the cardinality engine hashes, so no conversion.
using label_pair = cardinality::label_view;

class rule_matcher {
  public:
    // Compiles every rule's metric_name: exact names go into a hash map, the rest become anchored
    // regexes ("^(?:" + pattern + ")$", ECMAScript, optimize). Throws std::invalid_argument when
    // file is null or a pattern does not compile, which parse_limits_yaml never lets through.
    rule_matcher(std::shared_ptr<const limits_file> file, mg::clock& clock);

    // Indices into file().rules of the rules whose metric_name matches metric_name (a rule
    // without metric_name matches every metric), in file order. Cache the result per metric name.
    std::vector<std::size_t> candidates(std::string_view metric_name) const;

    // The first candidate rule whose label matchers all match sorted_labels, else the defaults
    // when the file has them, else nullptr (the metric is tracked but not limited).
    // candidates must come from this matcher's candidates(); indices out of range are skipped.
    const rule* select(std::span<const std::size_t> candidates,
                       std::span<const label_pair> sorted_labels) const;

    // Regex matches that gave up (the complexity bound) since construction: counted as no match.
    std::uint64_t regex_gave_up() const { return gave_up_.load(std::memory_order_relaxed); }

    const limits_file& file() const { return *file_; }
    const std::shared_ptr<const limits_file>& shared_file() const { return file_; }

  private:
    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };

    // Rules matched without the exact-name map: regex patterns, and rules with no pattern.
    struct pattern_rule {
        std::size_t index = 0;
        std::optional<boost::regex> re;  // nullopt: every metric
    };

    std::shared_ptr<const limits_file> file_;
    mg::clock& clock_;
    std::unordered_map<std::string, std::vector<std::size_t>, string_hash, std::equal_to<>> exact_;
    std::vector<pattern_rule> patterns_;  // in file order
    mutable std::atomic<std::uint64_t> gave_up_{0};
    mutable log_gate gave_up_log_;
};

// Whether every matcher (sorted by name) matches the labels (sorted by name): an exact matcher
// needs the label with that value, a "*" matcher needs the label with any value.
bool labels_match(std::span<const label_matcher> matchers,
                  std::span<const label_pair> sorted_labels);

}  // namespace mg::limits
