// The Prometheus peer and waiting helpers of the end-to-end tests (prometheus_peer.h).
#include "support/prometheus_peer.h"

#include <catch2/catch.hpp>
#include <cctype>
#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "support/peers.h"

namespace mg::test {

using namespace std::chrono_literals;

void drain(child_process& p) {
    // Less than 2 ms would read nothing: the wait is counted in whole ms.
    p.wait_for_line("\x01never\x02", 10ms);
}

std::string url_encode(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::optional<http_reply> try_get(unsigned short port, const std::string& target) {
    try {
        return http_get(port, target);
    } catch (const std::exception&) {
        return std::nullopt;  // connection refused or reset: not up (yet)
    }
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                const std::vector<child_process*>& logs) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        for (auto* p : logs) drain(*p);
        if (pred()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(200ms);
    }
}

prometheus_peer::prometheus_peer(const std::string& role, const std::string& config,
                                 std::vector<std::string> extra, unsigned short port,
                                 const std::string& data_dir)
    : role_(role) {
    const auto bin = require_program("prometheus", "prometheus");
    dir_.write("prometheus.yml", config);
    std::vector<std::string> argv{
        "--config.file=" + dir_.file("prometheus.yml"),
        "--storage.tsdb.path=" + (data_dir.empty() ? dir_.file("data") : data_dir),
        "--web.listen-address=127.0.0.1:" + std::to_string(port), "--log.level=info"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    proc_ = std::make_unique<child_process>(peer_command(bin, argv));
    // The web listener logs the address it bound, with the real port.
    const auto listening = proc_->wait_for_line("msg=\"Listening on\"", 30s);
    if (!listening)
        FAIL("prometheus (" << role_ << ") did not start listening; output:\n" << proc_->output());
    static const std::regex addr_re(R"(address=127\.0\.0\.1:(\d+))");
    std::smatch m;
    if (!std::regex_search(*listening, m, addr_re))
        FAIL("no port in prometheus' line: " << *listening);
    port_ = static_cast<unsigned short>(std::stoi(m[1].str()));
    // Prometheus logs "Listening on" from the web server's goroutine, so the ready line may come
    // before it, already scanned past by the wait above: look in what was read first.
    constexpr const char* k_ready = "Server is ready to receive web requests.";
    if (proc_->output().find(k_ready) == std::string::npos && !proc_->wait_for_line(k_ready, 30s))
        FAIL("prometheus (" << role_ << ") never became ready; output:\n" << proc_->output());
    // The log line says it; the readiness endpoint confirms (bounded, normally the first try).
    for (int tries = 0;; ++tries) {
        const auto r = try_get(port_, "/-/ready");
        if (r && r->status == 200) break;
        if (tries == 50) FAIL("prometheus (" << role_ << ") /-/ready never answered 200");
        drain(*proc_);
        std::this_thread::sleep_for(20ms);
    }
}

std::map<std::string, double> query_by_label(unsigned short port, const std::string& query,
                                             const std::string& label) {
    std::map<std::string, double> out;
    const auto r = try_get(port, "/api/v1/query?query=" + url_encode(query));
    if (!r || r->status != 200) return out;
    const auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (j.is_discarded()) return out;
    for (const auto& s : j["data"]["result"])
        out[s["metric"].value(label, "")] = std::stod(s["value"][1].get<std::string>());
    return out;
}

std::int64_t unix_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace mg::test
