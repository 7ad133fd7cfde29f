// persistence_helpers: what the persistence integration tests share: remote-write bodies of
// numbered series, posting them to a daemon, reading a /metrics value and a JSON log line, and
// watching the state directory for files being written. Header-only test code; one test thread.
#pragma once

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "protocol/remote_write_builder.h"
#include "support/daemon.h"
#include "support/http_client.h"
#include "support/metrics_page.h"
#include "support/remote_write_client.h"

namespace persistence_helpers {

namespace proto = mg::protocol;

// Series metric{id=...} for ids [from, to), one sample each, spread over `metrics` names
// (metric_0, metric_1, ...) when metrics > 1.
inline std::string body(const std::string& metric, int from, int to, int metrics = 1) {
    std::vector<proto::owned_timeseries> ts;
    for (int i = from; i < to; ++i) {
        proto::owned_timeseries s;
        const std::string name = metrics > 1 ? metric + "_" + std::to_string(i % metrics) : metric;
        s.labels = {{"__name__", name}, {"id", std::to_string(i)}, {"job", "test"}};
        s.samples = {{1.0, 1700000000000}};
        ts.push_back(std::move(s));
    }
    return mg::test::prw_body(ts);
}

inline int post(const mg::test::running_daemon& d, const std::string& b) {
    mg::test::http_client c("127.0.0.1", d.ingest_port());
    return c.request(boost::beast::http::verb::post, "/api/v1/write", b, mg::test::k_prw_headers)
        .status;
}

inline std::optional<double> metric_value(const std::string& text, const std::string& series) {
    return mg::test::sample_value(text, series);
}

// The JSON log lines' objects whose msg is `msg`, from the daemon's output, in order.
inline std::vector<nlohmann::json> log_lines(const std::string& output, const std::string& msg) {
    std::vector<nlohmann::json> out;
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);) {
        if (line.find("\"msg\":\"" + msg + "\"") == std::string::npos) continue;
        auto j = nlohmann::json::parse(line.substr(line.find('{')), nullptr, false);
        if (!j.is_discarded()) out.push_back(std::move(j));
    }
    return out;
}

// The first of them.
inline std::optional<nlohmann::json> log_line(const std::string& output, const std::string& msg) {
    auto all = log_lines(output, msg);
    if (all.empty()) return std::nullopt;
    return std::move(all.front());
}

// Watches a directory (a state directory's trackers/) for files being created (the .tmp of an
// atomic write appears when the write starts), so a test can kill the daemon in the middle of a
// chosen kind of write. inotify, so waiting for a write blocks in poll() instead of spinning.
class dir_watch {
  public:
    explicit dir_watch(const std::string& dir) {
        fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "inotify_init1");
        if (inotify_add_watch(fd_, dir.c_str(), IN_CREATE) < 0) {
            const int e = errno;
            ::close(fd_);
            throw std::system_error(e, std::generic_category(), "inotify_add_watch " + dir);
        }
    }
    ~dir_watch() { ::close(fd_); }
    dir_watch(const dir_watch&) = delete;
    dir_watch& operator=(const dir_watch&) = delete;

    // The names created since the last call, waiting up to `timeout` for the first one.
    std::vector<std::string> created(std::chrono::milliseconds timeout) {
        std::vector<std::string> names;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return names;
        alignas(inotify_event) char buf[16384];
        for (;;) {
            const ssize_t n = ::read(fd_, buf, sizeof buf);
            if (n <= 0) break;
            for (ssize_t off = 0; off < n;) {
                const auto* e = reinterpret_cast<const inotify_event*>(buf + off);
                if (e->len > 0) names.emplace_back(e->name);
                off += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
            }
        }
        return names;
    }

  private:
    int fd_ = -1;
};

}  // namespace persistence_helpers
