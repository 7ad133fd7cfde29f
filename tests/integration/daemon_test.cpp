// The daemon as a user runs it: start on free ports, scrape, probe, signal, misconfigure.
#include "support/daemon.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/http_client.h"

using namespace std::chrono_literals;
using mg::test::child_process;
using mg::test::running_daemon;
using mg::test::temp_dir;
namespace bhttp = boost::beast::http;

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

TEST_CASE("stats listener serves metrics, health, 404 and 405", "[daemon]") {
    running_daemon d;
    const auto port = d.stats_port();

    const auto metrics = mg::test::http_get(port, "/metrics");
    CHECK(metrics.status == 200);
    CHECK(metrics.headers.at("content-type").find("text/plain; version=0.0.4") == 0);
    for (const char* family :
         {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
          "process_max_fds", "process_start_time_seconds", "metrics_governor_build_info{"}) {
        INFO(family);
        CHECK(metrics.body.find(family) != std::string::npos);
    }

    const auto live = mg::test::http_get(port, "/live");
    CHECK(live.status == 200);
    CHECK(nlohmann::json::parse(live.body)["status"] == "up");
    const auto ready = mg::test::http_get(port, "/ready");
    CHECK(ready.status == 200);
    CHECK(nlohmann::json::parse(ready.body)["status"] == "up");

    CHECK(mg::test::http_get(port, "/no-such-path").status == 404);
    mg::test::http_client c("127.0.0.1", port);
    const auto post = c.request(bhttp::verb::post, "/metrics", "x");
    CHECK(post.status == 405);
    CHECK(post.headers.at("allow") == "GET");

    d.process().signal(SIGTERM);
    CHECK(d.process().wait_exit(10s) == 0);
    CHECK(d.process().output().find("\"msg\":\"metrics-governor stopped\"") != std::string::npos);
}

TEST_CASE("keep-alive connections serve several requests and HEAD has no body", "[daemon]") {
    running_daemon d;
    mg::test::http_client c("127.0.0.1", d.stats_port());
    for (int i = 0; i < 3; ++i) {
        const auto r = c.get("/live");
        CHECK(r.status == 200);
        CHECK(r.keep_alive);
    }
    const auto head = c.request(bhttp::verb::head, "/metrics");
    CHECK(head.status == 200);
    CHECK(head.body.empty());
}

TEST_CASE("oversized and malformed requests get 431 and 400", "[daemon]") {
    running_daemon d({"-http-max-header-size=2KiB"});
    {
        mg::test::http_client c("127.0.0.1", d.stats_port());
        const auto r =
            c.request(bhttp::verb::get, "/live", "", {{"X-Big", std::string(4096, 'a')}});
        CHECK(r.status == 431);
    }
    {
        mg::test::http_client c("127.0.0.1", d.stats_port());
        const auto r = c.raw("GET /live HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n");
        CHECK(r.status == 400);
        CHECK(c.closed_by_peer());
    }
    CHECK(mg::test::http_get(d.stats_port(), "/live").status == 200);  // still serving others
}

TEST_CASE("an idle keep-alive connection is closed at the idle timeout", "[daemon]") {
    running_daemon d({"-http-idle-timeout=300ms"});
    mg::test::http_client c("127.0.0.1", d.stats_port(), 10s);
    CHECK(c.get("/live").status == 200);
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(c.closed_by_peer());
    CHECK(std::chrono::steady_clock::now() - t0 < 5s);
}

TEST_CASE("SIGTERM with an idle keep-alive connection exits promptly with code 0", "[daemon]") {
    running_daemon d({"-shutdown-timeout=20s"});
    mg::test::http_client c("127.0.0.1", d.stats_port());
    CHECK(c.get("/ready").status == 200);
    const auto t0 = std::chrono::steady_clock::now();
    d.process().signal(SIGTERM);
    CHECK(d.process().wait_exit(15s) == 0);
    // Well inside the 20 s budget: idle connections are closed, not waited for.
    CHECK(std::chrono::steady_clock::now() - t0 < 10s);
    CHECK(c.closed_by_peer());
}

TEST_CASE("SIGINT also stops the daemon cleanly", "[daemon]") {
    running_daemon d;
    d.process().signal(SIGINT);
    CHECK(d.process().wait_exit(10s) == 0);
    CHECK(d.process().output().find("\"signal\":\"SIGINT\"") != std::string::npos);
}

