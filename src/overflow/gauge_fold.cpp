// The overflow gauge (see gauge_fold.h).
#include "overflow/gauge_fold.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace mg::overflow {

result<gauge_aggregation> parse_gauge_aggregation(std::string_view text) {
    if (text == "sum") return gauge_aggregation::sum;
    if (text == "max") return gauge_aggregation::max;
    if (text == "min") return gauge_aggregation::min;
    if (text == "last") return gauge_aggregation::last;
    return make_error("\"" + std::string(text) +
                      "\" is not an aggregation; want sum, max, min or last");
}

std::string_view to_string(gauge_aggregation a) {
    switch (a) {
        case gauge_aggregation::sum:
            return "sum";
        case gauge_aggregation::max:
            return "max";
        case gauge_aggregation::min:
            return "min";
        case gauge_aggregation::last:
            return "last";
    }
    return "sum";
}

void gauge_fold::add(std::uint64_t series, double value, std::int64_t timestamp_ms) {
    if (sample* s = latest_.find(series)) {
        if (timestamp_ms < s->timestamp_ms) return;
        *s = {value, timestamp_ms};
    } else if (latest_.insert(series, {value, timestamp_ms})) {
        ++evictions_;
    }
    if (timestamp_ms >= last_ts_) {
        last_ts_ = timestamp_ms;
        last_series_ = series;
    }
}

std::optional<double> gauge_fold::value(std::int64_t now_ms) const {
    std::optional<double> out;
    std::int64_t newest = INT64_MIN;
    latest_.for_each([&](std::uint64_t series, const sample& s) {
        if (now_ms - s.timestamp_ms > staleness_ms_ || std::isnan(s.value)) return;
        switch (aggregation_) {
            case gauge_aggregation::sum:
                out = out.value_or(0) + s.value;
                break;
            case gauge_aggregation::max:
                out = out ? std::max(*out, s.value) : s.value;
                break;
            case gauge_aggregation::min:
                out = out ? std::min(*out, s.value) : s.value;
                break;
            case gauge_aggregation::last:
                // The newest sample; ties go to the series that reported last.
                if (s.timestamp_ms > newest ||
                    (s.timestamp_ms == newest && series == last_series_)) {
                    newest = s.timestamp_ms;
                    out = s.value;
                }
                break;
        }
    });
    return out;
}

void gauge_fold::restore(std::vector<std::pair<std::uint64_t, sample>> latest,
                         std::uint64_t last_series) {
    for (const auto& [series, s] : latest) last_ts_ = std::max(last_ts_, s.timestamp_ms);
    latest_.restore(std::move(latest));
    last_series_ = last_series;
}

}  // namespace mg::overflow
