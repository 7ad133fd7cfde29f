// metrics-governor-loadgen: sends synthetic Prometheus remote-write, OTLP/HTTP or OTLP/gRPC traffic
// to a receiver (the daemon, vmagent, a backend) and prints what it measured. Wiring only: the
// flags, series, bodies, sending and the report live in the mg_loadgen library (loadgen/), which
// the unit tests cover; tests/integration/loadgen_test.cpp runs this binary.
//
// Exit codes: 0 every request got a 2xx answer; 1 some did not (the report is still printed) or
// the run could not start; 2 bad flags (each problem on stderr, naming the flag and its form).
#include <cstdio>
#include <exception>
#include <iostream>

#include "loadgen/options.h"
#include "loadgen/report.h"
#include "loadgen/runner.h"

int main(int argc, char* argv[]) {
    namespace lg = mg::loadgen;
    const lg::parsed_args args = lg::parse_args(argc, argv);
    if (args.what == lg::parsed_args::action::help) {
        std::cout << lg::help_text();
        return 0;
    }
    if (args.what == lg::parsed_args::action::fail) {
        for (const auto& e : args.errors) std::cerr << e << "\n";
        std::cerr << "run with -help for every flag\n";
        return 2;
    }
    try {
        const lg::run_report report = lg::run_load(args.opts);
        std::cout << (args.opts.report == lg::report_format::json ? lg::render_json(report)
                                                                  : lg::render_text(report));
        std::cout.flush();
        return lg::exit_code(report);
    } catch (const std::exception& e) {
        std::cerr << "metrics-governor-loadgen: " << e.what() << "\n";
        return 1;
    }
}