TEST_CASE("SIGHUP is logged and the daemon keeps serving", "[daemon]") {
    running_daemon d;
    d.process().signal(SIGHUP);
    CHECK(d.process().wait_for_line("received SIGHUP").has_value());
    CHECK(mg::test::http_get(d.stats_port(), "/live").status == 200);
}

TEST_CASE("logs are JSON lines by default and text on request", "[daemon]") {
    {
        running_daemon d;
        const auto& out = d.process().output();
        const auto start = out.find("{\"level\":\"info\"");
        REQUIRE(start != std::string::npos);
        const auto end = out.find('\n', start);
        const auto j = nlohmann::json::parse(out.substr(start, end - start));
        CHECK(j.contains("ts"));
        CHECK(j.contains("msg"));
    }
    {
        running_daemon d({"-log-format=text"});
        CHECK(d.process().output().find(" INFO metrics-governor started") != std::string::npos);
    }
}

TEST_CASE("a YAML config file is loaded and flags override it", "[daemon]") {
    temp_dir dir;
    dir.write("mg.yaml", "log:\n  format: text\nshutdown_timeout: 7s\n");
    running_daemon d({"-config", dir.file("mg.yaml"), "--log-format=json"});
    CHECK(d.process().output().find("{\"level\":\"info\"") != std::string::npos);
    d.process().signal(SIGTERM);
    REQUIRE(d.process().wait_exit(10s) == 0);
    CHECK(d.process().output().find("\"timeout\":\"7s\"") != std::string::npos);
}

TEST_CASE("bad configuration exits with code 2 naming every problem", "[daemon]") {
    temp_dir dir;
    dir.write("bad.yaml",
              "bloom_persistence:\n  compression_level: 12\n  max_size: lots\n  colour: blue\n");
    child_process p(
        {mg::test::daemon_path(), "-config", dir.file("bad.yaml"), "-shutdown-timeout=soon"});
    REQUIRE(p.wait_exit() == 2);
    const auto& out = p.output();
    CHECK(out.find("bloom_persistence.compression_level") != std::string::npos);
    CHECK(out.find("bloom_persistence.max_size") != std::string::npos);
    CHECK(out.find("bloom_persistence.colour") != std::string::npos);
    CHECK(out.find("shutdown-timeout") != std::string::npos);
    CHECK(out.find("500MiB") != std::string::npos);  // the accepted size form is shown
}

TEST_CASE("unknown flags and missing config files exit with code 2", "[daemon]") {
    {
        child_process p({mg::test::daemon_path(), "-no-such-flag=1"});
        CHECK(p.wait_exit() == 2);
        CHECK(p.output().find("no-such-flag") != std::string::npos);
    }
    {
        child_process p({mg::test::daemon_path(), "-config", "/nonexistent/mg.yaml"});
        CHECK(p.wait_exit() == 2);
        CHECK(p.output().find("/nonexistent/mg.yaml") != std::string::npos);
    }
}

TEST_CASE("validate, version, help and show-effective-config exit 0 without starting", "[daemon]") {
    temp_dir dir;
    dir.write("ok.yaml", "bloom_persistence:\n  enabled: true\n  max_size: 1GiB\n");
    {
        child_process p({mg::test::daemon_path(), "validate", "-config", dir.file("ok.yaml")});
        CHECK(p.wait_exit() == 0);
    }
    {
        dir.write("bad.yaml", "stats:\n  addr: nowhere\n");
        child_process p({mg::test::daemon_path(), "validate", "-config", dir.file("bad.yaml")});
        CHECK(p.wait_exit() == 2);
        CHECK(p.output().find("stats.addr") != std::string::npos);
    }
    {
        child_process p({mg::test::daemon_path(), "-version"});
        CHECK(p.wait_exit() == 0);
        CHECK(p.output().find("metrics-governor") != std::string::npos);
    }
    {
        child_process p({mg::test::daemon_path(), "-help"});
        CHECK(p.wait_exit() == 0);
        CHECK(p.output().find("-bloom-persistence-save-interval") != std::string::npos);
    }
    {
        child_process p(
            {mg::test::daemon_path(), "-config", dir.file("ok.yaml"), "-show-effective-config"});
        CHECK(p.wait_exit() == 0);
        CHECK(p.output().find("max_size: 1073741824") != std::string::npos);
    }
}

