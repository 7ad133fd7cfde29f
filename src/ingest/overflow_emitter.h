// overflow_emitter: the thread that emits the overflow series (issue 21, docs/overflow.md). Every
// second it collects the overflow series whose interval has passed (overflow_store::collect),
// encodes them as a request the exporter takes (remote write 1.0 for a remote-write backend,
// OTLP protobuf for an OTLP one; protocol/owned_series_encode.h), decodes that back into a batch
// and submits it like any sender's request, one per tenant. So the overflow series reach the
// backend through the normal export path: lanes, batching, retries, remote write 1.0/2.0 or OTLP.
// The overflow series of OTLP delta Sums goes to an OTLP exporter as a delta Sum (the interval's
// sum of the folded deltas), to a remote-write one as a cumulative counter (remote write has no
// deltas).
// A native histogram overflow series goes as float Histograms in remote write, as a cumulative
// ExponentialHistogram in OTLP. Histogram overflow series folded from OTLP (exponential, explicit
// bounds, summaries) go as OTLP to a remote-write exporter too, which converts them as it
// converts the senders' own (native histograms only with -exporter-native-histograms; _bucket,
// _count and _sum series), in requests of their own.
//
// A submit the exporter refuses (queue full, shutting down) loses that emission only: a counter's
// next emission carries every increase since, so rate() sees nothing missing (a delta Sum's
// interval is lost with it, and counted as refused).
//
// Thread-safety: start() and stop() from one thread (main); the counters from any. The store,
// the exporter port and the clock must outlive the emitter; stop() (or the destructor) joins.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "ingest/ports.h"
#include "overflow/overflow_store.h"

namespace mg::ingest {

class overflow_emitter {
  public:
    overflow_emitter(overflow::overflow_store& store, exporter_port& exporter, mg::clock& clock);
    ~overflow_emitter();
    overflow_emitter(const overflow_emitter&) = delete;
    overflow_emitter& operator=(const overflow_emitter&) = delete;

    void start();
    // Emits what is due one last time, then joins the thread. Idempotent.
    void stop();

    // One pass: collects what is due at the clock's wall time (`all`: everything with something
    // new, the last pass at stop()) and submits it. The thread calls it every second; tests call
    // it directly. Returns the overflow series submitted.
    std::size_t emit_due(bool all = false);

  private:
    void run();

    overflow::overflow_store& store_;
    exporter_port& exporter_;
    mg::clock& clock_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace mg::ingest
