// The overflow native histogram (see histogram_fold.h).
#include "overflow/histogram_fold.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace mg::overflow {

namespace {

// Bucket indexes past this are no bucket of a double (schema 8 reaches 2^1024 at 262144); a
// sample with one is not a histogram a sender makes, and the bound keeps index arithmetic safe.
constexpr std::int32_t k_max_index = 1 << 24;

void downscale_side(std::vector<histogram_bucket>& b, int shift) {
    std::size_t out = 0;
    for (std::size_t i = 0; i < b.size(); ++i) {
        // Bucket i covers (base^(i-1), base^i]; 2^shift of them make one of the coarser schema:
        // ceil(i / 2^shift), with an arithmetic shift so that negative indexes round the same way.
        const auto idx =
            static_cast<std::int32_t>(((static_cast<std::int64_t>(b[i].index) - 1) >> shift) + 1);
        if (out > 0 && b[out - 1].index == idx) {
            b[out - 1].count += b[i].count;
        } else {
            b[out++] = {idx, b[i].count};
        }
    }
    b.resize(out);
}

bool valid_side(const std::vector<histogram_bucket>& b) {
    for (std::size_t i = 0; i < b.size(); ++i) {
        if (!std::isfinite(b[i].count) || b[i].count < 0) return false;
        if (b[i].index > k_max_index || b[i].index < -k_max_index) return false;
        if (i > 0 && b[i].index <= b[i - 1].index) return false;
    }
    return true;
}

bool valid(const native_histogram& h) {
    const auto ok = [](double v) { return std::isfinite(v) && v >= 0; };
    return ok(h.zero_threshold) && ok(h.zero_count) && ok(h.count) && valid_side(h.positive) &&
           valid_side(h.negative);
}

// inc = now - prev bucket by bucket (buckets that did not change left out); false when a bucket
// of prev is higher than now's (a missing one counts 0): a counter reset.
bool side_increase(const std::vector<histogram_bucket>& now,
                   const std::vector<histogram_bucket>& prev, std::vector<histogram_bucket>& inc) {
    inc.clear();
    std::size_t i = 0, j = 0;
    while (i < now.size() || j < prev.size()) {
        if (j == prev.size() || (i < now.size() && now[i].index < prev[j].index)) {
            if (now[i].count > 0) inc.push_back(now[i]);
            ++i;
        } else if (i == now.size() || prev[j].index < now[i].index) {
            if (prev[j].count > 0) return false;
            ++j;
        } else {
            const double d = now[i].count - prev[j].count;
            if (d < 0) return false;
            if (d > 0) inc.push_back({now[i].index, d});
            ++i;
            ++j;
        }
    }
    return true;
}

// total += add, both sorted by index.
void add_side(std::vector<histogram_bucket>& total, const std::vector<histogram_bucket>& add,
              std::vector<histogram_bucket>& scratch) {
    if (add.empty()) return;
    scratch.clear();
    std::size_t i = 0, j = 0;
    while (i < total.size() || j < add.size()) {
        if (j == add.size() || (i < total.size() && total[i].index < add[j].index)) {
            scratch.push_back(total[i++]);
        } else if (i == total.size() || add[j].index < total[i].index) {
            scratch.push_back(add[j++]);
        } else {
            scratch.push_back({total[i].index, total[i].count + add[j].count});
            ++i;
            ++j;
        }
    }
    total.swap(scratch);
}

// prev brought to now's layout (when they differ) in `scratch`; inc = now - prev. False when now
// is a counter reset after prev, Prometheus's way: a lower count, zero count or bucket; a higher
// schema or a lower zero threshold; a wider zero threshold cutting a populated bucket of prev.
bool increase_over(const native_histogram& prev, const native_histogram& now,
                   native_histogram& scratch, native_histogram& inc) {
    if (now.count < prev.count || now.schema > prev.schema ||
        now.zero_threshold < prev.zero_threshold)
        return false;
    const native_histogram* p = &prev;
    if (prev.schema != now.schema || prev.zero_threshold != now.zero_threshold) {
        scratch = prev;
        downscale(scratch, now.schema);
        if (widen_zero_bucket(scratch, now.zero_threshold) != now.zero_threshold) return false;
        p = &scratch;
    }
    if (now.zero_count < p->zero_count) return false;
    if (!side_increase(now.positive, p->positive, inc.positive) ||
        !side_increase(now.negative, p->negative, inc.negative))
        return false;
    inc.schema = now.schema;
    inc.zero_threshold = now.zero_threshold;
    inc.zero_count = now.zero_count - p->zero_count;
    inc.count = now.count - p->count;
    inc.sum = now.sum - p->sum;
    return true;
}

}  // namespace

