// null_sink: the backend of bench/compare.sh. It reads every request body and throws it away,
// answering 204 to POST /api/v1/write (remote write) and /v1/metrics (OTLP), so the proxies
// in front of it are measured, not a storage engine. GET /stats answers the counters as
// "requests N\nbytes N\n"; they are also printed on exit (SIGINT/SIGTERM).
//
// Usage: null_sink [-listen=HOST:PORT] [-threads=N] [-delay=MS] [-capture=DIR [-capture-max=N]].
// The default 127.0.0.1:0 lets
// the OS pick the port; the first line on stdout is "listening HOST:PORT" with the bound port, so
// a script can read it without probing for a free port. -delay holds each answer that many
// milliseconds: a backend that far away (bench/latency.sh); each held request occupies one of
// the -threads, so give as many threads as requests may be in flight. -capture writes the first
// -capture-max (default 1000) remote write bodies, as received (snappy), to DIR/body-NNNNNN.bin:
// bench/capture_prometheus.sh records a real Prometheus's remote write this way.
//
// Reuses the daemon's HTTP server (mg_http: keep-alive, body limits) with its own router.
// Threading: N I/O threads (default 1) run one io_context; the counters are relaxed atomics.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "http/router.h"
#include "http/server.h"
#include "http/types.h"

namespace {

struct counters {
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> bytes{0};
};

struct options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    unsigned threads = 1;
    unsigned delay_ms = 0;
    std::string capture_dir;
    unsigned long capture_max = 1000;
};

bool parse_unsigned(std::string_view s, unsigned long max, unsigned long& out) {
    const auto* end = s.data() + s.size();
    auto [p, ec] = std::from_chars(s.data(), end, out);
    return ec == std::errc() && p == end && out <= max;
}

// Returns false (after printing why) on a bad argument.
bool parse_args(int argc, char** argv, options& opt) {
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        while (a.starts_with('-')) a.remove_prefix(1);
        const auto eq = a.find('=');
        const std::string_view key = a.substr(0, eq);
        const std::string_view value = eq == std::string_view::npos ? "" : a.substr(eq + 1);
        unsigned long n = 0;
        if (key == "listen") {
            const auto colon = value.rfind(':');
            if (colon == std::string_view::npos ||
                !parse_unsigned(value.substr(colon + 1), 65535, n)) {
                std::fprintf(stderr,
                             "null_sink: -listen: \"%.*s\"; want HOST:PORT (port 0 = any)\n",
                             static_cast<int>(value.size()), value.data());
                return false;
            }
            opt.host = std::string(value.substr(0, colon));
            opt.port = static_cast<std::uint16_t>(n);
        } else if (key == "threads") {
            if (!parse_unsigned(value, 256, n) || n == 0) {
                std::fprintf(stderr, "null_sink: -threads: \"%.*s\"; want an integer 1..256\n",
                             static_cast<int>(value.size()), value.data());
                return false;
            }
            opt.threads = static_cast<unsigned>(n);
        } else if (key == "delay") {
            if (!parse_unsigned(value, 60000, n)) {
                std::fprintf(stderr, "null_sink: -delay: \"%.*s\"; want milliseconds 0..60000\n",
                             static_cast<int>(value.size()), value.data());
                return false;
            }
            opt.delay_ms = static_cast<unsigned>(n);
        } else if (key == "capture") {
            if (value.empty()) {
                std::fprintf(stderr, "null_sink: -capture: want a directory\n");
                return false;
            }
            opt.capture_dir = std::string(value);
        } else if (key == "capture-max") {
            if (!parse_unsigned(value, 1000000, opt.capture_max)) {
                std::fprintf(stderr, "null_sink: -capture-max: \"%.*s\"; want 0..1000000\n",
                             static_cast<int>(value.size()), value.data());
                return false;
            }
        } else {
            std::fprintf(stderr,
                         "usage: null_sink [-listen=HOST:PORT] [-threads=N] [-delay=MS] "
                         "[-capture=DIR [-capture-max=N]]\n");
            return false;
        }
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    options opt;
    if (!parse_args(argc, argv, opt)) return 2;

    auto count = std::make_shared<counters>();
    auto routes = std::make_shared<mg::http::router>();
    // The body has been read by the server before the handler runs; only its size is kept.
    const auto delay = std::chrono::milliseconds(opt.delay_ms);
    auto captured = std::make_shared<std::atomic<unsigned long>>(0);
    auto capture = [opt, captured](const mg::http::request& req) {
        if (opt.capture_dir.empty()) return;
        const auto n = captured->fetch_add(1, std::memory_order_relaxed);
        if (n >= opt.capture_max) return;
        char name[32];
        std::snprintf(name, sizeof name, "/body-%06lu.bin", n);
        std::ofstream out(opt.capture_dir + name, std::ios::binary);
        out.write(req.body().data(), static_cast<std::streamsize>(req.body().size()));
    };
    auto swallow = [count, delay](const mg::http::request& req) {
        if (delay.count() > 0)
            std::this_thread::sleep_for(delay);  // the round trip of a distant backend
        count->requests.fetch_add(1, std::memory_order_relaxed);
        count->bytes.fetch_add(req.body().size(), std::memory_order_relaxed);
        return mg::http::make_response(req, mg::http::bhttp::status::no_content, "");
    };
    routes->add(mg::http::bhttp::verb::post, "/api/v1/write",
                [swallow, capture](const mg::http::request& req) {
                    capture(req);
                    return swallow(req);
                });
    routes->add(mg::http::bhttp::verb::post, "/v1/metrics", swallow);
    routes->add(mg::http::bhttp::verb::get, "/stats", [count](const mg::http::request& req) {
        return mg::http::make_response(
            req, mg::http::bhttp::status::ok,
            "requests " + std::to_string(count->requests.load(std::memory_order_relaxed)) +
                "\nbytes " + std::to_string(count->bytes.load(std::memory_order_relaxed)) + "\n");
    });

    boost::asio::io_context ioc(static_cast<int>(opt.threads));
    mg::http::server_options sopt;
    sopt.name = "null_sink";
    sopt.max_body_size = 1024ULL * 1024 * 1024;  // the proxies' batches, whatever their size
    mg::http::server srv(ioc, sopt, routes);
    auto bound = srv.listen(opt.host, opt.port);
    if (!bound) {
        std::fprintf(stderr, "null_sink: cannot listen on %s:%u\n", opt.host.c_str(), opt.port);
        return 1;
    }
    std::printf("listening %s\n", mg::http::format_endpoint(bound.value()).c_str());
    std::fflush(stdout);

    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) {
        srv.stop_accepting();
        ioc.stop();
    });
    std::vector<std::thread> threads;
    for (unsigned i = 1; i < opt.threads; ++i) threads.emplace_back([&ioc] { ioc.run(); });
    ioc.run();
    for (auto& t : threads) t.join();
    std::printf("requests %llu\nbytes %llu\n",
                static_cast<unsigned long long>(count->requests.load()),
                static_cast<unsigned long long>(count->bytes.load()));
    return 0;
}
