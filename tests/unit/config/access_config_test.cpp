// The listeners' access-control settings: one kind of credentials, both halves of basic auth and
// of the certificate, secret files read (and never echoed), secrets redacted in the effective
// configuration, and the exporter's user-info URLs and headers kept out of messages.
#include <catch2/catch.hpp>
#include <initializer_list>
#include <string>
#include <vector>

#include "config/config.h"
#include "config_parse.h"
#include "shared/temp_dir.h"

using mg::config::parse_outcome;
using mg::test::parse;
using mg::test::temp_dir;

namespace {

using mg::test::all_errors;

}  // namespace

TEST_CASE("access settings are off by default and parse from flags and YAML", "[config][access]") {
    const auto defaults = parse({});
    REQUIRE(defaults.errors.empty());
    CHECK(defaults.config.receiver.access.bearer_token.empty());
    CHECK(defaults.config.stats.access.tls_cert_file.empty());
    CHECK_FALSE(defaults.config.stats.protect_metrics);

    temp_dir dir;
    const auto cert = dir.write("cert.pem", "c");
    const auto key = dir.write("key.pem", "k");
    const auto ca = dir.write("ca.pem", "a");
    const auto file =
        dir.write("c.yaml", "receiver:\n  bearer_token: tok-yaml\n  tls:\n    cert_file: " + cert +
                                "\n    key_file: " + key + "\n    client_ca_file: " + ca +
                                "\nstats:\n  protect_metrics: true\n  basic_auth:\n"
                                "    username: admin\n    password: pw-yaml\n");
    const auto out = parse({"-config", file});
    INFO(all_errors(out));
    REQUIRE(out.errors.empty());
    CHECK(out.config.receiver.access.bearer_token == "tok-yaml");
    CHECK(out.config.receiver.access.tls_cert_file == cert);
    CHECK(out.config.receiver.access.tls_key_file == key);
    CHECK(out.config.receiver.access.tls_client_ca_file == ca);
    CHECK(out.config.stats.access.basic_auth_username == "admin");
    CHECK(out.config.stats.access.basic_auth_password == "pw-yaml");
    CHECK(out.config.stats.protect_metrics);

    const auto flags = parse({"-stats-bearer-token=tok-flag", "-receiver-basic-auth-username=u",
                              "-receiver-basic-auth-password=p"});
    INFO(all_errors(flags));
    REQUIRE(flags.errors.empty());
    CHECK(flags.config.stats.access.bearer_token == "tok-flag");
    CHECK(flags.config.receiver.access.basic_auth_username == "u");
}

TEST_CASE("one kind of credentials per listener, exit 2 naming the keys", "[config][access]") {
    for (const std::string prefix : {"receiver", "stats"}) {
        INFO(prefix);
        const auto out =
            parse({"-" + prefix + "-bearer-token=t", "-" + prefix + "-basic-auth-username=u",
                   "-" + prefix + "-basic-auth-password=p"});
        REQUIRE(out.errors.size() == 1);
        CHECK(out.exit_code() == 2);
        CHECK(out.errors[0].find(prefix + ".bearer_token") != std::string::npos);
        CHECK(out.errors[0].find(prefix + ".basic_auth.username") != std::string::npos);
        CHECK(out.errors[0].find("choose one kind") != std::string::npos);
    }
}

TEST_CASE("basic auth needs both the user name and the password", "[config][access]") {
    const auto no_password = parse({"-receiver-basic-auth-username=u"});
    REQUIRE(no_password.errors.size() == 1);
    CHECK(no_password.errors[0].find("receiver.basic_auth.password") != std::string::npos);
    const auto no_user = parse({"-stats-basic-auth-password=p"});
    REQUIRE(no_user.errors.size() == 1);
    CHECK(no_user.errors[0].find("stats.basic_auth.username") != std::string::npos);
    const auto colon = parse({"-stats-basic-auth-username=a:b", "-stats-basic-auth-password=p"});
    REQUIRE(colon.errors.size() == 1);
    CHECK(colon.errors[0].find("cannot contain ':'") != std::string::npos);
}

TEST_CASE("secret files are read, trailing newline dropped, problems name key and path",
          "[config][access]") {
    temp_dir dir;
    const auto token = dir.write("token", "file-token-value\n");
    const auto password = dir.write("password", "file-password\r\n");
    const auto ok =
        parse({"-receiver-bearer-token-file=" + token, "-stats-basic-auth-username=admin",
               "-stats-basic-auth-password-file=" + password});
    INFO(all_errors(ok));
    REQUIRE(ok.errors.empty());
    CHECK(ok.config.receiver.access.token() == "file-token-value");
    CHECK(ok.config.stats.access.password() == "file-password");
    CHECK(ok.config.receiver.access.bearer_token.empty());  // the setting itself stays unset

    const auto both = parse({"-receiver-bearer-token-file=" + token, "-receiver-bearer-token=x"});
    REQUIRE(both.errors.size() == 1);
    CHECK(both.errors[0].find("receiver.bearer_token_file") != std::string::npos);
    CHECK(both.errors[0].find("not both") != std::string::npos);

    const auto missing = dir.file("missing");
    const auto unreadable = parse({"-stats-bearer-token-file=" + missing});
    REQUIRE(unreadable.errors.size() == 1);
    CHECK(unreadable.exit_code() == 2);
    CHECK(unreadable.errors[0].find("stats.bearer_token_file (-stats-bearer-token-file)") !=
          std::string::npos);
    CHECK(unreadable.errors[0].find(missing) != std::string::npos);

    const auto empty = parse({"-receiver-bearer-token-file=" + dir.write("empty", "\n")});
    REQUIRE(empty.errors.size() == 1);
    CHECK(empty.errors[0].find("is empty") != std::string::npos);
}