double bucket_upper_bound(std::int32_t index, std::int32_t schema) {
    // base^index = 2^(index * 2^-schema), computed as 2^q * 2^(r / 2^schema) so that the powers
    // of two (every bucket boundary that is one) are exact.
    if (schema <= 0) {
        const std::int64_t e = static_cast<std::int64_t>(index) * (std::int64_t{1} << -schema);
        return std::ldexp(1.0, static_cast<int>(std::clamp<std::int64_t>(e, -2000, 2000)));
    }
    const std::int64_t per = std::int64_t{1} << schema;
    std::int64_t q = index / per;
    std::int64_t r = index % per;
    if (r < 0) {
        r += per;
        --q;
    }
    return std::ldexp(std::exp2(static_cast<double>(r) / static_cast<double>(per)),
                      static_cast<int>(std::clamp<std::int64_t>(q, -2000, 2000)));
}

void downscale(native_histogram& h, std::int32_t schema) {
    if (schema >= h.schema) return;
    const int shift = h.schema - schema;
    downscale_side(h.positive, shift);
    downscale_side(h.negative, shift);
    h.schema = schema;
}

double widen_zero_bucket(native_histogram& h, double threshold) {
    if (!(threshold > h.zero_threshold)) return h.zero_threshold;
    // Until no populated bucket straddles the threshold on either side: widening it on one side
    // can take in more buckets on the other.
    for (bool again = true; again;) {
        again = false;
        for (auto* side : {&h.positive, &h.negative}) {
            std::size_t n = 0;
            for (; n < side->size(); ++n) {
                const auto& b = (*side)[n];
                if (bucket_upper_bound(b.index - 1, h.schema) >= threshold) break;
                h.zero_count += b.count;
                const double upper = bucket_upper_bound(b.index, h.schema);
                if (upper > threshold && b.count != 0) {
                    threshold = upper;
                    again = true;
                }
            }
            side->erase(side->begin(), side->begin() + static_cast<std::ptrdiff_t>(n));
        }
    }
    h.zero_threshold = threshold;
    return threshold;
}

bool histogram_fold::add(std::uint64_t series, const native_histogram& h, bool reset) {
    if (!foldable_schema(h.schema)) return false;
    if (!valid(h)) {
        ++ignored_;
        return true;
    }
    take_layout(h);
    native_histogram* last = last_.find(series);
    if (last == nullptr) {
        // Its counts so far were accumulated before it was folded: nothing to add.
        if (last_.insert(series, h)) ++evictions_;
        return true;
    }
    thread_local native_histogram scratch;
    thread_local native_histogram inc;
    if (reset || !increase_over(*last, h, scratch, inc)) {
        ++resets_;
        inc = h;
    }
    *last = h;
    merge(inc);
    return true;
}

bool histogram_fold::add_delta(const native_histogram& increase) {
    if (!foldable_schema(increase.schema)) return false;
    if (!valid(increase)) {
        ++ignored_;
        return true;
    }
    take_layout(increase);
    thread_local native_histogram inc;
    inc = increase;
    merge(inc);
    return true;
}

void histogram_fold::take_layout(const native_histogram& h) {
    if (!has_layout_) {
        total_ = {};
        total_.schema = h.schema;
        total_.zero_threshold = h.zero_threshold;
        has_layout_ = true;
        return;
    }
    downscale(total_, h.schema);
    widen_zero_bucket(total_, h.zero_threshold);
}

void histogram_fold::merge(native_histogram& increase) {
    downscale(increase, total_.schema);
    // Both to one zero threshold: each widening may cut a populated bucket of the other.
    for (;;) {
        const double t = widen_zero_bucket(increase, total_.zero_threshold);
        if (t <= total_.zero_threshold) break;
        widen_zero_bucket(total_, t);
    }
    total_.zero_count += increase.zero_count;
    total_.count += increase.count;
    // A NaN sum (a NaN observation) would stay NaN forever: the sum takes finite increases only.
    if (std::isfinite(increase.sum)) total_.sum += increase.sum;
    thread_local std::vector<histogram_bucket> scratch;
    add_side(total_.positive, increase.positive, scratch);
    add_side(total_.negative, increase.negative, scratch);
}

}  // namespace mg::overflow
