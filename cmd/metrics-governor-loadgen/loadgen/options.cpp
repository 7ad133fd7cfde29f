#include "loadgen/options.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <functional>
#include <sstream>
#include <string_view>

#include "common/units.h"

namespace mg::loadgen {

namespace {

struct flag_spec {
    std::string name;      // without dashes
    std::string accepted;  // the form, for -help and error messages
    std::string fallback;  // the default, as text ("" = none)
    std::string help;
    std::function<std::optional<std::string>(const std::string&, options&)>
        assign;  // error or nullopt
};

std::optional<std::uint64_t> parse_unsigned(const std::string& text) {
    std::uint64_t v = 0;
    const char* end = text.data() + text.size();
    const auto r = std::from_chars(text.data(), end, v);
    if (text.empty() || r.ec != std::errc() || r.ptr != end) return std::nullopt;
    return v;
}

std::optional<double> parse_double(const std::string& text) {
    double v = 0;
    const char* end = text.data() + text.size();
    const auto r = std::from_chars(text.data(), end, v);
    if (text.empty() || r.ec != std::errc() || r.ptr != end || !std::isfinite(v))
        return std::nullopt;
    return v;
}

// An assign function for an integer flag in [lo, hi].
template <typename T>
auto integer(T options::*field, std::uint64_t lo, std::uint64_t hi) {
    return [field, lo, hi](const std::string& text, options& o) -> std::optional<std::string> {
        const auto v = parse_unsigned(text);
        if (!v || *v < lo || *v > hi) return "\"" + text + "\" is out of range or not an integer";
        o.*field = static_cast<T>(*v);
        return std::nullopt;
    };
}

const std::vector<flag_spec>& flag_table() {
    static const std::vector<flag_spec> table{
        {"url",
         "an http:// URL, e.g. http://127.0.0.1:4318/api/v1/write, or http://host:port for "
         "otlp-grpc (https is not supported)",
         "",
         "Where to send. Required. Without a path: /api/v1/write (prw) or /v1/metrics (otlp). "
         "otlp-grpc takes no path (the method is fixed); without a port: 80.",
         [](const std::string& text, options& o) -> std::optional<std::string> {
             o.url = text;  // parsed once -protocol is known, in parse_args
             return std::nullopt;
         }},
        {"protocol", "prw, otlp or otlp-grpc", "prw",
         "prw: Prometheus remote write 1.0 (snappy protobuf). otlp: OTLP/HTTP protobuf, gauges. "
         "otlp-grpc: the same OTLP bodies as unary OTLP/gRPC Export calls (uncompressed), one "
         "HTTP/2 connection per -concurrency.",
         [](const std::string& text, options& o) -> std::optional<std::string> {
             o.transport = transport_kind::http;
             if (text == "prw") {
                 o.protocol = wire_protocol::prw;
             } else if (text == "otlp") {
                 o.protocol = wire_protocol::otlp;
             } else if (text == "otlp-grpc") {
                 o.protocol = wire_protocol::otlp;
                 o.transport = transport_kind::grpc;
             } else {
                 return "unknown protocol \"" + text + "\"";
             }
             return std::nullopt;
         }},
        {"series", "an integer 1..10000000", "10000", "Active series (N).",
         integer(&options::series, 1, k_max_series)},
        {"metrics", "an integer from 1 to -series", "10",
         "Metric names (M); the series are spread evenly over them.",
         integer(&options::metrics, 1, k_max_series)},
        {"labels", "an integer 1..100", "8",
         "Labels per series besides __name__; series_id carries the series id, the others "
         "instance, job, pod, namespace, ... with realistic values.",
         integer(&options::labels, 1, k_max_labels)},
        {"shape", "a shape file (name{label=\"value\",...} per line)", "",
         "Series shaped like recorded traffic (bench/capture_prometheus.sh writes one from a real "
         "Prometheus): the metric names and label sets of the file's series, scaled to -series "
         "and -metrics, each series' instance label carrying its id; -labels is then ignored. "
         "Remote write only.",
         [](const std::string& text, options& o) -> std::optional<std::string> {
             std::ifstream in(text, std::ios::binary);
             if (!in) return "cannot read \"" + text + "\"";
             const std::string body((std::istreambuf_iterator<char>(in)),
                                    std::istreambuf_iterator<char>());
             auto t = shape_template::parse(body);
             if (!t.ok()) return text + ": " + t.error_message();
             o.shape_file = text;
             o.shape = std::make_shared<const shape_template>(std::move(*t));
             return std::nullopt;
         }},
        {"series-per-request", "an integer 1..10000000", "1000", "Series per request (S).",
         integer(&options::series_per_request, 1, k_max_series)},
        {"samples-per-series", "an integer 1..10000", "1",
         "Samples per series in each request (OTLP: points), 1 s apart.",
         integer(&options::samples_per_series, 1, 10'000)},
        {"churn", "a fraction 0..1, e.g. 0.1", "0",
         "Fraction of the series replaced by new series at the start of each cycle after the "
         "first (exactly round(churn * N) of them).",
         [](const std::string& text, options& o) -> std::optional<std::string> {
             const auto v = parse_double(text);
             if (!v || *v < 0 || *v > 1) return "\"" + text + "\" is not a fraction from 0 to 1";
             o.churn = *v;
             return std::nullopt;
         }},
        {"concurrency", "an integer 1..1024", "2",
         "Parallel keep-alive connections, one thread each.",
         integer(&options::concurrency, 1, 1024)},
        {"rate", "requests per second, a number >= 0, e.g. 200 or 12.5", "0",
         "Total requests per second over all connections; 0 = as fast as the receiver answers.",
         [](const std::string& text, options& o) -> std::optional<std::string> {
             const auto v = parse_double(text);
             if (!v || *v < 0) return "\"" + text + "\" is not a number >= 0";
             o.rate = *v;
             return std::nullopt;
         }},
        {"duration", std::string(k_duration_forms), "",
         "Send for this long (the last cycle may be cut short). Excludes -cycles.",
         [](const std::string& text, options& o) -> std::optional<std::string> {
             const auto d = parse_duration(text);
             if (!d.ok()) return d.error_message();
             if (d->count() <= 0) return "\"" + text + "\" is not a positive duration";
             o.duration = *d;
             return std::nullopt;
         }},
        {"cycles", "a positive integer", "",
         "Send this many cycles (one cycle = one request for every active series). Excludes "
         "-duration. With neither, one cycle.",
         [](const std::string& text, options& o) -> std::optional<std::string> {
             const auto v = parse_unsigned(text);
             if (!v || *v == 0) return "\"" + text + "\" is not a positive integer";
             o.cycles = *v;
             return std::nullopt;
         }},
        {"seed", "an unsigned 64-bit integer", "1",
         "Seed of every choice: the same seed gives the same series and the same request bodies "
         "in the same order on each connection.",
         integer(&options::seed, 0, UINT64_MAX)},
        {"report", "text or json", "text", "Format of the report printed on stdout at the end.",
         [](const std::string& text, options& o) -> std::optional<std::string> {
             if (text == "text") {
                 o.report = report_format::text;
             } else if (text == "json") {
                 o.report = report_format::json;
             } else {
                 return "unknown format \"" + text + "\"";
             }
             return std::nullopt;
         }},
        {"timeout", std::string(k_duration_forms), "10s",
         "Per request (connect, write, read; otlp-grpc: connect, then the call's deadline); a "
         "timeout counts as a network error.",
         [](const std::string& text, options& o) -> std::optional<std::string> {
             const auto d = parse_duration(text);
             if (!d.ok()) return d.error_message();
             if (d->count() <= 0) return "\"" + text + "\" is not a positive duration";
             o.timeout = *d;
             return std::nullopt;
         }},
        {"timestamps", "fixed or now", "fixed",
         "Sample timestamps start at a fixed instant (2023-11-14T22:13:20Z; bodies repeat byte "
         "for byte) or at the start of the run (for backends that reject old samples).",
         [](const std::string& text, options& o) -> std::optional<std::string> {
             if (text == "fixed") {
                 o.timestamps = timestamp_mode::fixed;
             } else if (text == "now") {
                 o.timestamps = timestamp_mode::now;
             } else {
                 return "unknown mode \"" + text + "\"";
             }
             return std::nullopt;
         }},
        {"prebuild-memory", std::string(k_byte_size_forms), "512MiB",
         "Encoded cycles kept at once. As many cycles as fit (at most 16, at least 2 whatever "
         "their size) are encoded before the clock starts; the rest while earlier ones are sent.",
         [](const std::string& text, options& o) -> std::optional<std::string> {
             const auto v = parse_byte_size(text);
             if (!v.ok()) return v.error_message();
             o.prebuild_memory = *v;
             return std::nullopt;
         }},
        {"build-threads", "an integer 1..64", "1",
         "Threads that encode later cycles while earlier ones are being sent (before the clock "
         "starts, every core encodes).",
         integer(&options::build_threads, 1, 64)},
    };
    return table;
}

const flag_spec* find_flag(std::string_view name) {
    for (const auto& f : flag_table()) {
        if (f.name == name) return &f;
    }
    return nullptr;
}

std::string problem(const flag_spec& f, const std::string& what) {
    // parse_duration's messages already name the accepted form.
    if (what.find("; want ") != std::string::npos) return "-" + f.name + ": " + what;
    return "-" + f.name + ": " + what + "; want " + f.accepted;
}

// Wraps `text` at word boundaries into lines of at most `width` characters after `indent`.
std::string wrap(const std::string& text, std::size_t indent, std::size_t width) {
    std::string out(indent, ' ');
    std::size_t column = 0;
    std::istringstream words(text);
    for (std::string word; words >> word;) {
        if (column > 0 && column + 1 + word.size() > width) {
            out += "\n" + std::string(indent, ' ');
            column = 0;
        } else if (column > 0) {
            out += ' ';
            ++column;
        }
        out += word;
        column += word.size();
    }
    return out + "\n";
}

// "-name=v" / "--name" -> "-name".
std::string flag_name_of(std::string_view arg) {
    arg.remove_prefix(std::min(arg.find_first_not_of('-'), arg.size()));
    return "-" + std::string(arg.substr(0, arg.find('=')));
}

}  // namespace

result<http_target> parse_http_url(const std::string& url, wire_protocol protocol) {
    constexpr std::string_view scheme = "http://";
    if (url.rfind(scheme, 0) != 0) {
        return make_error(url.rfind("https://", 0) == 0
                              ? "https is not supported"
                              : "\"" + url + "\" does not start with http://");
    }
    std::string_view rest = std::string_view(url).substr(scheme.size());
    const auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    http_target t;
    t.path = slash == std::string_view::npos ? std::string(default_path(protocol))
                                             : std::string(rest.substr(slash));
    if (authority.find('@') != std::string_view::npos)
        return make_error("user info in the URL is not supported");
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {  // [::1]:8428
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return make_error("unclosed '[' in the host");
        t.host = std::string(authority.substr(1, close - 1));
        const auto after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return make_error("junk after the IPv6 address");
            port = after.substr(1);
        }
    } else {
        const auto colon = authority.rfind(':');
        t.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    }
    if (t.host.empty()) return make_error("no host in \"" + url + "\"");
    if (!port.empty()) {
        const auto p = parse_unsigned(std::string(port));
        if (!p || *p == 0 || *p > 65535)
            return make_error("bad port \"" + std::string(port) + "\"");
        t.port = std::string(port);
    }
    return t;
}

result<http_target> parse_grpc_url(const std::string& url) {
    auto t = parse_http_url(url, wire_protocol::otlp);
    if (!t.ok()) return t;
    // parse_http_url gives the default path exactly when the URL has none.
    const std::string_view rest = std::string_view(url).substr(std::string_view("http://").size());
    const auto slash = rest.find('/');
    if (slash != std::string_view::npos && rest.substr(slash) != "/") {
        return make_error("otlp-grpc takes no path (it calls " + std::string(k_otlp_grpc_method) +
                          "), got \"" + std::string(rest.substr(slash)) + "\"");
    }
    t->path = std::string(k_otlp_grpc_method);
    return t;
}

std::string_view protocol_name(const options& o) {
    if (o.transport == transport_kind::grpc) return "otlp-grpc";
    return o.protocol == wire_protocol::prw ? "prw" : "otlp";
}

parsed_args parse_args(int argc, const char* const argv[]) {
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
    return parse_args(args);
}

parsed_args parse_args(const std::vector<std::string>& in) {
    parsed_args out;
    const auto& table = flag_table();

    // Go's flag package takes one dash for long names; CLI11 wants two (as the daemon does).
    std::vector<std::string> args;
    bool flags_done = false;
    for (std::string a : in) {
        if (a == "--") flags_done = true;
        if (!flags_done && a.size() > 2 && a[0] == '-' && a[1] != '-' &&
            std::isalpha(static_cast<unsigned char>(a[1])) != 0) {
            a.insert(0, "-");
        }
        args.push_back(std::move(a));
    }

    CLI::App app{"metrics-governor-loadgen"};
    app.set_help_flag();
    app.allow_extras();
    std::vector<std::string> raw(table.size());
    std::vector<CLI::Option*> opts(table.size());
    for (std::size_t i = 0; i < table.size(); ++i) {
        opts[i] = app.add_option("--" + table[i].name, raw[i]);
        opts[i]->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }
    auto* help_flag = app.add_flag("-h,--help");

    std::reverse(args.begin(), args.end());  // CLI11 takes the vector in reverse order
    try {
        app.parse(args);
    } catch (const CLI::ParseError& e) {
        // The one error CLI11 raises itself here: a flag at the end without its value.
        const std::string what = e.what();
        const flag_spec* f = nullptr;
        for (const auto& spec : table) {
            if (what.rfind("--" + spec.name + ":", 0) == 0 ||
                what.rfind("--" + spec.name + " ", 0) == 0) {
                f = &spec;
            }
        }
        out.errors.push_back(f != nullptr ? problem(*f, "missing value") : "command line: " + what);
    }
    if (help_flag->count() > 0) {
        out.what = parsed_args::action::help;
        return out;
    }

    for (const auto& extra : app.remaining()) {
        if (extra.size() > 1 && extra[0] == '-') {
            out.errors.push_back(flag_name_of(extra) +
                                 ": unknown flag; run with -help for the list");
        } else {
            out.errors.push_back("\"" + extra +
                                 "\": unexpected argument; every setting is a -flag");
        }
    }
    for (std::size_t i = 0; i < table.size(); ++i) {
        if (opts[i]->count() == 0) continue;
        if (auto err = table[i].assign(raw[i], out.opts))
            out.errors.push_back(problem(table[i], *err));
    }

    // Relations between flags.
    const flag_spec& url = *find_flag("url");
    if (out.opts.url.empty()) {
        out.errors.push_back(problem(url, "required"));
    } else if (auto t = out.opts.transport == transport_kind::grpc
                            ? parse_grpc_url(out.opts.url)
                            : parse_http_url(out.opts.url, out.opts.protocol);
               !t.ok()) {
        out.errors.push_back(problem(url, t.error_message()));
    } else {
        out.opts.target = std::move(*t);
    }
    if (out.opts.metrics > out.opts.series) {
        out.errors.push_back(problem(*find_flag("metrics"),
                                     std::to_string(out.opts.metrics) +
                                         " metrics need at least as many series, -series is " +
                                         std::to_string(out.opts.series)));
    }
    if (out.opts.shape && out.opts.protocol != wire_protocol::prw) {
        out.errors.push_back(
            problem(*find_flag("shape"), "remote write only (-protocol=prw, the default)"));
    }
    if (out.opts.duration && out.opts.cycles) {
        out.errors.push_back(
            problem(*find_flag("cycles"), "given together with -duration; choose one"));
    }

    if (!out.errors.empty()) out.what = parsed_args::action::fail;
    return out;
}

std::string help_text() {
    std::ostringstream s;
    s << "metrics-governor-loadgen: sends synthetic series to a remote-write, OTLP/HTTP or "
         "OTLP/gRPC\nreceiver "
         "and reports throughput, latency percentiles and errors by status class.\n\n"
         "Usage: metrics-governor-loadgen -url=http://127.0.0.1:4318/api/v1/write [flags]\n\n"
         "Flags take one dash or two and their value after '=' or a space.\n\n";
    for (const auto& f : flag_table()) {
        s << "  -" << f.name << "  (" << f.accepted;
        if (!f.fallback.empty()) s << "; default " << f.fallback;
        s << ")\n" << wrap(f.help, 6, 88);
    }
    s << "  -help\n      This text.\n\n"
         "A cycle sends every active series once, split into requests of -series-per-request\n"
         "series; request r of a cycle goes to connection r % -concurrency. Bodies are encoded\n"
         "ahead: the first cycles (as many as -prebuild-memory holds) before the clock starts,\n"
         "later ones while earlier ones are sent; the report says how long senders waited for\n"
         "bodies (non-zero: the generator, not the receiver, set the pace).\n\n"
         "Nothing is retried: a 429 (its Retry-After is ignored), any other non-2xx answer and a\n"
         "network error each count once in their class, and the generator goes on. otlp-grpc\n"
         "statuses are counted as their HTTP equivalents (OK 200, RESOURCE_EXHAUSTED 429, ...).\n\n"
         "Exit code: 0 when every request got a 2xx answer, 1 when some did not (the report is\n"
         "printed anyway), 2 for bad flags.\n";
    return s.str();
}

}  // namespace mg::loadgen
