// The cluster section (config/cluster_settings.cpp): defaults (off), YAML and flags, every bad
// value named by its key and the accepted form, the checks that apply only with an address, the
// password file, and the password kept out of -show-effective-config, -help and messages.
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/settings.h"
#include "config_parse.h"
#include "shared/temp_dir.h"

using namespace std::chrono_literals;
using mg::config::parse_outcome;
using mg::test::only_error;
using mg::test::parse;
using mg::test::temp_dir;

namespace {

using mg::test::all_errors;

const std::string k_address_form =
    "want host:port with a port from 1 to 65535, e.g. redis:6379, 10.0.0.5:6379 or [::1]:6379";

}  // namespace

TEST_CASE("cluster mode is off by default, with the documented defaults", "[config][cluster]") {
    const auto out = parse({});
    INFO(all_errors(out));
    REQUIRE(out.errors.empty());
    const auto& c = out.config.cluster;
    CHECK_FALSE(c.enabled());
    CHECK(c.addresses.empty());
    CHECK(c.username.empty());
    CHECK(c.password.empty());
    CHECK(c.password_file.empty());
    CHECK(c.auth_password().empty());
    CHECK(c.db == 0);
    CHECK(c.key_prefix == "mg:");
    CHECK(c.timeout == 50ms);
    CHECK(c.failure_policy == "local");
    CHECK_FALSE(c.tls_enabled);
    CHECK(c.tls_ca_file.empty());
    CHECK(c.tls_cert_file.empty());
    CHECK(c.tls_key_file.empty());
    CHECK_FALSE(c.tls_insecure_skip_verify);

    const auto* row = mg::config::detail::find_by_yaml_path("cluster.addresses");
    REQUIRE(row != nullptr);
    CHECK(row->info.flag == "-cluster-redis-addr");  // the name, not -cluster-addresses
    CHECK(row->info.type_name == "addresses");
    CHECK(row->info.group == "Cluster");
    CHECK(row->info.default_text.empty());
    CHECK(mg::config::detail::find_by_yaml_path("cluster.password")->info.default_text ==
          "<redacted>");
    const auto help = mg::config::help_text();
    CHECK_THAT(help, Catch::Contains("Cluster:\n"));
    CHECK_THAT(help, Catch::Contains("-cluster-redis-addr addresses"));
    CHECK_THAT(help, Catch::Contains("-cluster-failure-policy string"));
}

TEST_CASE("cluster settings from YAML: a list, or one string", "[config][cluster]") {
    temp_dir dir;
    const auto password = dir.write("redis-password", "S3CRET-file-pw\n");
    const auto ca = dir.write("ca.pem", "a");
    const auto cert = dir.write("cert.pem", "c");
    const auto key = dir.write("key.pem", "k");
    const auto file = dir.write("c.yaml",
                                "cluster:\n"
                                "  addresses:\n"
                                "    - redis-a:6379\n"
                                "    - \"[::1]:6380\"\n"
                                "  redis_cluster: true\n"
                                "  username: governor\n"
                                "  password_file: " +
                                    password +
                                    "\n"
                                    "  key_prefix: \"prod:mg:\"\n"
                                    "  timeout: 120ms\n"
                                    "  failure_policy: closed\n"
                                    "  tls:\n"
                                    "    enabled: true\n"
                                    "    ca_file: " +
                                    ca + "\n    cert_file: " + cert + "\n    key_file: " + key +
                                    "\n    insecure_skip_verify: true\n"
                                    "    server_name: redis.internal\n");
    const auto out = parse({"-config", file});
    INFO(all_errors(out));
    REQUIRE(out.errors.empty());
    const auto& c = out.config.cluster;
    CHECK(c.enabled());
    CHECK(c.addresses == std::vector<std::string>{"redis-a:6379", "[::1]:6380"});
    CHECK(c.redis_cluster);
    CHECK(c.username == "governor");
    CHECK(c.password.empty());  // the setting itself stays unset
    CHECK(c.loaded_password == "S3CRET-file-pw");
    CHECK(c.auth_password() == "S3CRET-file-pw");
    CHECK(c.key_prefix == "prod:mg:");
    CHECK(c.timeout == 120ms);
    CHECK(c.failure_policy == "closed");
    CHECK(c.tls_enabled);
    CHECK(c.tls_ca_file == ca);
    CHECK(c.tls_cert_file == cert);
    CHECK(c.tls_key_file == key);
    CHECK(c.tls_insecure_skip_verify);
    CHECK(c.tls_server_name == "redis.internal");

    for (const std::string one : {"redis:6379", "\"redis:6379\"", "[redis:6379]"}) {
        INFO(one);
        const auto single =
            parse({"-config", dir.write("s.yaml", "cluster:\n  addresses: " + one +
                                                      "\n  password: pw\n  db: 3\n")});
        INFO(all_errors(single));
        REQUIRE(single.errors.empty());
        CHECK(single.config.cluster.addresses == std::vector<std::string>{"redis:6379"});
        CHECK_FALSE(single.config.cluster.redis_cluster);
        CHECK(single.config.cluster.db == 3);
        CHECK(single.config.cluster.auth_password() == "pw");
    }
    const auto commas = parse({"-config", dir.write("m.yaml",
                                                    "cluster:\n  addresses: \"a:1, b:2\"\n"
                                                    "  redis_cluster: true\n")});
    INFO(all_errors(commas));
    REQUIRE(commas.errors.empty());
    CHECK(commas.config.cluster.addresses == std::vector<std::string>{"a:1", "b:2"});
    for (const std::string off : {"", "[]", "\"\""}) {
        INFO(off);
        const auto none =
            parse({"-config", dir.write("o.yaml", "cluster:\n  addresses: " + off + "\n")});
        INFO(all_errors(none));
        REQUIRE(none.errors.empty());
        CHECK_FALSE(none.config.cluster.enabled());
    }
}