TEST_CASE("TLS needs the certificate and the key, and readable files", "[config][access]") {
    temp_dir dir;
    const auto cert = dir.write("cert.pem", "c");
    const auto key = dir.write("key.pem", "k");
    for (const std::string prefix : {"receiver", "stats"}) {
        INFO(prefix);
        const auto cert_only = parse({"-" + prefix + "-tls-cert-file=" + cert});
        REQUIRE(cert_only.errors.size() == 1);
        CHECK(cert_only.errors[0].find(prefix + ".tls.key_file") != std::string::npos);
        const auto key_only = parse({"-" + prefix + "-tls-key-file=" + key});
        REQUIRE(key_only.errors.size() == 1);
        CHECK(key_only.errors[0].find(prefix + ".tls.cert_file") != std::string::npos);
        const auto ca_only = parse({"-" + prefix + "-tls-client-ca-file=" + cert});
        REQUIRE(ca_only.errors.size() == 1);
        CHECK(ca_only.errors[0].find(prefix + ".tls.client_ca_file") != std::string::npos);

        const auto missing = dir.file("nope.pem");
        const auto unreadable = parse(
            {"-" + prefix + "-tls-cert-file=" + missing, "-" + prefix + "-tls-key-file=" + key});
        REQUIRE(unreadable.errors.size() == 1);
        CHECK(unreadable.errors[0].find(prefix + ".tls.cert_file (-" + prefix +
                                        "-tls-cert-file)") != std::string::npos);
        CHECK(unreadable.errors[0].find(missing) != std::string::npos);

        const auto good =
            parse({"-" + prefix + "-tls-cert-file=" + cert, "-" + prefix + "-tls-key-file=" + key});
        INFO(all_errors(good));
        CHECK(good.errors.empty());
    }
}

TEST_CASE("the effective configuration shows no secret", "[config][access]") {
    temp_dir dir;
    const auto token_file = dir.write("token", "S3CRET-from-file\n");
    const auto out = parse(
        {"-show-effective-config", "-receiver-bearer-token-file=" + token_file,
         "-stats-basic-auth-username=admin", "-stats-basic-auth-password=S3CRET-stats-pw",
         "-exporter-bearer-token=S3CRET-exporter", "-exporter-headers=X-Api-Key=S3CRET-header"});
    INFO(all_errors(out));
    REQUIRE(out.errors.empty());
    CHECK(out.output.find("S3CRET") == std::string::npos);
    CHECK(out.output.find("<redacted>") != std::string::npos);
    CHECK(out.output.find(token_file) != std::string::npos);  // the path is not a secret
    CHECK(out.output.find("admin") != std::string::npos);     // nor the user name
    CHECK(mg::config::help_text().find("S3CRET") == std::string::npos);

    // A secret from a file is not in the output at all, so the output loads back; a secret
    // given directly is a placeholder that does not.
    temp_dir again_dir;
    const auto from_file =
        parse({"-show-effective-config", "-receiver-bearer-token-file=" + token_file});
    REQUIRE(from_file.errors.empty());
    const auto again = parse({"-config", again_dir.write("e.yaml", from_file.output)});
    INFO(all_errors(again));
    CHECK(again.errors.empty());
    CHECK(again.config.receiver.access.token() == "S3CRET-from-file");
    const auto placeholder = parse({"-config", again_dir.write("p.yaml", out.output)});
    REQUIRE_FALSE(placeholder.errors.empty());
    CHECK(all_errors(placeholder).find("placeholder") != std::string::npos);
    CHECK(all_errors(placeholder).find("stats.basic_auth.password") != std::string::npos);
}

TEST_CASE("exporter URL user info and header values stay out of messages", "[config][access]") {
    const auto userinfo =
        parse({"-exporter-endpoint=https://user:S3CRET-pw@backend:9090/api/v1/write"});
    REQUIRE(userinfo.errors.size() == 1);
    CHECK(userinfo.errors[0].find("user info") != std::string::npos);
    CHECK(userinfo.errors[0].find("backend:9090") != std::string::npos);
    CHECK(all_errors(userinfo).find("S3CRET") == std::string::npos);

    const auto header = parse({"-exporter-headers=Authorization: Bearer S3CRET-header"});
    REQUIRE(header.errors.size() == 1);
    CHECK(header.errors[0].find("not Name=value") != std::string::npos);
    CHECK(all_errors(header).find("S3CRET") == std::string::npos);
}
