#include "validate.h"

#include <catch2/catch.hpp>
#include <string>

#include "config/config.h"
#include "shared/temp_dir.h"

using mg::config::app_config;
using mg::test::temp_dir;

namespace {

constexpr const char* k_good_limits =
    "defaults:\n  max_cardinality: 1000\n"
    "rules:\n"
    "  - name: http\n    match: {metric_name: \"http_.*\"}\n    max_cardinality: 50\n"
    "  - name: grpc\n    match: {metric_name: \"grpc_.*\"}\n    max_cardinality: 20\n";

}  // namespace

TEST_CASE("validate loads the limits file as the daemon does", "[cmd][validate]") {
    temp_dir dir;
    app_config cfg;
    SECTION("an unknown key is the daemon's error, naming the key") {
        cfg.limits.config =
            dir.write("limits.yaml", "defaults:\n  max_cardinality: 10\n  colour: blue\n");
        const auto check = mg::cmd::check_startup_files(cfg);
        REQUIRE(check.errors.size() == 1);
        CHECK_THAT(check.errors[0],
                   Catch::StartsWith("metrics-governor: invalid limits file (-limits-config):\n"));
        CHECK_THAT(check.errors[0], Catch::Contains("defaults.colour"));
    }
    SECTION("a missing file names its path") {
        cfg.limits.config = dir.file("nope.yaml");
        const auto check = mg::cmd::check_startup_files(cfg);
        REQUIRE(check.errors.size() == 1);
        CHECK_THAT(check.errors[0], Catch::Contains(dir.file("nope.yaml")));
    }
    SECTION("a good file is counted in the OK line") {
        cfg.limits.config = dir.write("limits.yaml", k_good_limits);
        const auto check = mg::cmd::check_startup_files(cfg);
        CHECK(check.errors.empty());
        CHECK(mg::cmd::validate_ok_text(cfg, check) ==
              "configuration OK (defaults and flags; limits file " + cfg.limits.config +
                  " (2 rules and defaults))\n");
    }
    SECTION("tenants are counted too, and a bad tenant names its key") {
        cfg.limits.config = dir.write("limits.yaml", std::string(k_good_limits) +
                                                         "tenants:\n  a: {max_series: 5}\n"
                                                         "  b: {}\ntenant_defaults: {}\n");
        auto check = mg::cmd::check_startup_files(cfg);
        CHECK(check.errors.empty());
        CHECK(mg::cmd::validate_ok_text(cfg, check) ==
              "configuration OK (defaults and flags; limits file " + cfg.limits.config +
                  " (2 rules and defaults, 2 tenants, tenant_defaults))\n");
        cfg.limits.config = dir.write("bad.yaml", "tenants:\n  a: {max_series: -5}\n");
        check = mg::cmd::check_startup_files(cfg);
        REQUIRE(check.errors.size() == 1);
        CHECK_THAT(check.errors[0], Catch::Contains("tenants.a.max_series: -5 is negative"));
    }
    SECTION("no limits file says so") {
        const auto check = mg::cmd::check_startup_files(cfg);
        CHECK(check.errors.empty());
        cfg.config_file = "mg.yaml";
        CHECK(mg::cmd::validate_ok_text(cfg, check) ==
              "configuration OK (file mg.yaml and flags; no limits file)\n");
    }
}