TEST_CASE("the pid file (-pid-file) holds the daemon's pid while it runs and is gone after SIGTERM",
          "[daemon][pid]") {
    temp_dir dir;
    const auto path = dir.file("metrics-governor.pid");
    running_daemon d({"-pid-file", path});
    const auto pid = std::to_string(d.process().pid());
    // Written before "metrics-governor started", which running_daemon waited for.
    CHECK(read_file(path) == pid + "\n");
    const auto& out = d.process().output();
    const auto started = out.find("\"msg\":\"metrics-governor started\"");
    REQUIRE(started != std::string::npos);
    const auto line = out.substr(started, out.find('\n', started) - started);
    CHECK(line.find("\"pid\":" + pid + ",") != std::string::npos);

    // What the README does: kill -HUP "$(cat metrics-governor.pid)".
    REQUIRE(::kill(static_cast<pid_t>(std::stol(read_file(path))), SIGHUP) == 0);
    CHECK(d.process().wait_for_line("received SIGHUP").has_value());

    d.process().signal(SIGTERM);
    REQUIRE(d.process().wait_exit(10s) == 0);
    CHECK_FALSE(std::filesystem::exists(path));
    CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST_CASE("a pid file that cannot be written stops startup with exit 1 naming the path",
          "[daemon][pid]") {
    temp_dir dir;
    // A directory that does not exist: unwritable for every user, root included.
    const auto path = dir.file("no-such-dir/metrics-governor.pid");
    child_process p({mg::test::daemon_path(), "-stats-addr=127.0.0.1:0", "-http-listen=127.0.0.1:0",
                     "-grpc-listen=", "-pid-file=" + path});
    REQUIRE(p.wait_exit() == 1);
    INFO(p.output());
    const auto line = p.output().find("\"msg\":\"cannot write the pid file\"");
    REQUIRE(line != std::string::npos);
    CHECK(p.output().find(path, line) != std::string::npos);
    CHECK(p.output().find("No such file or directory", line) != std::string::npos);
    CHECK(p.output().find("metrics-governor started") == std::string::npos);
}

TEST_CASE("validate loads the limits file and refuses what the daemon refuses, with its text",
          "[daemon][limits]") {
    temp_dir dir;
    auto validate = [](std::vector<std::string> args) {
        args.insert(args.begin(), {mg::test::daemon_path(), "validate"});
        return std::make_unique<child_process>(std::move(args));
    };
    auto start = [](std::vector<std::string> args) {
        args.insert(args.begin(), {mg::test::daemon_path(), "-stats-addr=127.0.0.1:0",
                                   "-http-listen=127.0.0.1:0", "-grpc-listen="});
        return std::make_unique<child_process>(std::move(args));
    };
    // Each configuration is refused by the daemon at startup (exit 2); validate must refuse it
    // too, printing the very lines the daemon prints.
    auto same_refusal = [&](const std::vector<std::string>& args, const std::string& needle) {
        auto v = validate(args);
        REQUIRE(v->wait_exit() == 2);
        INFO("validate: " << v->output());
        CHECK(v->output().find(needle) != std::string::npos);
        CHECK(v->output().find("configuration OK") == std::string::npos);
        auto d = start(args);
        REQUIRE(d->wait_exit() == 2);
        INFO("daemon: " << d->output());
        CHECK(d->output().find(v->output()) != std::string::npos);
    };
    SECTION("a limits file with an unknown key") {
        const auto limits =
            dir.write("limits.yaml",
                      "defaults:\n  max_cardinality: 100\nrules:\n  - name: http\n"
                      "    match: {metric_name: \"http_.*\"}\n    max_cardinalty: 5\n");
        same_refusal({"-limits-config=" + limits}, "rules[0].max_cardinalty");
    }
    SECTION("a limits file that does not exist") {
        same_refusal({"-limits-config=" + dir.file("missing.yaml")}, dir.file("missing.yaml"));
    }
    SECTION("an https exporter whose CA file does not exist") {
        same_refusal({"-exporter-endpoint=https://backend.example:8428/api/v1/write",
                      "-exporter-tls-ca-file=" + dir.file("missing-ca.pem")},
                     "-exporter-tls-ca-file \"" + dir.file("missing-ca.pem") + "\"");
    }
    SECTION("a bearer token file that does not exist") {
        same_refusal({"-receiver-bearer-token-file=" + dir.file("missing-token")},
                     "receiver.bearer_token_file (-receiver-bearer-token-file): cannot read \"" +
                         dir.file("missing-token") + "\"");
    }
    SECTION("a good limits file is loaded and counted") {
        const auto limits =
            dir.write("limits.yaml",
                      "defaults:\n  max_cardinality: 100\nrules:\n  - name: http\n"
                      "    match: {metric_name: \"http_.*\"}\n    max_cardinality: 5\n");
        auto v = validate({"-limits-config=" + limits});
        REQUIRE(v->wait_exit() == 0);
        CHECK(v->output() == "configuration OK (defaults and flags; limits file " + limits +
                                 " (1 rule and defaults))\n");
    }
}

TEST_CASE("healthcheck asks /live on the stats address and never hangs", "[daemon]") {
    std::string port;
    {
        running_daemon d;
        port = std::to_string(d.stats_port());
        // A wildcard host (as in the image's default ":9090") asks the loopback address.
        child_process ok({mg::test::daemon_path(), "healthcheck", "-stats-addr=:" + port});
        CHECK(ok.wait_exit() == 0);
        CHECK(ok.output().find("\"status\"") != std::string::npos);
        d.process().signal(SIGTERM);
        REQUIRE(d.process().wait_exit() == 0);
    }
    {
        child_process down(
            {mg::test::daemon_path(), "healthcheck", "-stats-addr=127.0.0.1:" + port});
        CHECK(down.wait_exit() == 1);
        CHECK(down.output().find("healthcheck: 127.0.0.1:" + port + "/live") != std::string::npos);
    }
    {
        // A socket that listens but never answers: connections complete in the kernel's backlog
        // and the request is never read. The check must give up at its deadline, not hang.
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(fd, 4) == 0);
        socklen_t len = sizeof addr;
        REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        child_process silent({mg::test::daemon_path(), "healthcheck",
                              "-stats-addr=127.0.0.1:" + std::to_string(ntohs(addr.sin_port))});
        CHECK(silent.wait_exit(std::chrono::seconds(15)) == 1);
        ::close(fd);
    }
    {
        child_process extra({mg::test::daemon_path(), "healthcheck", "now"});
        CHECK(extra.wait_exit() == 2);
        CHECK(extra.output().find("the only commands are validate, healthcheck and state") !=
              std::string::npos);
    }
}

