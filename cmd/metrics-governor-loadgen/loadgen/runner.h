// runner: one load-generation run from parsed options to the report.
//
// Threads: the calling thread encodes the first D cycles with every core, starts the clock and
// waits; one sender thread per connection (-concurrency) posts the requests r with r % C == its
// index, in order, pacing them under -rate (see pacer.h); one builder thread (with
// -build-threads helpers) encodes the later cycles while earlier ones are being sent.
// Bodies live in a ring of D cycles (2 <= D <= 16, as many as -prebuild-memory holds): cycle c
// uses slot c % D, and the builder starts cycle c only once every sender has finished cycle
// c - D, the last user of that slot. A run of at most D cycles is therefore entirely encoded
// before the clock starts. A sender that reaches a cycle the builder has not finished waits, and
// that wait is reported as stall time (non-zero means the generator, not the receiver, limited
// the run). Counters are per sender and merged at the end, so the send path takes no lock except
// once per cycle.
#pragma once

#include "loadgen/options.h"
#include "loadgen/report.h"

namespace mg::loadgen {

// Runs the load. Throws std::runtime_error when it cannot start (the host does not resolve).
run_report run_load(const options& opts);

}  // namespace mg::loadgen