TEST_CASE("cluster flags override YAML, and a list flag is comma-separated", "[config][cluster]") {
    temp_dir dir;
    const auto file = dir.write("c.yaml",
                                "cluster:\n  addresses: [yaml-a:6379, yaml-b:6379]\n"
                                "  redis_cluster: true\n"
                                "  timeout: 1s\n  failure_policy: open\n  key_prefix: \"y:\"\n");
    const auto out = parse({"-config", file, "-cluster-redis-addr=flag-a:7000, flag-b:7001",
                            "-cluster-timeout=75ms", "--cluster-failure-policy=closed"});
    INFO(all_errors(out));
    REQUIRE(out.errors.empty());
    const auto& c = out.config.cluster;
    // Replaced, not appended to: flag > file, as for every setting.
    CHECK(c.addresses == std::vector<std::string>{"flag-a:7000", "flag-b:7001"});
    CHECK(c.redis_cluster);  // not given as a flag: the file's
    CHECK(c.timeout == 75ms);
    CHECK(c.failure_policy == "closed");
    CHECK(c.key_prefix == "y:");
    const auto db = parse({"-cluster-redis-addr=a:1", "-cluster-db", "5"});
    REQUIRE(db.errors.empty());
    CHECK(db.config.cluster.db == 5);

    // A repeated flag keeps the last one, like every flag; an empty one turns cluster mode off.
    const auto repeated = parse({"-cluster-redis-addr=a:1", "-cluster-redis-addr=b:2"});
    REQUIRE(repeated.errors.empty());
    CHECK(repeated.config.cluster.addresses == std::vector<std::string>{"b:2"});
    const auto off = parse({"-config", file, "-cluster-redis-addr="});
    INFO(all_errors(off));
    REQUIRE(off.errors.empty());
    CHECK_FALSE(off.config.cluster.enabled());
}

