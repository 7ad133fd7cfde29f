// overflow_sink: the overflow_port (ports.h) over the overflow store (overflow/overflow_store.h):
// the samples of each series the governor folded are read from the request again
// (protocol/series_samples.h) and folded into the overflow series of its rule, tenant, metric
// and kept labels (issue 21, docs/overflow.md). Only series over a limit come here, so the
// request path of kept series pays nothing.
//
// Counter or gauge: a counter (cumulative) when the request says so (remote write 2.0 metadata
// type counter, an OTLP monotonic Sum) or its name says so (_total, _bucket, _count, _sum); a
// gauge otherwise (remote write 2.0 metadata gauge, an OTLP Gauge or non-monotonic cumulative
// Sum, win over the name). An OTLP monotonic delta Sum's values are increases, summed into a
// cumulative counter; a non-monotonic delta Sum is not folded (lost, counted). Native histograms
// (remote write 1.0/2.0) go into a histogram overflow series, folded bucket by bucket as counters
// (overflow/histogram_fold.h), and so do OTLP ExponentialHistogram points (a delta one added as
// it is); gauge histograms and custom-bucket schemas are not folded (lost, counted). OTLP
// Histogram points (explicit bounds) and Summary points go into an explicit_histogram or summary
// overflow series (overflow/explicit_histogram_fold.h: buckets, count and sum as counters; the
// first point sets the bounds, a point with others is lost and counted; quantiles not folded).
//
// Thread-safety: fold() from every I/O thread at once (the store is sharded and locked); a
// request's folds are one step for the emitter's collect() (overflow_store::request_folds), so it
// may wait for a collect()'s snapshot. The store and the clock must outlive the sink.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "common/clock.h"
#include "ingest/ports.h"
#include "overflow/overflow_store.h"

namespace mg::ingest {

class overflow_sink final : public overflow_port {
  public:
    overflow_sink(overflow::overflow_store& store, mg::clock& clock)
        : store_(store), clock_(clock) {}

    void fold(const protocol::series_batch& batch, std::span<const limits::series_ref> refs,
              std::span<const std::size_t> ref_index, std::span<const limits::decision> decisions,
              const std::function<std::string_view(std::size_t)>& tenant_of) override;

    // Points of folded series that could not be folded and are lost: gauge and custom-bucket
    // native histograms, OTLP histograms with other bounds than their overflow series', OTLP
    // non-monotonic delta Sums, OTLP/JSON (no raw bytes), points of another form than their
    // overflow series' (floats, native or explicit histograms), a store full of overflow series.
    std::uint64_t unfolded_points() const { return unfolded_.load(std::memory_order_relaxed); }

  private:
    // Folds one series' native histograms (gauge ones dropped from `histograms`); returns the
    // points lost.
    std::uint64_t fold_histograms(const overflow::fold_target& target, std::uint64_t series,
                                  std::vector<histogram_sample>& histograms, std::int64_t now_ms);

    overflow::overflow_store& store_;
    mg::clock& clock_;
    std::atomic<std::uint64_t> unfolded_{0};
};

}  // namespace mg::ingest
