// The gRPC plugin's loader (src/grpc_plugin/plugin_loader.h): the real plugin opens and works
// through its api alone (a listener that binds and drains, a transport that is made), which also
// proves it self-contained (the test links none of its code); a missing plugin, a shared object
// without the entry point and a plugin of another build are refused with messages that say so.
#include "grpc_plugin/plugin_loader.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "ingest/grpc_port.h"
#include "shared/temp_dir.h"

using mg::grpc_plugin::load_plugin;

namespace {

// A port that serves nothing: the test only binds and drains.
class idle_port final : public mg::ingest::grpc_ingest_port {
  public:
    bool authorize(std::optional<std::string_view>) override { return true; }
    std::optional<mg::ingest::grpc_answer> acquire(std::uint64_t) override { return std::nullopt; }
    void release(std::uint64_t) override {}
    std::uint64_t inflight_limit() const override { return 0; }
    const std::string& tenant_metadata_key() const override { return key_; }
    void export_otlp(std::span<const std::string_view>, bool, std::span<const std::string_view>,
                     std::function<void(mg::ingest::grpc_answer)> done) override {
        done({});
    }
    void count_answer(mg::ingest::grpc_code, double) override {}

  private:
    std::string key_;
};

}  // namespace

TEST_CASE("gRPC plugin: the built plugin loads and serves through its api", "[grpc_plugin]") {
    const auto api = load_plugin({"/nonexistent/metrics-governor-grpc.so", MG_GRPC_PLUGIN_PATH});
    INFO((api.ok() ? "" : api.error_message()));
    REQUIRE(api.ok());
    REQUIRE((*api)->make_listener != nullptr);
    REQUIRE((*api)->make_transport != nullptr);
    REQUIRE((*api)->route_logs != nullptr);
    // Loading again gives the same plugin.
    CHECK(*load_plugin({MG_GRPC_PLUGIN_PATH}) == *api);

    idle_port port;
    mg::grpc_ingest::grpc_options o;
    o.listen = "127.0.0.1:0";
    o.bind_address = "127.0.0.1:0";
    o.bind_host = "127.0.0.1";
    auto listener = (*api)->make_listener(o, port);
    const auto bound = listener->start();
    INFO((bound.ok() ? "" : bound.error_message()));
    REQUIRE(bound.ok());
    CHECK(bound->rfind("127.0.0.1:", 0) == 0);
    CHECK(*bound != "127.0.0.1:0");
    listener->begin_drain();
    CHECK(listener->finish_drain(std::chrono::steady_clock::now() + std::chrono::seconds(5)));

    // A transport for a plaintext endpoint is made without connecting; a TLS file it cannot read
    // is refused, naming the flag.
    mg::exporter::grpc_transport_options t;
    t.client.target.host = "127.0.0.1";
    t.client.target.port = "1";
    CHECK((*api)->make_transport(t).ok());
    t.client.target.tls = true;
    t.client.tls.ca_file = "/nonexistent/ca.pem";
    const auto refused = (*api)->make_transport(t);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error_message().find("-exporter-tls-ca-file") != std::string::npos);
}

TEST_CASE("gRPC plugin: missing, foreign and other-build plugins are refused with the reason",
          "[grpc_plugin]") {
    const auto missing = load_plugin({"/nonexistent/a.so", "/nonexistent/b.so"});
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error_message().find("/nonexistent/a.so, /nonexistent/b.so") !=
          std::string::npos);
    CHECK(missing.error_message().find("-grpc-listen=") != std::string::npos);

    const auto foreign = load_plugin({MG_NOT_A_PLUGIN_PATH});
    REQUIRE_FALSE(foreign.ok());
    CHECK(foreign.error_message().find("is not a metrics-governor gRPC plugin") !=
          std::string::npos);

    const auto other = load_plugin({MG_OTHER_BUILD_PLUGIN_PATH});
    REQUIRE_FALSE(other.ok());
    CHECK(other.error_message().find("another build") != std::string::npos);

    mg::test::temp_dir dir;
    dir.write("metrics-governor-grpc.so", "not an ELF file");
    const auto unreadable = load_plugin({dir.file("metrics-governor-grpc.so")});
    REQUIRE_FALSE(unreadable.ok());
    CHECK(unreadable.error_message().find("cannot load the gRPC plugin") != std::string::npos);
}

TEST_CASE("gRPC plugin: looked for beside the executable, then in ../lib/metrics-governor",
          "[grpc_plugin]") {
    const auto paths = mg::grpc_plugin::default_plugin_paths();
    REQUIRE(paths.size() == 2);
    const auto exe_dir = std::filesystem::read_symlink("/proc/self/exe").parent_path();
    CHECK(paths[0] == (exe_dir / "metrics-governor-grpc.so").string());
    CHECK(
        paths[1] ==
        (exe_dir.parent_path() / "lib" / "metrics-governor" / "metrics-governor-grpc.so").string());
}