TEST_CASE("bad cluster addresses name the key and the accepted form", "[config][cluster]") {
    struct bad_case {
        std::string value;
        std::string why;
    };
    for (const auto& [value, why] : std::vector<bad_case>{
             {"redis", "missing port"},
             {":6379", "missing host"},
             {"redis:0", "the port must be from 1 to 65535"},
             {"redis:65536", "the port must be a number from 0 to 65535"},
             {"redis:port", "the port must be a number from 0 to 65535"},
             {"::1:6379", "an IPv6 host needs brackets"},
             {"bad host:6379", "bad host"},
         }) {
        INFO(value);
        const auto flag = only_error(parse({"-cluster-redis-addr=" + value}));
        CHECK_THAT(flag,
                   Catch::StartsWith("-cluster-redis-addr: \"" + value +
                                     "\" is not a server address; " + k_address_form + " (" + why));
        temp_dir dir;
        const auto yaml = only_error(
            parse({"-config",
                   dir.write("c.yaml", "cluster:\n  addresses: [\"ok:1\", \"" + value + "\"]\n")}));
        CHECK_THAT(yaml, Catch::StartsWith("cluster.addresses: \"" + value + "\""));
        CHECK_THAT(yaml, Catch::Contains(k_address_form));
    }
    CHECK_THAT(only_error(parse({"-cluster-redis-addr=a:1,,b:2"})),
               Catch::StartsWith("-cluster-redis-addr: an empty item in the list; want "
                                 "comma-separated host:port"));
    CHECK_THAT(only_error(parse({"-cluster-redis-addr=a:1,"})), Catch::Contains("empty item"));
    CHECK_THAT(only_error(parse({"-cluster-redis-addr=a:1, b:2,a:1"})),
               Catch::StartsWith("-cluster-redis-addr: \"a:1\" is listed twice"));

    temp_dir dir;
    CHECK_THAT(only_error(parse({"-config", dir.write("m.yaml",
                                                      "cluster:\n  addresses:\n"
                                                      "    - {host: a, port: 1}\n")})),
               Catch::StartsWith("cluster.addresses: a list item is not a value; want "
                                 "comma-separated host:port"));
    CHECK_THAT(
        only_error(parse({"-config", dir.write("n.yaml", "cluster:\n  addresses: {a: 1}\n")})),
        Catch::StartsWith("cluster.addresses: got a map; want comma-separated host:port"));
    // A list where a single value belongs is still refused.
    CHECK_THAT(only_error(parse({"-config", dir.write("k.yaml", "cluster:\n  db: [1, 2]\n")})),
               Catch::StartsWith("cluster.db: got a list"));
}

TEST_CASE("bad cluster values name the key and the accepted form", "[config][cluster]") {
    struct bad_case {
        std::string flag;
        std::string message;
    };
    for (const auto& [flag, message] : std::vector<bad_case>{
             {"-cluster-db=-1",
              "-cluster-db: -1 is out of range; want an integer from 0 to 2147483647"},
             {"-cluster-db=one", "-cluster-db: \"one\" is not an integer; want an integer"},
             {"-cluster-key-prefix=", "-cluster-key-prefix: empty value; want a non-empty string"},
             {"-cluster-key-prefix=mg:{x}",
              "cluster.key_prefix (-cluster-key-prefix): \"mg:{x}\" has '{' or '}'; want a "
              "prefix without braces"},
             {"-cluster-timeout=0s",
              "-cluster-timeout: 0s is out of range; want a duration greater than 0"},
             {"-cluster-timeout=500us",
              "cluster.timeout (-cluster-timeout): 500us is out of range; want a duration of at "
              "least 1ms"},
             {"-cluster-timeout=50", "-cluster-timeout: "},
             {"-cluster-failure-policy=fail",
              "-cluster-failure-policy: \"fail\" is not accepted; want one of local, open, closed"},
             {"-cluster-tls-enabled=maybe",
              "-cluster-tls-enabled: \"maybe\" is not a boolean; want true or false"},
         }) {
        INFO(flag);
        // Forms are checked with cluster mode off too.
        CHECK_THAT(only_error(parse({flag})), Catch::StartsWith(message));
        CHECK_THAT(only_error(parse({"-cluster-redis-addr=redis:6379", flag})),
                   Catch::StartsWith(message));
    }
    temp_dir dir;
    CHECK_THAT(
        only_error(parse({"-config", dir.write("c.yaml", "cluster:\n  failure_policy: Local\n")})),
        Catch::StartsWith("cluster.failure_policy: \"Local\" is not accepted; want one of local, "
                          "open, closed"));
    CHECK_THAT(only_error(parse({"-config", dir.write("u.yaml", "cluster:\n  tls:\n    ca: x\n")})),
               Catch::StartsWith("cluster.tls.ca: unknown key"));
}

