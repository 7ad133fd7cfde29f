// The overflow explicit-bounds histogram and summary (see explicit_histogram_fold.h).
#include "overflow/explicit_histogram_fold.h"

#include <cmath>

namespace mg::overflow {

namespace {

bool valid(const explicit_histogram& h) {
    const auto ok = [](double v) { return std::isfinite(v) && v >= 0; };
    if (!ok(h.count)) return false;
    if (!h.bucket_counts.empty() && h.bucket_counts.size() != h.bounds.size() + 1) return false;
    for (const double c : h.bucket_counts) {
        if (!ok(c)) return false;
    }
    return true;
}

}  // namespace

bool explicit_histogram_fold::same_bounds(const explicit_histogram& h) {
    if (!has_bounds_) {
        total_ = {};
        total_.bounds = h.bounds;
        total_.bucket_counts.assign(h.bucket_counts.empty() ? 0 : h.bounds.size() + 1, 0.0);
        has_bounds_ = true;
        return true;
    }
    // Bounds compared exactly: the same instrument sends the same doubles.
    return h.bounds == total_.bounds && h.bucket_counts.size() == total_.bucket_counts.size();
}

bool explicit_histogram_fold::add(std::uint64_t series, const explicit_histogram& h) {
    if (!valid(h)) {
        ++ignored_;
        return true;
    }
    if (!same_bounds(h)) return false;
    explicit_histogram* last = last_.find(series);
    if (last == nullptr) {
        // Its counts so far were accumulated before it was folded: nothing to add.
        if (last_.insert(series, h)) ++evictions_;
        return true;
    }
    bool reset = h.count < last->count;
    for (std::size_t i = 0; i < h.bucket_counts.size() && !reset; ++i)
        reset = h.bucket_counts[i] < last->bucket_counts[i];
    thread_local explicit_histogram inc;
    if (reset) {
        ++resets_;
        inc = h;
    } else {
        inc.bucket_counts.resize(h.bucket_counts.size());
        for (std::size_t i = 0; i < h.bucket_counts.size(); ++i)
            inc.bucket_counts[i] = h.bucket_counts[i] - last->bucket_counts[i];
        inc.count = h.count - last->count;
        inc.sum = h.sum - last->sum;
    }
    *last = h;
    merge(inc);
    return true;
}

bool explicit_histogram_fold::add_delta(const explicit_histogram& increase) {
    if (!valid(increase)) {
        ++ignored_;
        return true;
    }
    if (!same_bounds(increase)) return false;
    merge(increase);
    return true;
}

void explicit_histogram_fold::merge(const explicit_histogram& increase) {
    for (std::size_t i = 0; i < increase.bucket_counts.size(); ++i)
        total_.bucket_counts[i] += increase.bucket_counts[i];
    total_.count += increase.count;
    // A NaN sum would stay NaN forever: the sum takes finite increases only.
    if (std::isfinite(increase.sum)) total_.sum += increase.sum;
}

}  // namespace mg::overflow
