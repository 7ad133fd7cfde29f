// What the decoder fuzz targets check of the overflow side (issue 21): the samples of a series
// read again from the bytes the decoder accepted (protocol/series_samples.h), as the overflow sink
// reads a folded series, then folded as the store folds them (twice per series, as two requests
// would, so increases and resets are exercised). Whatever the bytes, no fault, and the fold's
// total keeps what the emitter relies on: native histogram buckets sorted by index with each
// index once, every count finite and not negative; explicit-bounds counts one per bucket.
// Header-only; one fuzzing thread.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "overflow/explicit_histogram_fold.h"
#include "overflow/histogram_fold.h"
#include "protocol/series_batch.h"
#include "protocol/series_samples.h"

namespace mg::fuzz {

inline void check_buckets(const char* target, const std::vector<histogram_bucket>& b) {
    for (std::size_t i = 0; i < b.size(); ++i) {
        if (i > 0 && b[i].index <= b[i - 1].index)
            fail(target, "overflow histogram total: bucket indexes not strictly increasing");
        if (!std::isfinite(b[i].count) || b[i].count < 0)
            fail(target, "overflow histogram total: a bucket count is negative or not finite");
    }
}

inline void check_series_samples(const char* target, const protocol::series_batch& batch) {
    std::vector<protocol::sum_shape> shapes;
    const bool otlp = protocol::read_sum_shapes(batch, shapes);
    protocol::series_samples s;
    overflow::histogram_fold native(16);
    overflow::explicit_histogram_fold explicit_fold(16);
    for (std::size_t i = 0; i < batch.size(); ++i) {
        protocol::read_series_samples(batch, i, s, otlp ? &shapes[i] : nullptr);
        for (int round = 0; round < 2; ++round) {
            for (const auto& h : s.histograms) (void)native.add(i, h.histogram);
            for (const auto& h : s.explicit_histograms) (void)explicit_fold.add(i, h.histogram);
        }
    }
    const auto& t = native.total();
    check_buckets(target, t.positive);
    check_buckets(target, t.negative);
    for (double v : {t.zero_count, t.count})
        if (!std::isfinite(v) || v < 0)
            fail(target, "overflow histogram total: a count is negative or not finite");
    const auto& e = explicit_fold.total();
    if (!e.bucket_counts.empty() && e.bucket_counts.size() != e.bounds.size() + 1)
        fail(target, "overflow explicit histogram total: bucket counts do not match its bounds");
}

}  // namespace mg::fuzz