TEST_CASE("cluster password, user name and TLS relations, checked with an address",
          "[config][cluster]") {
    temp_dir dir;
    const auto password = dir.write("pw", "S3CRET-pw\r\n");
    const auto ca = dir.write("ca.pem", "a");
    const auto cert = dir.write("cert.pem", "c");
    const auto key = dir.write("key.pem", "k");
    const std::string on = "-cluster-redis-addr=redis:6379";

    auto both = only_error(
        parse({on, "-cluster-password=S3CRET-direct", "-cluster-password-file=" + password}));
    CHECK(both ==
          "cluster.password (-cluster-password) / cluster.password_file (-cluster-password-file): "
          "set one of them, not both");

    const auto missing = dir.file("missing");
    auto unreadable = only_error(parse({on, "-cluster-password-file=" + missing}));
    CHECK_THAT(unreadable, Catch::StartsWith("cluster.password_file (-cluster-password-file): "
                                             "cannot read \"" +
                                             missing + "\""));
    auto empty = only_error(parse({on, "-cluster-password-file=" + dir.write("empty", "\n")}));
    CHECK_THAT(empty, Catch::Contains("is empty; want a file holding the secret"));
    // A user name with an unreadable password file: one problem, the file.
    CHECK_THAT(only_error(parse({on, "-cluster-username=u", "-cluster-password-file=" + missing})),
               Catch::Contains("cannot read"));

    CHECK(only_error(parse({on, "-cluster-username=governor"})) ==
          "cluster.username (-cluster-username): AUTH with a user name needs a password; set "
          "cluster.password or cluster.password_file");
    const auto acl =
        parse({on, "-cluster-username=governor", "-cluster-password-file=" + password});
    INFO(all_errors(acl));
    REQUIRE(acl.errors.empty());
    CHECK(acl.config.cluster.auth_password() == "S3CRET-pw");

    // TLS settings without TLS: each named.
    const auto plain = parse({on, "-cluster-tls-ca-file=" + ca, "-cluster-tls-insecure-skip-verify",
                              "-cluster-tls-server-name=redis.internal"});
    INFO(all_errors(plain));
    REQUIRE(plain.errors.size() == 3);
    CHECK(plain.errors[0] ==
          "cluster.tls.ca_file (-cluster-tls-ca-file): set while TLS to Redis is off; set "
          "cluster.tls.enabled (-cluster-tls-enabled) to true, or leave it out");
    CHECK_THAT(plain.errors[1],
               Catch::StartsWith("cluster.tls.insecure_skip_verify "
                                 "(-cluster-tls-insecure-skip-verify): set while TLS"));
    CHECK_THAT(plain.errors[2],
               Catch::StartsWith("cluster.tls.server_name (-cluster-tls-server-name): set while "
                                 "TLS"));

    const std::string tls = "-cluster-tls-enabled";
    CHECK(only_error(parse({on, tls, "-cluster-tls-cert-file=" + cert})) ==
          "cluster.tls.cert_file (-cluster-tls-cert-file) / cluster.tls.key_file "
          "(-cluster-tls-key-file): a client certificate needs both files");
    const auto nope = dir.file("nope.pem");
    CHECK_THAT(only_error(parse({on, tls, "-cluster-tls-ca-file=" + nope})),
               Catch::StartsWith("cluster.tls.ca_file (-cluster-tls-ca-file): cannot read \"" +
                                 nope + "\""));
    CHECK_THAT(only_error(parse(
                   {on, tls, "-cluster-tls-cert-file=" + cert, "-cluster-tls-key-file=" + nope})),
               Catch::StartsWith("cluster.tls.key_file (-cluster-tls-key-file): cannot read"));
    const auto good = parse({on, tls, "-cluster-tls-ca-file=" + ca,
                             "-cluster-tls-cert-file=" + cert, "-cluster-tls-key-file=" + key});
    INFO(all_errors(good));
    CHECK(good.errors.empty());
    const auto system_cas = parse({on, tls});  // TLS verified by the system's CAs
    CHECK(system_cas.errors.empty());

    // Every problem at once, the relations too when the address itself is the problem.
    const auto many = parse({"-cluster-username=u", "-cluster-tls-key-file=" + key,
                             "-cluster-timeout=0s", "-cluster-redis-addr=bad"});
    INFO(all_errors(many));
    CHECK(many.errors.size() == 4);
    CHECK(all_errors(many).find("-cluster-redis-addr: \"bad\"") != std::string::npos);
    CHECK(all_errors(many).find("-cluster-timeout: 0s") != std::string::npos);
    CHECK(all_errors(many).find("cluster.username (-cluster-username)") != std::string::npos);
    CHECK(all_errors(many).find("cluster.tls.key_file (-cluster-tls-key-file): set while") !=
          std::string::npos);
}

