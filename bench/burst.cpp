// burst: N connections each post one large remote-write request at the same moment (issue 15's
// "400 concurrent 5 MB requests"), for bench/burst_rss.sh. Builds one valid remote write 1.0 body
// (snappy) of about -body-bytes compressed, with label values that do not compress away, opens
// every connection first, then releases all senders at once; prints a JSON line with the answers
// by status code and the slowest answer.
//
// Usage: burst -port=PORT [-connections=400] [-body-bytes=5MiB-ish bytes] [-timeout-s=120]
// Threads: one per connection (blocking POSIX sockets); the main thread waits for them.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <barrier>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "protocol/compression.h"
#include "protocol/remote_write_builder.h"

namespace {

struct options {
    unsigned port = 0;
    unsigned connections = 400;
    std::uint64_t body_bytes = 5'000'000;
    unsigned timeout_s = 120;
};

bool parse(int argc, char** argv, options& o) {
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        while (a.starts_with('-')) a.remove_prefix(1);
        const auto eq = a.find('=');
        if (eq == std::string_view::npos) return false;
        const auto key = a.substr(0, eq);
        const auto value = a.substr(eq + 1);
        std::uint64_t n = 0;
        const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (ec != std::errc() || p != value.data() + value.size()) return false;
        if (key == "port")
            o.port = static_cast<unsigned>(n);
        else if (key == "connections")
            o.connections = static_cast<unsigned>(n);
        else if (key == "body-bytes")
            o.body_bytes = n;
        else if (key == "timeout-s")
            o.timeout_s = static_cast<unsigned>(n);
        else
            return false;
    }
    return o.port != 0 && o.port < 65536 && o.connections > 0;
}

// A remote-write body whose snappy form is at least `want` bytes: series with pseudo-random label
// values (a xorshift stream), so snappy cannot shrink them much.
std::string make_body(std::uint64_t want) {
    std::uint64_t x = 88172645463325252ULL;
    auto next = [&x] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return x;
    };
    std::vector<mg::protocol::owned_timeseries> ts;
    std::string plain, out;
    for (std::size_t batch = 1024;; batch *= 2) {
        while (ts.size() < batch) {
            mg::protocol::owned_timeseries t;
            t.labels = {{"__name__", "burst_metric_" + std::to_string(ts.size() % 50)},
                        {"id", std::to_string(ts.size())},
                        {"value", std::to_string(next()) + std::to_string(next())}};
            t.samples = {{static_cast<double>(next() % 1000), 1700000000000}};
            ts.push_back(std::move(t));
        }
        plain.clear();
        mg::protocol::encode_remote_write_v1(ts, {}, plain);
        out.clear();
        mg::protocol::snappy_encode(plain, out);
        if (out.size() >= want) return out;
    }
}

int connect_to(unsigned port, unsigned timeout_s) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    timeval tv{static_cast<time_t>(timeout_s), 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Sends the request and reads the status line; 0 for a connection closed or timed out first.
int post(int fd, const std::string& head, const std::string& body) {
    for (const std::string* part : {&head, &body}) {
        std::string_view rest = *part;
        while (!rest.empty()) {
            const auto n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
            if (n <= 0) break;  // refused early (429 before the body): read the answer anyway
            rest.remove_prefix(static_cast<std::size_t>(n));
        }
    }
    std::string got;
    char buf[4096];
    while (got.find("\r\n") == std::string::npos) {
        const auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return 0;
        got.append(buf, static_cast<std::size_t>(n));
    }
    if (got.rfind("HTTP/1.1 ", 0) != 0 || got.size() < 12) return 0;
    return std::stoi(got.substr(9, 3));
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    if (!parse(argc, argv, o)) {
        std::fprintf(stderr,
                     "usage: burst -port=PORT [-connections=N] [-body-bytes=B] [-timeout-s=S]\n");
        return 2;
    }
    const std::string body = make_body(o.body_bytes);
    const std::string head =
        "POST /api/v1/write HTTP/1.1\r\nHost: burst\r\nContent-Type: application/x-protobuf\r\n"
        "Content-Encoding: snappy\r\nConnection: close\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n";
    std::mutex mu;
    std::map<int, unsigned> statuses;
    std::atomic<std::int64_t> slowest_ms{0};
    std::barrier start(static_cast<std::ptrdiff_t>(o.connections));
    std::vector<std::thread> threads;
    threads.reserve(o.connections);
    for (unsigned i = 0; i < o.connections; ++i) {
        threads.emplace_back([&] {
            const int fd = connect_to(o.port, o.timeout_s);
            start.arrive_and_wait();  // every connection open: the burst starts at once
            const auto t0 = std::chrono::steady_clock::now();
            const int status = fd < 0 ? -1 : post(fd, head, body);
            if (fd >= 0) ::close(fd);
            const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - t0)
                                .count();
            auto cur = slowest_ms.load();
            while (ms > cur && !slowest_ms.compare_exchange_weak(cur, ms)) {
            }
            std::lock_guard lock(mu);
            ++statuses[status];
        });
    }
    for (auto& t : threads) t.join();
    std::printf("{\"connections\":%u,\"body_bytes\":%zu,\"slowest_ms\":%lld,\"statuses\":{",
                o.connections, body.size(), static_cast<long long>(slowest_ms.load()));
    bool first = true;
    for (const auto& [code, n] : statuses) {
        std::printf("%s\"%d\":%u", first ? "" : ",", code, n);
        first = false;
    }
    std::printf("}}\n");
    return 0;
}
