// The otlp-grpc sender (loadgen/grpc_connection) through the runner, against an in-test OTLP/gRPC
// receiver: a grpc::CallbackGenericService on 127.0.0.1 port 0 that records every call (method,
// body, peer) and answers with the status the test sets. Checks that the bodies are byte for
// byte the ones -protocol otlp posts over HTTP for the same seed and shape, that every
// -concurrency connection is its own HTTP/2 connection, and how statuses are counted:
// RESOURCE_EXHAUSTED as 429 (refused), other codes as their HTTP equivalent, no answer (a closed
// port, the deadline) as a network error.
#include "loadgen/grpc_connection.h"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/byte_buffer.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "loadgen/options.h"
#include "loadgen/report.h"
#include "loadgen/request_builder.h"
#include "loadgen/runner.h"

namespace lg = mg::loadgen;
using namespace std::chrono_literals;

namespace {

struct recorded_call {
    std::string method;
    std::string authority;
    std::string peer;
    std::string body;
};

// How the receiver answers: with `code`, or not at all until the call is cancelled (hold).
struct answer {
    grpc::StatusCode code = grpc::StatusCode::OK;
    bool hold = false;
};

// An OTLP/gRPC receiver for the tests. Reactors run on gRPC's threads; the record is under mu.
class export_receiver final : public grpc::CallbackGenericService {
  public:
    export_receiver() {
        grpc::ServerBuilder builder;
        builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
        builder.RegisterCallbackGenericService(this);
        server_ = builder.BuildAndStart();
    }
    ~export_receiver() override {
        // Cancels the held calls (their reactors finish in OnCancel) and waits for them.
        server_->Shutdown(std::chrono::system_clock::now());
        server_->Wait();
    }
    export_receiver(const export_receiver&) = delete;
    export_receiver& operator=(const export_receiver&) = delete;