TEST_CASE("with no address the cluster relations and files are ignored", "[config][cluster]") {
    temp_dir dir;
    const auto out = parse({"-cluster-username=u", "-cluster-password=S3CRET-a",
                            "-cluster-password-file=" + dir.file("not-mounted-here"),
                            "-cluster-tls-cert-file=" + dir.file("nope.pem"),
                            "-cluster-tls-insecure-skip-verify"});
    INFO(all_errors(out));
    CHECK(out.errors.empty());
    CHECK(out.config.cluster.loaded_password.empty());  // not read
}

TEST_CASE("the cluster password stays out of the effective configuration and messages",
          "[config][cluster]") {
    temp_dir dir;
    const auto password = dir.write("pw", "S3CRET-from-file\n");
    const auto direct = parse({"-show-effective-config", "-cluster-redis-addr=a:6379,[::1]:6380",
                               "-cluster-redis-cluster", "-cluster-username=governor",
                               "-cluster-password=S3CRET-direct"});
    INFO(all_errors(direct));
    REQUIRE(direct.errors.empty());
    CHECK(direct.output.find("S3CRET") == std::string::npos);
    const YAML::Node doc = YAML::Load(direct.output);
    CHECK(doc["cluster"]["password"].as<std::string>() == "<redacted>");
    CHECK(doc["cluster"]["username"].as<std::string>() == "governor");  // not a secret
    REQUIRE(doc["cluster"]["addresses"].IsSequence());
    CHECK(doc["cluster"]["addresses"].as<std::vector<std::string>>() ==
          std::vector<std::string>{"a:6379", "[::1]:6380"});
    CHECK(doc["cluster"]["tls"]["enabled"].as<std::string>() == "false");
    // The placeholder does not load back as a password.
    const auto placeholder = parse({"-config", dir.write("p.yaml", direct.output)});
    CHECK_THAT(all_errors(placeholder), Catch::Contains("cluster.password: \"<redacted>\" is the "
                                                        "placeholder"));

    // From a file: only the path is shown, and the output loads back to the same configuration.
    const auto from_file = parse({"-show-effective-config", "-cluster-redis-addr=a:6379,b:6380",
                                  "-cluster-redis-cluster", "-cluster-password-file=" + password,
                                  "-cluster-failure-policy=open"});
    INFO(all_errors(from_file));
    REQUIRE(from_file.errors.empty());
    CHECK(from_file.output.find("S3CRET") == std::string::npos);
    CHECK_THAT(from_file.output, Catch::Contains("password_file: \"" + password + "\""));
    CHECK_THAT(from_file.output, Catch::Contains("addresses: [\"a:6379\", \"b:6380\"]"));
    const auto again =
        parse({"-show-effective-config", "-config", dir.write("e.yaml", from_file.output)});
    INFO(all_errors(again));
    REQUIRE(again.errors.empty());
    CHECK(again.output == from_file.output);
    CHECK(again.config.cluster.addresses == from_file.config.cluster.addresses);
    CHECK(again.config.cluster.auth_password() == "S3CRET-from-file");
    CHECK(again.config.cluster.failure_policy == "open");

    // Problems about the password never carry it.
    const auto bad = parse({"-cluster-redis-addr=a:6379", "-cluster-password=S3CRET-direct",
                            "-cluster-password-file=" + password});
    REQUIRE_FALSE(bad.errors.empty());
    CHECK(all_errors(bad).find("S3CRET") == std::string::npos);
    CHECK(mg::config::help_text().find("S3CRET") == std::string::npos);
}

TEST_CASE("several addresses need Redis Cluster, and Redis Cluster has only database 0",
          "[config][cluster]") {
    CHECK_THAT(only_error(parse({"-cluster-redis-addr=a:1,b:2"})),
               Catch::StartsWith("cluster.addresses (-cluster-redis-addr): 2 addresses for one "
                                 "Redis server; want one host:port, or set "
                                 "cluster.redis_cluster"));
    CHECK(parse({"-cluster-redis-addr=a:1,b:2", "-cluster-redis-cluster"}).errors.empty());
    CHECK_THAT(
        only_error(parse({"-cluster-redis-addr=a:1", "-cluster-redis-cluster", "-cluster-db=2"})),
        Catch::StartsWith("cluster.db (-cluster-db): 2 with cluster.redis_cluster; Redis "
                          "Cluster has only database 0"));
}