TEST_CASE("a port already in use is reported and exits non-zero", "[daemon]") {
    // The port is the OS's choice, held by a listening socket of the test, so the case never
    // depends on a fixed port (the default ingest port 4318 may be anyone's); every other
    // listener of the daemon binds port 0.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 4) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    const auto held = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    {
        child_process ingest({mg::test::daemon_path(), "-http-listen=" + held,
                              "-stats-addr=127.0.0.1:0", "-grpc-listen="});
        const auto code = ingest.wait_exit();
        REQUIRE(code.has_value());
        CHECK(*code == 1);
        CHECK(ingest.output().find("cannot start ingest listener") != std::string::npos);
        CHECK(ingest.output().find(held) != std::string::npos);
    }
    {
        child_process stats({mg::test::daemon_path(), "-http-listen=127.0.0.1:0",
                             "-stats-addr=" + held, "-grpc-listen="});
        const auto code = stats.wait_exit();
        REQUIRE(code.has_value());
        CHECK(*code == 1);
        CHECK(stats.output().find("cannot start stats listener") != std::string::npos);
    }
    ::close(fd);
}

TEST_CASE("a limits file is loaded at startup and its rules show on /metrics and the API",
          "[daemon][limits]") {
    temp_dir dir;
    dir.write("limits.yaml",
              "defaults:\n  max_cardinality: 1000\nrules:\n  - name: http\n    match: "
              "{metric_name: \"http_.*\"}\n"
              "    max_cardinality: 50\n");
    running_daemon d({"-limits-config", dir.file("limits.yaml")});
    CHECK(d.process().output().find("\"msg\":\"limits loaded\"") != std::string::npos);
    const auto metrics = mg::test::http_get(d.stats_port(), "/metrics");
    CHECK(metrics.body.find("metrics_governor_trackers_total 0") != std::string::npos);
    CHECK(metrics.body.find(R"(metrics_governor_limit_utilization_ratio{rule="http"} 0)") !=
          std::string::npos);
    CHECK(
        metrics.body.find(
            R"(metrics_governor_series_dropped_total{reason="cardinality_limit",rule="http"} 0)") !=
        std::string::npos);
    const auto api = mg::test::http_get(d.stats_port(), "/api/v1/cardinality?limit=5");
    REQUIRE(api.status == 200);
    const auto j = nlohmann::json::parse(api.body);
    CHECK(j["status"] == "success");
    CHECK(j["data"]["totalSeries"] == 0);
    CHECK(j["data"]["seriesCountByMetricName"].empty());
    CHECK(mg::test::http_get(d.stats_port(), "/api/v1/cardinality?limit=x").status == 400);
}