    bool started() const { return server_ != nullptr && port_ != 0; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    void set_answer(answer a) {
        std::lock_guard lock(mu_);
        answer_ = a;
    }
    std::vector<recorded_call> calls() const {
        std::lock_guard lock(mu_);
        return calls_;
    }

    grpc::ServerGenericBidiReactor* CreateReactor(
        grpc::GenericCallbackServerContext* ctx) override {
        return new reactor(*this, ctx);
    }

  private:
    // One unary call: read the request, record it, answer.
    class reactor final : public grpc::ServerGenericBidiReactor {
      public:
        reactor(export_receiver& owner, grpc::GenericCallbackServerContext* ctx)
            : owner_(owner), ctx_(ctx) {
            StartRead(&request_);
        }
        void OnReadDone(bool ok) override {
            if (!ok) {
                finish_once(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request"));
                return;
            }
            std::vector<grpc::Slice> slices;
            std::string body;
            if (request_.Dump(&slices).ok()) {
                for (const auto& s : slices)
                    body.append(reinterpret_cast<const char*>(s.begin()), s.size());
            }
            answer a;
            {
                std::lock_guard lock(owner_.mu_);
                owner_.calls_.push_back({ctx_->method(), ctx_->host(), ctx_->peer(), body});
                a = owner_.answer_;
            }
            if (a.hold) return;  // answered by OnCancel
            if (a.code != grpc::StatusCode::OK) {
                finish_once(grpc::Status(a.code, "the test says so"));
                return;
            }
            // An empty ExportMetricsServiceResponse: a unary call must return a message.
            if (!finished_.exchange(true)) {
                static const grpc::Slice empty("");
                response_ = grpc::ByteBuffer(&empty, 1);
                StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
            }
        }
        void OnCancel() override { finish_once(grpc::Status::CANCELLED); }
        void OnDone() override { delete this; }

      private:
        void finish_once(const grpc::Status& status) {
            if (!finished_.exchange(true)) Finish(status);
        }
        export_receiver& owner_;
        grpc::GenericCallbackServerContext* ctx_;
        grpc::ByteBuffer request_, response_;
        std::atomic<bool> finished_{false};
    };

    int port_ = 0;
    std::unique_ptr<grpc::Server> server_;
    mutable std::mutex mu_;
    answer answer_;
    std::vector<recorded_call> calls_;
};

lg::options options_for(std::vector<std::string> args) {
    const auto p = lg::parse_args(args);
    std::string errors;
    for (const auto& e : p.errors) errors += e + "\n";
    INFO(errors);
    REQUIRE(p.what == lg::parsed_args::action::run);
    return p.opts;
}

// The bodies -protocol otlp sends over HTTP for this shape (http_connection posts them as they
// are, uncompressed), every cycle, sorted.
std::vector<std::string> otlp_bodies(const lg::options& o, std::uint64_t cycles) {
    lg::request_builder b({.series = o.series,
                           .metrics = o.metrics,
                           .labels = o.labels,
                           .churn = o.churn,
                           .seed = o.seed},
                          {.protocol = lg::wire_protocol::otlp,
                           .series_per_request = o.series_per_request,
                           .samples_per_series = o.samples_per_series});
    std::vector<std::string> all, cycle;
    for (std::uint64_t c = 0; c < cycles; ++c) {
        b.build_next(cycle);
        all.insert(all.end(), cycle.begin(), cycle.end());
    }
    std::sort(all.begin(), all.end());
    return all;
}

std::uint64_t count_of(const lg::run_stats& s, const std::string& cls) {
    for (const auto& [name, n] : s.classes()) {
        if (name == cls) return n;
    }
    return 0;
}

}  // namespace

TEST_CASE("otlp-grpc sends the otlp bodies, one HTTP/2 connection per -concurrency",
          "[grpc_connection]") {
    export_receiver receiver;
    REQUIRE(receiver.started());
    const auto o =
        options_for({"-url=" + receiver.url(), "-protocol=otlp-grpc", "-series=3000", "-metrics=7",
                     "-labels=5", "-series-per-request=400", "-samples-per-series=2", "-churn=0.1",
                     "-cycles=3", "-concurrency=3", "-seed=42"});
    const lg::run_report r = lg::run_load(o);

    const auto calls = receiver.calls();
    // 3000 series in requests of 400: 8 per cycle.
    REQUIRE(r.requests_per_cycle == 8);
    CHECK(r.cycles_completed == 3);
    CHECK(calls.size() == 24);
    CHECK(r.stats.requests == calls.size());
    CHECK(r.stats.requests_ok == calls.size());
    CHECK(r.stats.status_codes == std::map<int, std::uint64_t>{{200, calls.size()}});
    CHECK(r.stats.latency.count() == calls.size());
    CHECK(lg::exit_code(r) == 0);

    std::vector<std::string> bodies;
    std::uint64_t bytes = 0;
    std::set<std::string> peers;
    for (const auto& c : calls) {
        CHECK(c.method == lg::k_otlp_grpc_method);
        CHECK(c.authority == "127.0.0.1:" + o.target.port);
        bodies.push_back(c.body);
        bytes += c.body.size();
        peers.insert(c.peer);
    }
    CHECK(r.stats.bytes == bytes);
    std::sort(bodies.begin(), bodies.end());
    CHECK(bodies == otlp_bodies(o, 3));
    // Three channels, three connections (three client ports), each opened once.
    CHECK(peers.size() == 3);
    CHECK(r.stats.connections_opened == 3);

    const auto json = nlohmann::json::parse(lg::render_json(r));
    CHECK(json["protocol"] == "otlp-grpc");
    CHECK(json["responses"]["2xx"] == calls.size());
}

TEST_CASE("otlp-grpc counts RESOURCE_EXHAUSTED as refused (429)", "[grpc_connection]") {
    export_receiver receiver;
    REQUIRE(receiver.started());
    receiver.set_answer({.code = grpc::StatusCode::RESOURCE_EXHAUSTED});
    const auto o = options_for({"-url=" + receiver.url(), "-protocol=otlp-grpc", "-series=500",
                                "-series-per-request=100", "-cycles=2", "-concurrency=2"});
    const lg::run_report r = lg::run_load(o);

    CHECK(receiver.calls().size() == 10);
    CHECK(r.stats.requests == 10);
    CHECK(r.stats.requests_ok == 0);
    CHECK(count_of(r.stats, "429") == 10);
    CHECK(count_of(r.stats, "network") == 0);
    CHECK(r.stats.status_codes == std::map<int, std::uint64_t>{{429, 10}});
    CHECK(r.stats.latency.count() == 10);  // an answer: its latency is measured
    CHECK(lg::exit_code(r) == 1);
    const auto json = nlohmann::json::parse(lg::render_json(r));
    CHECK(json["responses"]["429"] == 10);
    CHECK(json["requests_failed"] == 10);
}

TEST_CASE("otlp-grpc counts the other codes as their HTTP equivalent", "[grpc_connection]") {
    struct mapping {
        grpc::StatusCode code;
        int status;
        const char* cls;
    };
    const auto m = GENERATE(mapping{grpc::StatusCode::INVALID_ARGUMENT, 400, "4xx"},
                            mapping{grpc::StatusCode::UNIMPLEMENTED, 501, "5xx"},
                            mapping{grpc::StatusCode::INTERNAL, 500, "5xx"},
                            // Sent by the receiver on a working connection: an answer.
                            mapping{grpc::StatusCode::UNAVAILABLE, 503, "5xx"});
    INFO("code " << static_cast<int>(m.code));
    export_receiver receiver;
    REQUIRE(receiver.started());
    receiver.set_answer({.code = m.code});
    const auto o = options_for({"-url=" + receiver.url(), "-protocol=otlp-grpc", "-series=300",
                                "-series-per-request=100", "-concurrency=1"});
    const lg::run_report r = lg::run_load(o);
    CHECK(receiver.calls().size() == 3);
    CHECK(r.stats.status_codes == std::map<int, std::uint64_t>{{m.status, 3}});
    CHECK(count_of(r.stats, m.cls) == 3);
    CHECK(count_of(r.stats, "network") == 0);
    CHECK(lg::grpc_http_status(m.code) == m.status);
}

TEST_CASE("otlp-grpc: no answer is a network error", "[grpc_connection]") {
    SECTION("nothing listens on the port") {
        // A bound socket that does not listen: connecting to its port is refused.
        boost::asio::io_context ioc;
        boost::asio::ip::tcp::acceptor bound(ioc);
        bound.open(boost::asio::ip::tcp::v4());
        bound.bind({boost::asio::ip::address_v4::loopback(), 0});
        const auto port = std::to_string(bound.local_endpoint().port());
        const auto o =
            options_for({"-url=http://127.0.0.1:" + port, "-protocol=otlp-grpc", "-series=300",
                         "-series-per-request=100", "-concurrency=2", "-timeout=5s"});
        const auto t0 = std::chrono::steady_clock::now();
        const lg::run_report r = lg::run_load(o);
        CHECK(r.stats.requests == 3);
        CHECK(count_of(r.stats, "network") == 3);
        CHECK(r.stats.status_codes.empty());
        CHECK(r.stats.connections_opened == 0);
        CHECK(lg::exit_code(r) == 1);
        // Refused at once, not after the timeout.
        CHECK(std::chrono::steady_clock::now() - t0 < 4s);
    }
    SECTION("the receiver does not answer before the deadline") {
        export_receiver receiver;
        REQUIRE(receiver.started());
        receiver.set_answer({.hold = true});
        const auto o = options_for({"-url=" + receiver.url(), "-protocol=otlp-grpc", "-series=200",
                                    "-series-per-request=100", "-concurrency=1", "-timeout=200ms"});
        const lg::run_report r = lg::run_load(o);
        CHECK(receiver.calls().size() == 2);  // they arrived, and were never answered
        CHECK(r.stats.requests == 2);
        CHECK(count_of(r.stats, "network") == 2);
        CHECK(r.stats.latency.count() == 0);
        CHECK(r.stats.connections_opened == 1);
    }
}

TEST_CASE("gRPC targets list the resolved endpoints of one family", "[grpc_connection]") {
    namespace ip = boost::asio::ip;
    CHECK(lg::grpc_target_of({{ip::make_address("127.0.0.1"), 4317}}) == "ipv4:127.0.0.1:4317");
    CHECK(lg::grpc_target_of({{ip::make_address("10.0.0.1"), 4317},
                              {ip::make_address("::1"), 4317},
                              {ip::make_address("10.0.0.2"), 4317}}) ==
          "ipv4:10.0.0.1:4317,10.0.0.2:4317");
    CHECK(lg::grpc_target_of({{ip::make_address("::1"), 4317}}) == "ipv6:[::1]:4317");
    CHECK_THROWS(lg::grpc_target_of({}));
}
