// report: what the load generator counts during a run and how it prints it at the end.
//
// run_stats is one connection's tally (each sender thread owns one, merged after the run, so
// nothing on the send path is shared). Responses are counted by exact status and by class:
// 2xx, 3xx, 4xx (other than 429), 429, 5xx, and "network" for a request that got no answer
// (refused, reset, timed out). Only 2xx counts as success; nothing is retried.
//
// run_report adds what the runner knows about the run as a whole. render_text() is for people,
// render_json() for scripts and tests (one JSON object; field names are documented in
// docs/loadgen.md). Pure functions; thread-safe on distinct objects.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "loadgen/histogram.h"
#include "loadgen/options.h"

namespace mg::loadgen {

// "2xx", "3xx", "4xx", "429", "5xx" (anything else, e.g. 1xx or 6xx, is "other").
std::string status_class(int status);

struct run_stats {
    std::uint64_t requests = 0;     // attempted (answered or not)
    std::uint64_t requests_ok = 0;  // answered 2xx
    std::uint64_t samples = 0;      // in attempted requests
    std::uint64_t samples_ok = 0;   // in requests answered 2xx
    std::uint64_t series = 0;       // series entries in attempted requests
    std::uint64_t bytes = 0;        // request body bytes written
    std::uint64_t network_errors = 0;
    std::string first_network_error;  // what failed the first time (empty: no network error)
    std::map<int, std::uint64_t> status_codes;  // answered requests by exact status
    latency_histogram latency;                  // nanoseconds, answered requests only
    std::uint64_t connections_opened = 0;
    std::uint64_t stall_ns = 0;  // time a sender waited for the builder to finish a cycle

    void record_answer(int status, std::uint64_t series_count, std::uint64_t sample_count,
                       std::uint64_t body_bytes, std::uint64_t latency_ns);
    void record_network_error(std::uint64_t series_count, std::uint64_t sample_count,
                              std::string_view error = {});
    void merge(const run_stats& other);
    // Answers by class, plus "network", in a fixed order: 2xx 3xx 4xx 429 5xx other network.
    std::vector<std::pair<std::string, std::uint64_t>> classes() const;
    std::uint64_t failed() const { return requests - requests_ok; }
};

struct run_report {
    options opts;
    run_stats stats;
    double elapsed_seconds = 0;          // first request written to last answer read
    std::uint64_t cycles_completed = 0;  // cycles all of whose requests were sent
    std::uint64_t series_created = 0;    // distinct series over the run (N + churned in)
    std::uint64_t requests_per_cycle = 0;
    double build_seconds = 0;           // encoding, all cycles
    std::uint64_t prebuilt_cycles = 0;  // cycles encoded before the clock started
};

// 0 when every request got a 2xx answer, 1 otherwise.
int exit_code(const run_report& r);

std::string render_text(const run_report& r);
std::string render_json(const run_report& r);

}  // namespace mg::loadgen