TEST_CASE("an invalid limits file at startup exits 2 naming the problem", "[daemon][limits]") {
    temp_dir dir;
    dir.write("limits.yaml", "rules:\n  - name: x\n    action: adaptive\n");
    child_process p({mg::test::daemon_path(), "-stats-addr=127.0.0.1:0", "-limits-config",
                     dir.file("limits.yaml")});
    REQUIRE(p.wait_exit() == 2);
    CHECK(p.output().find("rules[0].action") != std::string::npos);
}

TEST_CASE("SIGHUP reloads the limits file, a bad file keeps the old rules", "[daemon][limits]") {
    temp_dir dir;
    dir.write("limits.yaml", "rules:\n  - name: first\n    max_cardinality: 10\n");
    running_daemon d({"-limits-config", dir.file("limits.yaml")});

    dir.write("limits.yaml", "rules:\n  - name: second\n    max_cardinality: 20\n");
    d.process().signal(SIGHUP);
    REQUIRE(d.process().wait_for_line("\"msg\":\"limits reloaded\"").has_value());
    auto body = mg::test::http_get(d.stats_port(), "/metrics").body;
    CHECK(body.find(R"(metrics_governor_limit_utilization_ratio{rule="second"})") !=
          std::string::npos);
    CHECK(body.find(R"(metrics_governor_limit_utilization_ratio{rule="first"})") ==
          std::string::npos);

    dir.write("limits.yaml", "rules: [this is not a rule\n");
    d.process().signal(SIGHUP);
    REQUIRE(d.process().wait_for_line("limits reload failed").has_value());
    body = mg::test::http_get(d.stats_port(), "/metrics").body;
    CHECK(body.find(R"(metrics_governor_limit_utilization_ratio{rule="second"})") !=
          std::string::npos);
}

TEST_CASE(
    "tenants in the limits file: listed by the API, a bad one exits 2 or is refused on reload",
    "[daemon][limits][tenant]") {
    temp_dir dir;
    dir.write("bad.yaml", "tenants:\n  team-a: {max_series: -3}\n");
    child_process p({mg::test::daemon_path(), "-stats-addr=127.0.0.1:0", "-limits-config",
                     dir.file("bad.yaml")});
    REQUIRE(p.wait_exit() == 2);
    CHECK(p.output().find("tenants.team-a.max_series: -3 is negative") != std::string::npos);

    dir.write("limits.yaml", "tenants:\n  team-a: {max_series: 100}\n");
    running_daemon d({"-limits-config", dir.file("limits.yaml")});
    auto api = mg::test::http_get(d.stats_port(), "/api/v1/tenants");
    REQUIRE(api.status == 200);
    auto j = nlohmann::json::parse(api.body);
    REQUIRE(j["data"]["tenants"].size() == 2);
    CHECK(j["data"]["tenants"][0]["default"] == true);
    CHECK(j["data"]["tenants"][1]["name"] == "team-a");
    CHECK(j["data"]["tenants"][1]["maxSeries"] == 100);
    CHECK(mg::test::http_get(d.stats_port(), "/api/v1/cardinality?tenant=team-a").status == 200);
    CHECK(mg::test::http_get(d.stats_port(), "/api/v1/cardinality?tenant=nobody").status == 404);

    dir.write("limits.yaml", "tenants:\n  team-a: {max_series: many}\n");
    d.process().signal(SIGHUP);
    REQUIRE(d.process().wait_for_line("limits reload failed").has_value());
    CHECK(d.process().output().find("tenants.team-a.max_series") != std::string::npos);
    api = mg::test::http_get(d.stats_port(), "/api/v1/tenants");
    j = nlohmann::json::parse(api.body);
    REQUIRE(j["data"]["tenants"].size() == 2);
    CHECK(j["data"]["tenants"][1]["maxSeries"] == 100);  // the old rules stay
}
