// The overflow fold of OTLP explicit-bounds histograms and summaries
// (src/overflow/explicit_histogram_fold.h): buckets, count and sum summed as counters across the
// folded series, resets, new and evicted series, the bounds the first point sets.
#include "overflow/explicit_histogram_fold.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

using mg::explicit_histogram;
using mg::overflow::explicit_histogram_fold;

namespace {

explicit_histogram hist(std::vector<double> counts, double sum,
                        std::vector<double> bounds = {0.1, 1}) {
    explicit_histogram h;
    h.bounds = std::move(bounds);
    h.bucket_counts = std::move(counts);
    for (const double c : h.bucket_counts) h.count += c;
    h.sum = sum;
    return h;
}

explicit_histogram summary(double count, double sum) {
    explicit_histogram h;
    h.count = count;
    h.sum = sum;
    return h;
}

}  // namespace

TEST_CASE("explicit histogram fold: bucket-wise increases, resets, new series",
          "[overflow][histogram]") {
    explicit_histogram_fold f(100);
    CHECK(f.add(1, hist({100, 50, 5}, 80)));  // the first point of each adds nothing
    CHECK(f.add(2, hist({7, 7, 7}, 30)));
    CHECK(f.total().count == 0);
    CHECK(f.total().bounds == std::vector<double>{0.1, 1});
    CHECK(f.add(1, hist({103, 50, 6}, 85)));
    CHECK(f.add(2, hist({7, 9, 7}, 32)));
    CHECK(f.total().bucket_counts == std::vector<double>{3, 2, 1});
    CHECK(f.total().count == 6);
    CHECK(f.total().sum == 7);
    // A reset (bucket 0 lower): the whole point is added.
    CHECK(f.add(2, hist({1, 2, 0}, 1)));
    CHECK(f.resets() == 1);
    CHECK(f.total().bucket_counts == std::vector<double>{4, 4, 1});
    CHECK(f.total().count == 9);
    CHECK(f.total().sum == 8);
    // Other bounds: no bucket-wise sum, not folded (the caller counts it lost).
    CHECK_FALSE(f.add(3, hist({1, 1, 1}, 1, {0.5, 1})));
    CHECK_FALSE(f.add(3, hist({1, 1}, 1, {0.1})));
    // Not a counter's point: ignored, counted.
    auto bad = hist({1, 1, 1}, 1);
    bad.bucket_counts[1] = std::numeric_limits<double>::quiet_NaN();
    CHECK(f.add(1, bad));
    CHECK(f.add(1, hist({1, 1}, 1, {0.1, 1})));  // 2 counts for 3 buckets
    CHECK(f.ignored() == 2);
    CHECK(f.tracked() == 2);
    // A delta point is added as it is.
    CHECK(f.add_delta(hist({1, 0, 2}, 4)));
    CHECK(f.total().bucket_counts == std::vector<double>{5, 4, 3});
    CHECK(f.total().count == 12);
}

TEST_CASE("explicit histogram fold: the bound, and summaries' count and sum",
          "[overflow][histogram]") {
    explicit_histogram_fold f(1);
    f.add(1, summary(10, 100));
    f.add(1, summary(12, 130));
    f.add(2, summary(1000, 1));  // pushes series 1 out
    CHECK(f.evictions() == 1);
    f.add(1, summary(20, 200));  // a fresh start: adds nothing
    CHECK(f.total().count == 2);
    CHECK(f.total().sum == 30);
    CHECK(f.total().bucket_counts.empty());
    f.add(1, summary(25, 190));  // the sum may go down (negative observations): no reset
    CHECK(f.resets() == 0);
    CHECK(f.total().count == 7);
    CHECK(f.total().sum == 20);
    CHECK_FALSE(f.add(1, hist({1, 1, 1}, 1)));  // buckets where the total has none
}
