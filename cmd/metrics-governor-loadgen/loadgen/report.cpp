#include "loadgen/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

namespace mg::loadgen {

namespace {

constexpr const char* k_classes[] = {"2xx", "3xx", "4xx", "429", "5xx", "other"};

double per_second(double count, double seconds) {
    return seconds > 0 ? count / seconds : 0;
}

double ms(std::uint64_t ns) {
    return static_cast<double>(ns) / 1e6;
}

// Three significant decimals are plenty for milliseconds and keep the JSON readable.
double round3(double v) {
    return static_cast<double>(std::llround(v * 1000.0)) / 1000.0;
}

std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

}  // namespace

std::string status_class(int status) {
    if (status == 429) return "429";
    if (status >= 200 && status < 300) return "2xx";
    if (status >= 300 && status < 400) return "3xx";
    if (status >= 400 && status < 500) return "4xx";
    if (status >= 500 && status < 600) return "5xx";
    return "other";
}

void run_stats::record_answer(int status, std::uint64_t series_count, std::uint64_t sample_count,
                              std::uint64_t body_bytes, std::uint64_t latency_ns) {
    ++requests;
    samples += sample_count;
    series += series_count;
    bytes += body_bytes;
    ++status_codes[status];
    latency.record(latency_ns);
    if (status >= 200 && status < 300) {
        ++requests_ok;
        samples_ok += sample_count;
    }
}

void run_stats::record_network_error(std::uint64_t series_count, std::uint64_t sample_count,
                                     std::string_view error) {
    ++requests;
    ++network_errors;
    if (first_network_error.empty()) first_network_error = error;
    samples += sample_count;
    series += series_count;
}

void run_stats::merge(const run_stats& o) {
    requests += o.requests;
    requests_ok += o.requests_ok;
    samples += o.samples;
    samples_ok += o.samples_ok;
    series += o.series;
    bytes += o.bytes;
    network_errors += o.network_errors;
    if (first_network_error.empty()) first_network_error = o.first_network_error;
    for (const auto& [code, n] : o.status_codes) status_codes[code] += n;
    latency.merge(o.latency);
    connections_opened += o.connections_opened;
    stall_ns += o.stall_ns;
}

std::vector<std::pair<std::string, std::uint64_t>> run_stats::classes() const {
    std::vector<std::pair<std::string, std::uint64_t>> out;
    for (const char* c : k_classes) {
        std::uint64_t n = 0;
        for (const auto& [code, count] : status_codes) n += status_class(code) == c ? count : 0;
        out.emplace_back(c, n);
    }
    out.emplace_back("network", network_errors);
    return out;
}

int exit_code(const run_report& r) {
    return r.stats.failed() == 0 ? 0 : 1;
}

std::string render_json(const run_report& r) {
    const run_stats& s = r.stats;
    nlohmann::ordered_json j;
    j["protocol"] = protocol_name(r.opts);
    j["url"] = r.opts.url;
    j["seed"] = r.opts.seed;
    j["series"] = r.opts.series;
    j["metrics"] = r.opts.metrics;
    j["labels"] = r.opts.labels;
    j["series_per_request"] = r.opts.series_per_request;
    j["samples_per_series"] = r.opts.samples_per_series;
    j["churn"] = r.opts.churn;
    j["concurrency"] = r.opts.concurrency;
    j["rate"] = r.opts.rate;
    j["cycles"] = r.cycles_completed;
    j["requests_per_cycle"] = r.requests_per_cycle;
    j["series_created"] = r.series_created;
    j["requests"] = s.requests;
    j["requests_ok"] = s.requests_ok;
    j["requests_failed"] = s.failed();
    j["series_sent"] = s.series;
    j["samples"] = s.samples;
    j["samples_ok"] = s.samples_ok;
    j["bytes"] = s.bytes;
    j["elapsed_seconds"] = r.elapsed_seconds;
    j["requests_per_second"] = per_second(static_cast<double>(s.requests), r.elapsed_seconds);
    j["samples_per_second"] = per_second(static_cast<double>(s.samples_ok), r.elapsed_seconds);
    j["bytes_per_second"] = per_second(static_cast<double>(s.bytes), r.elapsed_seconds);
    nlohmann::ordered_json classes;
    for (const auto& [name, n] : s.classes()) classes[name] = n;
    j["responses"] = classes;
    nlohmann::ordered_json codes = nlohmann::ordered_json::object();
    for (const auto& [code, n] : s.status_codes) codes[std::to_string(code)] = n;
    j["status_codes"] = codes;
    // Which of the network errors happened (refused, reset, timed out...): a count alone does not
    // say why a run failed.
    if (s.network_errors > 0) j["first_network_error"] = s.first_network_error;
    j["latency_ms"] = {{"min", round3(ms(s.latency.min()))},
                       {"mean", round3(s.latency.mean() / 1e6)},
                       {"p50", round3(ms(s.latency.percentile(50)))},
                       {"p90", round3(ms(s.latency.percentile(90)))},
                       {"p99", round3(ms(s.latency.percentile(99)))},
                       {"max", round3(ms(s.latency.max()))}};
    j["connections_opened"] = s.connections_opened;
    j["build_seconds"] = r.build_seconds;
    j["prebuilt_cycles"] = r.prebuilt_cycles;
    j["stall_seconds"] = static_cast<double>(s.stall_ns) / 1e9;
    return j.dump(2) + "\n";
}

std::string render_text(const run_report& r) {
    const run_stats& s = r.stats;
    std::ostringstream o;
    const auto line = [&o](const char* what) -> std::ostringstream& {
        o << what;
        for (std::size_t n = std::char_traits<char>::length(what); n < 14; ++n) o << ' ';
        return o;
    };
    o << "metrics-governor-loadgen: " << protocol_name(r.opts) << " -> " << r.opts.url << "\n";
    line("series") << r.opts.series << " active in " << r.opts.metrics << " metrics, "
                   << r.opts.labels << " labels each, " << r.series_created << " created (churn "
                   << r.opts.churn << ")\n";
    line("cycles") << r.cycles_completed << " complete, " << r.requests_per_cycle
                   << " requests per cycle of up to "
                   << std::min(r.opts.series_per_request, r.opts.series) << " series\n";
    line("requests") << s.requests << " sent, " << s.requests_ok << " ok, " << s.failed()
                     << " failed\n";
    line("samples") << s.samples << " sent, " << s.samples_ok << " ok\n";
    line("elapsed") << fixed(r.elapsed_seconds, 3) << " s on " << r.opts.concurrency
                    << " connections (" << s.connections_opened << " opened)\n";
    line("throughput") << fixed(per_second(static_cast<double>(s.samples_ok), r.elapsed_seconds), 0)
                       << " samples/s, "
                       << fixed(per_second(static_cast<double>(s.requests), r.elapsed_seconds), 1)
                       << " requests/s, "
                       << fixed(per_second(static_cast<double>(s.bytes), r.elapsed_seconds) / 1e6,
                                2)
                       << " MB/s\n";
    line("responses");
    const char* sep = "";
    for (const auto& [name, n] : s.classes()) {
        o << sep << name << "=" << n;
        sep = " ";
    }
    o << "\n";
    if (s.network_errors > 0) line("network error") << s.first_network_error << " (the first)\n";
    line("status codes");
    sep = "";
    for (const auto& [code, n] : s.status_codes) {
        o << sep << code << "=" << n;
        sep = " ";
    }
    o << (s.status_codes.empty() ? "none\n" : "\n");
    line("latency ms") << "p50=" << fixed(ms(s.latency.percentile(50)), 3)
                       << " p90=" << fixed(ms(s.latency.percentile(90)), 3)
                       << " p99=" << fixed(ms(s.latency.percentile(99)), 3)
                       << " max=" << fixed(ms(s.latency.max()), 3)
                       << " mean=" << fixed(s.latency.mean() / 1e6, 3) << "\n";
    line("generator") << "encoding " << fixed(r.build_seconds, 3) << " s, " << r.prebuilt_cycles
                      << " cycles before the clock; senders waited "
                      << fixed(static_cast<double>(s.stall_ns) / 1e9, 3) << " s for bodies\n";
    return o.str();
}

}  // namespace mg::loadgen