TEST_CASE("validate loads the TLS files of the listeners and of an https exporter",
          "[cmd][validate]") {
    temp_dir dir;
    const auto junk = dir.write("junk.pem", "not a certificate\n");
    app_config cfg;
    cfg.receiver.access.tls_cert_file = junk;
    cfg.receiver.access.tls_key_file = junk;
    cfg.exporter.endpoint = "https://backend.example:8428/api/v1/write";
    cfg.exporter.tls_ca_file = dir.file("missing-ca.pem");
    cfg.limits.config = dir.write("limits.yaml", "rules: 7\n");
    const auto check = mg::cmd::check_startup_files(cfg);
    // Every problem at once, each with the daemon's text.
    REQUIRE(check.errors.size() == 3);
    CHECK_THAT(check.errors[0],
               Catch::StartsWith("metrics-governor: invalid limits file (-limits-config):\n"));
    CHECK_THAT(check.errors[1],
               Catch::StartsWith("metrics-governor: invalid configuration: "
                                 "receiver.tls.cert_file (-receiver-tls-cert-file)"));
    CHECK_THAT(check.errors[1], Catch::Contains(junk));
    CHECK_THAT(check.errors[2],
               Catch::StartsWith("metrics-governor: invalid exporter configuration: "
                                 "-exporter-tls-ca-file \"" +
                                 dir.file("missing-ca.pem") + "\""));

    // A plain-http endpoint does not use the exporter's TLS files, in the daemon or here.
    app_config plain;
    plain.exporter.endpoint = "http://backend.example:8428/api/v1/write";
    plain.exporter.tls_ca_file = dir.file("missing-ca.pem");
    CHECK(mg::cmd::check_startup_files(plain).errors.empty());
}

TEST_CASE("validate loads cluster mode's TLS files as the Redis client does", "[cmd][validate]") {
    temp_dir dir;
    const auto junk = dir.write("junk.pem", "not a certificate\n");
    app_config cfg;
    cfg.cluster.addresses = {"redis.example:6379"};
    cfg.cluster.tls_enabled = true;
    cfg.cluster.tls_ca_file = junk;
    const auto check = mg::cmd::check_startup_files(cfg);
    REQUIRE(check.errors.size() == 1);
    CHECK_THAT(check.errors[0],
               Catch::StartsWith("metrics-governor: invalid cluster configuration: "));
    CHECK_THAT(check.errors[0], Catch::Contains(junk));
    // Without cluster mode the files are not loaded, in the daemon or here.
    cfg.cluster.addresses.clear();
    CHECK(mg::cmd::check_startup_files(cfg).errors.empty());
}

TEST_CASE("the OK line names the credentials files that were read", "[cmd][validate]") {
    app_config cfg;
    cfg.receiver.access.bearer_token_file = "/run/secrets/token";
    cfg.receiver.access.loaded_bearer_token = "t";
    cfg.stats.access.basic_auth_username = "ops";
    cfg.stats.access.basic_auth_password_file = "/run/secrets/password";
    cfg.stats.access.loaded_basic_auth_password = "p";
    const auto check = mg::cmd::check_startup_files(cfg);
    REQUIRE(check.errors.empty());
    CHECK(mg::cmd::validate_ok_text(cfg, check) ==
          "configuration OK (defaults and flags; no limits file; receiver bearer token file; "
          "stats basic auth password file)\n");
}

TEST_CASE("run_validate exits 2 on a problem and 0 when every file loads", "[cmd][validate]") {
    temp_dir dir;
    app_config cfg;
    cfg.limits.config = dir.write("limits.yaml", k_good_limits);
    CHECK(mg::cmd::run_validate(cfg) == 0);
    cfg.limits.config = dir.write("bad.yaml", "rules:\n  - name: x\n    max_cardinality: -1\n");
    CHECK(mg::cmd::run_validate(cfg) == 2);
}

TEST_CASE("validate refuses an OTLP/gRPC endpoint with a path, naming the flag",
          "[cmd][validate]") {
    app_config cfg;
    cfg.exporter.protocol = "otlp-grpc";
    cfg.exporter.endpoint = "http://collector.example:4317";
    CHECK(mg::cmd::check_startup_files(cfg).errors.empty());
    cfg.exporter.endpoint = "http://collector.example:4317/v1/metrics";
    const auto check = mg::cmd::check_startup_files(cfg);
    REQUIRE(check.errors.size() == 1);
    CHECK_THAT(check.errors[0], Catch::StartsWith("metrics-governor: invalid exporter "
                                                  "configuration: -exporter-endpoint:"));
    CHECK_THAT(check.errors[0], Catch::Contains("http://host:port"));
    CHECK(mg::cmd::run_validate(cfg) == 2);
}
