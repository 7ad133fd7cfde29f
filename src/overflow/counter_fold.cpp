// The overflow counter (see counter_fold.h).
#include "overflow/counter_fold.h"

#include <cmath>

namespace mg::overflow {

double counter_fold::add(std::uint64_t series, double value) {
    if (!std::isfinite(value) || value < 0) {
        ++ignored_;
        return 0;
    }
    double increase = 0;
    if (double* last = last_.find(series)) {
        // Below the last value: a reset, and the counter counted `value` since it.
        increase = value >= *last ? value - *last : value;
        *last = value;
    } else if (last_.insert(series, value)) {
        ++evictions_;
    }
    total_ += increase;
    return increase;
}

double counter_fold::add_delta(double increase) {
    if (!std::isfinite(increase) || increase < 0) {
        ++ignored_;
        return 0;
    }
    total_ += increase;
    return increase;
}

void counter_fold::restore(double total, std::vector<std::pair<std::uint64_t, double>> last) {
    total_ = total;
    last_.restore(std::move(last));
}

}  // namespace mg::overflow
