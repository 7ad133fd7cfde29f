#include "config/config.h"

#include <stdlib.h>
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "config_parse.h"
#include "shared/temp_dir.h"

using namespace std::chrono_literals;
using mg::config::command;
using mg::config::parse_outcome;
using mg::test::parse;

namespace {

using mg::test::all_errors;

bool has_error(const parse_outcome& out, std::string_view needle) {
    for (const auto& e : out.errors) {
        if (e.find(needle) != std::string::npos) return true;
    }
    return false;
}

using mg::test::temp_dir;

}  // namespace

TEST_CASE("defaults match the spec", "[config]") {
    auto out = parse({});
    INFO(all_errors(out));
    REQUIRE(out.errors.empty());
    CHECK(out.cmd == command::run);
    CHECK(out.exit_code() == 0);
    const auto& c = out.config;
    CHECK(c.parallelism == 0);
    CHECK(c.effective_parallelism() >= 1);
    CHECK(c.shutdown_timeout == 30s);
    CHECK(c.pid_file.empty());
    CHECK(c.log.level == "info");
    CHECK(c.log.format == "json");
    CHECK(c.http.read_timeout == 30s);
    CHECK(c.http.idle_timeout == 120s);
    CHECK(c.http.max_header_size == 16384);
    CHECK(c.stats.addr == ":9090");
    CHECK(c.stats.top_n == 100);
    CHECK(c.cardinality.expected_items == 100000);
    CHECK(c.cardinality.fp_rate == 0.01);
    CHECK(c.cardinality.generations == 3);
    CHECK(c.cardinality.window == 1h);
    CHECK(c.limits.config.empty());
    CHECK_FALSE(c.limits.dry_run);
    CHECK(c.limits.max_series == 0);
    const auto& bp = c.bloom_persistence;
    CHECK_FALSE(bp.enabled);
    CHECK(bp.path == "./bloom-state");
    // Ours, not the spec's 30s: incremental saves made a save cheap (docs/persistence.md).
    CHECK(bp.save_interval == 5s);
    CHECK(bp.state_ttl == 1h);
    CHECK(bp.cleanup_interval == 5min);
    CHECK(bp.max_size == 524288000ULL);
    CHECK(bp.max_memory == 268435456ULL);
    CHECK(bp.compression);
    CHECK(bp.incremental);
    CHECK(bp.chunk_size == 64);
    CHECK(bp.snapshot_ratio == 0.5);
    CHECK(bp.compression_level == 1);
}

TEST_CASE("effective parallelism honours an explicit value", "[config]") {
    mg::config::app_config c;
    c.parallelism = 3;
    CHECK(c.effective_parallelism() == 3);
}

TEST_CASE("flags in every Go and GNU form", "[config]") {
    auto path_of = [](std::initializer_list<std::string> args) {
        auto out = parse(args);
        INFO(all_errors(out));
        REQUIRE(out.errors.empty());
        return out.config.bloom_persistence.path;
    };
    CHECK(path_of({"-bloom-persistence-path", "./x"}) == "./x");
    CHECK(path_of({"-bloom-persistence-path=./x"}) == "./x");
    CHECK(path_of({"--bloom-persistence-path", "./x"}) == "./x");
    CHECK(path_of({"--bloom-persistence-path=./x"}) == "./x");
    CHECK(path_of({"-bloom-persistence-path=./a", "-bloom-persistence-path=./b"}) == "./b");

    auto enabled = [](std::initializer_list<std::string> args) {
        auto out = parse(args);
        INFO(all_errors(out));
        REQUIRE(out.errors.empty());
        return out.config.bloom_persistence.enabled;
    };
    CHECK(enabled({"-bloom-persistence-enabled"}));
    CHECK(enabled({"--bloom-persistence-enabled"}));
    CHECK(enabled({"-bloom-persistence-enabled=true"}));
    CHECK(enabled({"--bloom-persistence-enabled=true"}));
    CHECK(enabled({"-bloom-persistence-enabled=1"}));
    CHECK_FALSE(enabled({"-bloom-persistence-enabled=false"}));
    CHECK_FALSE(enabled({"-bloom-persistence-enabled=0"}));
    CHECK_FALSE(enabled({"-bloom-persistence-enabled", "-bloom-persistence-enabled=false"}));

    auto out = parse(
        {"-bloom-persistence-compression=false", "-parallelism", "4", "--shutdown-timeout=2h30m",
         "-log-level=debug", "-log-format", "text", "-http-read-timeout=5s", "-http-idle-timeout",
         "1m", "-http-max-header-size=32KiB", "-stats-addr", "127.0.0.1:0",
         "-bloom-persistence-save-interval=10s", "-bloom-persistence-state-ttl=2h",
         "-bloom-persistence-cleanup-interval=1m", "-bloom-persistence-max-size=500MiB",
         "-bloom-persistence-max-memory=512Ki", "-bloom-persistence-compression-level=9"});
    INFO(all_errors(out));
    REQUIRE(out.errors.empty());
    const auto& c = out.config;
    CHECK_FALSE(c.bloom_persistence.compression);
    CHECK(c.parallelism == 4);
    CHECK(c.effective_parallelism() == 4);
    CHECK(c.shutdown_timeout == 150min);
    CHECK(c.log.level == "debug");
    CHECK(c.log.format == "text");
    CHECK(c.http.read_timeout == 5s);
    CHECK(c.http.idle_timeout == 1min);
    CHECK(c.http.max_header_size == 32768);
    CHECK(c.stats.addr == "127.0.0.1:0");
    CHECK(c.bloom_persistence.save_interval == 10s);
    CHECK(c.bloom_persistence.state_ttl == 2h);
    CHECK(c.bloom_persistence.cleanup_interval == 1min);
    CHECK(c.bloom_persistence.max_size == 524288000ULL);
    CHECK(c.bloom_persistence.max_memory == 524288ULL);
    CHECK(c.bloom_persistence.compression_level == 9);
}

TEST_CASE("cardinality, limits and stats settings from flags", "[config]") {
    auto out = parse({"-cardinality-expected-items=1000000000", "-cardinality-fp-rate", "0.5",
                      "-cardinality-generations=64", "-cardinality-window=64s",
                      "-limits-config=/etc/mg/limits.yaml", "-limits-dry-run", "-limits-max-series",
                      "5000000", "-stats-top-n=100000"});
    INFO(all_errors(out));
    REQUIRE(out.errors.empty());
    const auto& c = out.config;
    CHECK(c.cardinality.expected_items == 1000000000ULL);
    CHECK(c.cardinality.fp_rate == 0.5);
    CHECK(c.cardinality.generations == 64);
    CHECK(c.cardinality.window == 64s);
    CHECK(c.limits.config == "/etc/mg/limits.yaml");
    CHECK(c.limits.dry_run);
    CHECK(c.limits.max_series == 5000000ULL);
    CHECK(c.stats.top_n == 100000);

    auto small = parse({"-cardinality-fp-rate=1e-6", "-cardinality-expected-items=1",
                        "-stats-top-n=1", "-limits-max-series=18446744073709551615"});
    CHECK(small.config.cardinality.fp_rate == 1e-6);
    CHECK(small.config.cardinality.expected_items == 1);
    CHECK(small.config.stats.top_n == 1);
    // Past INT64_MAX is not accepted (and no cap that large is meaningful).
    CHECK(has_error(small,
                    "-limits-max-series: 18446744073709551615 is out of range; want an "
                    "integer of 0 or more"));
    CHECK(small.errors.size() == 1);
}

TEST_CASE("cardinality, limits and stats settings from YAML", "[config]") {
    temp_dir dir;
    auto file = dir.write("mg.yaml", R"(
stats:
  top_n: 25
cardinality:
  expected_items: 5000
  fp_rate: 0.001
  generations: 6
  window: 30m
limits:
  config: ./limits.yaml
  dry_run: true
  max_series: 1000000
)");
    auto out = parse({"-config", file});
    INFO(all_errors(out));
    REQUIRE(out.errors.empty());
    const auto& c = out.config;
    CHECK(c.stats.top_n == 25);
    CHECK(c.cardinality.expected_items == 5000);
    CHECK(c.cardinality.fp_rate == 0.001);
    CHECK(c.cardinality.generations == 6);
    CHECK(c.cardinality.window == 30min);
    CHECK(c.limits.config == "./limits.yaml");
    CHECK(c.limits.dry_run);
    CHECK(c.limits.max_series == 1000000);

    // The limits file path may be set back to empty (no limits file), in the file or by flag.
    auto cleared = parse({"-config", dir.write("clear.yaml", "limits:\n  config: \"\"\n")});
    INFO(all_errors(cleared));
    REQUIRE(cleared.errors.empty());
    CHECK(cleared.config.limits.config.empty());
    auto null_value = parse({"-config", dir.write("null.yaml", "limits:\n  config:\n")});
    INFO(all_errors(null_value));
    REQUIRE(null_value.errors.empty());
    CHECK(null_value.config.limits.config.empty());
    for (const auto& flag : {"-limits-config=", "--limits-config="}) {
        auto by_flag = parse({"-config", file, flag});
        INFO(all_errors(by_flag));
        REQUIRE(by_flag.errors.empty());
        CHECK(by_flag.config.limits.config.empty());
        CHECK(by_flag.config.limits.dry_run);  // the rest of the file still applies
    }
    auto separate = parse({"-limits-config", ""});
    CHECK(separate.errors.empty());
    // An empty value elsewhere is still an error, now with the setting's own wording.
    CHECK(has_error(parse({"-bloom-persistence-path="}),
                    "-bloom-persistence-path: empty value; want a non-empty string"));
    CHECK(has_error(parse({"-cardinality-generations="}),
                    "-cardinality-generations: \"\" is not an integer"));
}

TEST_CASE("pid_file from YAML and flag, empty by default", "[config]") {
    temp_dir dir;
    auto file = dir.write("mg.yaml", "pid_file: /run/mg/from-file.pid\n");
    auto from_file = parse({"-config", file});
    INFO(all_errors(from_file));
    REQUIRE(from_file.errors.empty());
    CHECK(from_file.config.pid_file == "/run/mg/from-file.pid");
    auto flag = parse({"-config", file, "-pid-file=/run/mg/from-flag.pid"});
    REQUIRE(flag.errors.empty());
    CHECK(flag.config.pid_file == "/run/mg/from-flag.pid");
    // Empty is a valid value (no pid file), so a flag can switch off the file's.
    auto off = parse({"-config", file, "-pid-file="});
    INFO(all_errors(off));
    REQUIRE(off.errors.empty());
    CHECK(off.config.pid_file.empty());
    auto shown = parse({"-show-effective-config", "-pid-file=mg.pid"});
    CHECK_THAT(shown.output, Catch::Contains("pid_file: \"mg.pid\""));
}

TEST_CASE("an increment chunk is a whole number of 64-byte blocks", "[config][errors]") {
    auto odd = parse({"-bloom-persistence-chunk-size=100"});
    CHECK(odd.exit_code() == 2);
    CHECK(has_error(odd,
                    "bloom_persistence.chunk_size (-bloom-persistence-chunk-size): 100 is not "
                    "a multiple of 64; want 64, 128, 256, ... up to 1MiB"));
    CHECK(odd.errors.size() == 1);
    auto small = parse({"-bloom-persistence-chunk-size=32"});
    CHECK(small.exit_code() == 2);
    CHECK(small.errors.size() == 1);  // the range, not a second message about 64
    CHECK(parse({"-bloom-persistence-chunk-size=4KiB"}).errors.empty());
    auto ratio = parse({"-bloom-persistence-snapshot-ratio=0"});
    CHECK(ratio.exit_code() == 2);
    CHECK(has_error(ratio,
                    "-bloom-persistence-snapshot-ratio: 0 is out of range; want a number "
                    "greater than 0 and at most 100"));
}

TEST_CASE("a cardinality generation must span at least 1s", "[config][errors]") {
    const std::string both_keys =
        "cardinality.window / cardinality.generations (-cardinality-window / "
        "-cardinality-generations): ";
    auto too_short = parse({"-cardinality-window=2s"});  // 3 generations of 666ms
    CHECK(too_short.exit_code() == 2);
    CHECK(has_error(too_short, both_keys + "2s / 3 is a generation shorter than 1s; want a window "
                                           "of at least 1s per generation"));
    CHECK(too_short.errors.size() == 1);

    temp_dir dir;
    auto yaml = parse({"validate", "-config",
                       dir.write("mg.yaml", "cardinality:\n  window: 10s\n  generations: 11\n")});
    CHECK(yaml.exit_code() == 2);
    CHECK(yaml.output.empty());
    CHECK(has_error(yaml, both_keys + "10s / 11 "));

    CHECK(parse({"-cardinality-window=3s"}).errors.empty());  // exactly 1s each
    CHECK(parse({"-cardinality-window=64s", "-cardinality-generations=64"}).errors.empty());
    CHECK(parse({"-cardinality-window=1s", "-cardinality-generations=1"}).errors.empty());

    // When one of the two is itself invalid, only that problem is reported.
    auto bad_gen = parse({"-cardinality-window=2s", "-cardinality-generations=100"});
    CHECK(bad_gen.errors.size() == 1);
    CHECK(has_error(bad_gen, "-cardinality-generations: 100 is out of range"));
    auto bad_window =
        parse({"-config", dir.write("w.yaml", "cardinality:\n  window: 0s\n  generations: 2\n")});
    CHECK(bad_window.errors.size() == 1);
    CHECK(has_error(bad_window, "cardinality.window: 0s is out of range"));
}

TEST_CASE("YAML file with the spec's section", "[config]") {
    temp_dir dir;
    auto file = dir.write("mg.yaml", R"(
parallelism: 2
log:
  level: warn
http:
  max_header_size: 8KB
bloom_persistence:
  enabled: true
  path: /data/bloom-state
  save_interval: 30s
  state_ttl: 2h
  cleanup_interval: 5m
  max_size: 1073741824
  max_memory: 512MB
  compression: false
  compression_level: 6
)");
    auto out = parse({"-config", file});
    INFO(all_errors(out));
    REQUIRE(out.errors.empty());
    const auto& c = out.config;
    CHECK(c.config_file == file);
    CHECK(c.parallelism == 2);
    CHECK(c.log.level == "warn");
    CHECK(c.log.format == "json");  // not in the file: default
    CHECK(c.http.max_header_size == 8192);
    CHECK(c.bloom_persistence.enabled);
    CHECK(c.bloom_persistence.path == "/data/bloom-state");
    CHECK(c.bloom_persistence.state_ttl == 2h);
    CHECK(c.bloom_persistence.max_size == 1073741824ULL);
    CHECK(c.bloom_persistence.max_memory == 536870912ULL);
    CHECK_FALSE(c.bloom_persistence.compression);
    CHECK(c.bloom_persistence.compression_level == 6);
}

TEST_CASE("empty file and empty sections are fine", "[config]") {
    temp_dir dir;
    CHECK(parse({"-config", dir.write("empty.yaml", "")}).errors.empty());
    CHECK(parse({"-config", dir.write("comments.yaml", "# nothing\n")}).errors.empty());
    CHECK(parse({"-config", dir.write("sections.yaml", "log:\nbloom_persistence:\n")})
              .errors.empty());
}

TEST_CASE("precedence: flag over YAML over default", "[config]") {
    temp_dir dir;
    auto file =
        dir.write("mg.yaml", "bloom_persistence:\n  path: /from/yaml\n  compression_level: 5\n");
    // Flag before or after -config: the flag still wins.
    for (auto args : {std::initializer_list<std::string>{"-bloom-persistence-compression-level=7",
                                                         "-config", file},
                      std::initializer_list<std::string>{
                          "-config", file, "-bloom-persistence-compression-level", "7"}}) {
        auto out = parse(args);
        INFO(all_errors(out));
        REQUIRE(out.errors.empty());
        CHECK(out.config.bloom_persistence.compression_level == 7);  // flag
        CHECK(out.config.bloom_persistence.path == "/from/yaml");    // YAML
        CHECK(out.config.bloom_persistence.state_ttl == 1h);         // default
    }
}

TEST_CASE("unknown flags are reported by name", "[config][errors]") {
    auto out = parse({"-no-such-flag=1", "--other", "value", "-bloom-persistence-enabled"});
    CHECK(out.exit_code() == 2);
    CHECK(has_error(out, "-no-such-flag: unknown flag"));
    CHECK(has_error(out, "-other: unknown flag"));
    CHECK(out.errors.size() == 2);  // "value" is taken as -other's value, not a second error
}

TEST_CASE("stray positional arguments are errors", "[config][errors]") {
    auto out = parse({"serve"});
    CHECK(out.exit_code() == 2);
    CHECK(has_error(out, "\"serve\": unexpected argument"));
}

TEST_CASE("a flag without its value", "[config][errors]") {
    auto out = parse({"-bloom-persistence-path"});
    CHECK(out.exit_code() == 2);
    CHECK(has_error(out, "-bloom-persistence-path: missing value"));
}

TEST_CASE("bad flag values name the flag and the accepted form", "[config][errors]") {
    struct example {
        std::string arg;
        std::string expected;
    };
    for (const auto& [arg, expected] : std::vector<example>{
             {"-stats-addr=abc",
              "-stats-addr: \"abc\" is not a listen address; want host:port, e.g. :9090 or "
              "127.0.0.1:9090"},
             {"-bloom-persistence-compression-level=12",
              "-bloom-persistence-compression-level: 12 is out of range; want an integer from 1 "
              "to 9"},
             {"-bloom-persistence-compression-level=fast",
              "-bloom-persistence-compression-level: \"fast\" is not an integer"},
             {"-parallelism=-1",
              "-parallelism: -1 is out of range; want an integer from 0 to 1024"},
             {"-bloom-persistence-enabled=maybe",
              "-bloom-persistence-enabled: \"maybe\" is not a boolean; want true or false"},
             {"-bloom-persistence-max-size=12XB", "-bloom-persistence-max-size: invalid size"},
             {"-http-max-header-size=2MiB", "-http-max-header-size: 2MiB is out of range"},
             {"-http-max-header-size=512", "want a size from 1KB to 1MB"},
             {"-bloom-persistence-save-interval=30",
              "-bloom-persistence-save-interval: invalid duration"},
             {"-shutdown-timeout=0s",
              "-shutdown-timeout: 0s is out of range; want a duration greater than 0"},
             {"-log-level=loud",
              "-log-level: \"loud\" is not accepted; want one of trace, debug, info, warn, error"},
             {"-log-format=xml", "want one of json, text"},
             {"-exporter-protocol=grpc",
              "-exporter-protocol: \"grpc\" is not accepted; want one of prw, otlp, otlp-grpc"},
             {"-cardinality-fp-rate=0",
              "-cardinality-fp-rate: 0 is out of range; want a number greater than 0 and at most "
              "0.5"},
             {"-cardinality-fp-rate=0.6", "-cardinality-fp-rate: 0.6 is out of range"},
             {"-cardinality-fp-rate=-0.1", "-cardinality-fp-rate: -0.1 is out of range"},
             {"-cardinality-fp-rate=1%",
              "-cardinality-fp-rate: \"1%\" is not a number; want a number greater than 0"},
             {"-cardinality-fp-rate=nan", "-cardinality-fp-rate: \"nan\" is not a number"},
             {"-cardinality-fp-rate=inf", "-cardinality-fp-rate: \"inf\" is not a number"},
             {"-cardinality-expected-items=0",
              "-cardinality-expected-items: 0 is out of range; want an integer from 1 to "
              "1000000000"},
             {"-cardinality-expected-items=1000000001",
              "-cardinality-expected-items: 1000000001 is out of range"},
             {"-cardinality-expected-items=100KB",
              "-cardinality-expected-items: \"100KB\" is not an integer"},
             {"-cardinality-generations=0",
              "-cardinality-generations: 0 is out of range; want an integer from 1 to 64"},
             {"-cardinality-generations=65", "-cardinality-generations: 65 is out of range"},
             {"-cardinality-window=0s",
              "-cardinality-window: 0s is out of range; want a duration greater than 0"},
             {"-cardinality-window=60", "-cardinality-window: invalid duration"},
             {"-limits-max-series=-1",
              "-limits-max-series: -1 is out of range; want an integer of 0 or more"},
             {"-limits-max-series=1M", "-limits-max-series: \"1M\" is not an integer"},
             {"-limits-dry-run=perhaps", "-limits-dry-run: \"perhaps\" is not a boolean"},
             {"-stats-top-n=0",
              "-stats-top-n: 0 is out of range; want an integer from 1 to 100000"},
             {"-stats-top-n=100001", "-stats-top-n: 100001 is out of range"},
         }) {
        INFO(arg);
        auto out = parse({arg});
        INFO(all_errors(out));
        CHECK(out.exit_code() == 2);
        CHECK(has_error(out, expected));
    }
    // Something a size parser would choke on also names the accepted forms.
    CHECK(has_error(parse({"-bloom-persistence-max-memory=lots"}), "500MiB"));
    CHECK(has_error(parse({"-bloom-persistence-state-ttl=soon"}), "2h30m"));
}

TEST_CASE("unknown YAML keys are reported with their full path", "[config][errors]") {
    temp_dir dir;
    auto file = dir.write("mg.yaml", R"(
bogus: 1
log:
  colour: red
bloom_persistence:
  enabled: true
  extra:
    deeper: 3
)");
    auto out = parse({"-config", file});
    CHECK(out.exit_code() == 2);
    CHECK(has_error(out, "bogus: unknown key"));
    CHECK(has_error(out, "log.colour: unknown key"));
    CHECK(has_error(out, "bloom_persistence.extra: unknown key"));
    CHECK(out.errors.size() == 3);
}

TEST_CASE("wrong YAML types and values", "[config][errors]") {
    temp_dir dir;
    auto file = dir.write("mg.yaml", R"(
log: debug
http:
  read_timeout: [1, 2]
  idle_timeout: 30
stats:
  addr:
bloom_persistence:
  enabled: yes please
  max_size: 12XB
  compression_level: 12
)");
    auto out = parse({"-config", file});
    INFO(all_errors(out));
    CHECK(out.exit_code() == 2);
    CHECK(has_error(out, "log: got a scalar; want a map of settings"));
    CHECK(has_error(out, "http.read_timeout: got a list; want a duration"));
    CHECK(has_error(out, "http.idle_timeout: invalid duration \"30\""));
    CHECK(has_error(out, "stats.addr: got no value; want host:port"));
    CHECK(has_error(out, "bloom_persistence.enabled: \"yes please\" is not a boolean"));
    CHECK(has_error(out, "bloom_persistence.max_size: invalid size \"12XB\""));
    CHECK(has_error(out,
                    "bloom_persistence.compression_level: 12 is out of range; want an integer "
                    "from 1 to 9"));
    CHECK(out.errors.size() == 7);
}

TEST_CASE("a YAML document that is not a map", "[config][errors]") {
    temp_dir dir;
    auto out = parse({"-config", dir.write("list.yaml", "- a\n- b\n")});
    CHECK(has_error(out, "configuration file: got a list; want a map of settings"));
}

TEST_CASE("missing and malformed config files", "[config][errors]") {
    temp_dir dir;
    auto missing = parse({"-config", dir.file("nope.yaml")});
    CHECK(missing.exit_code() == 2);
    CHECK(has_error(missing, "-config: cannot read"));
    CHECK(has_error(missing, "nope.yaml"));

    auto malformed = parse({"-config", dir.write("bad.yaml", "log:\n  level: [info\n")});
    INFO(all_errors(malformed));
    CHECK(malformed.exit_code() == 2);
    CHECK(has_error(malformed, "is not valid YAML: line "));
    CHECK(has_error(malformed, ", column "));
}

TEST_CASE("every problem is reported at once", "[config][errors]") {
    temp_dir dir;
    auto file =
        dir.write("mg.yaml", "unknown_key: 1\nbloom_persistence:\n  compression_level: 0\n");
    auto out = parse({"validate", "-config", file, "-stats-addr=abc", "-nope",
                      "-bloom-persistence-state-ttl=forever"});
    INFO(all_errors(out));
    CHECK(out.exit_code() == 2);
    CHECK(out.output.empty());
    CHECK(has_error(out, "unknown_key: unknown key"));
    CHECK(has_error(out, "bloom_persistence.compression_level: 0 is out of range"));
    CHECK(has_error(out, "-stats-addr:"));
    CHECK(has_error(out, "-nope: unknown flag"));
    CHECK(has_error(out, "-bloom-persistence-state-ttl:"));
    CHECK(out.errors.size() == 5);
}

TEST_CASE("validate checks the file and flags without running", "[config]") {
    temp_dir dir;
    auto good = dir.write("good.yaml", "bloom_persistence:\n  enabled: true\n");
    auto ok = parse({"validate", "-config", good});
    INFO(all_errors(ok));
    CHECK(ok.cmd == command::validate);
    CHECK(ok.exit_code() == 0);
    CHECK(ok.output.empty());  // the binary prints the OK line once the files are loaded too
    CHECK(ok.config.bloom_persistence.enabled);

    // The command word may also come after the flags.
    CHECK(parse({"-config", good, "validate"}).cmd == command::validate);

    auto bad = parse({"validate", "-config", good, "-bloom-persistence-compression-level=10"});
    CHECK(bad.cmd == command::validate);
    CHECK(bad.exit_code() == 2);
    CHECK(bad.output.empty());
}

TEST_CASE("help lists every flag with its default", "[config]") {
    for (const auto& arg : {"-help", "--help", "-h"}) {
        auto out = parse({arg, "-unknown-flag-is-ignored"});
        CHECK(out.cmd == command::help);
        CHECK(out.exit_code() == 0);
        for (const auto& s : mg::config::all_settings()) {
            INFO(s.flag);
            CHECK_THAT(out.output, Catch::Contains(s.flag + " " + s.type_name));
            CHECK_THAT(out.output,
                       Catch::Contains("default: " + (s.default_text.empty() ? std::string("\"\"")
                                                                             : s.default_text)));
        }
        for (const auto& group : mg::config::group_names()) {
            CHECK_THAT(out.output, Catch::Contains(group + ":\n"));
        }
        CHECK_THAT(out.output, Catch::Contains("-show-effective-config"));
        CHECK_THAT(out.output, Catch::Contains("-version"));
    }
}

TEST_CASE("version names the program and the build", "[config]") {
    auto out = parse({"-version"});
    CHECK(out.cmd == command::version);
    CHECK(out.exit_code() == 0);
    CHECK_THAT(out.output, Catch::StartsWith("metrics-governor "));
    CHECK_THAT(out.output, Catch::Contains("build: "));
}

TEST_CASE("show-effective-config prints YAML that loads back to the same config", "[config]") {
    temp_dir dir;
    auto file =
        dir.write("mg.yaml", "log:\n  format: text\nbloom_persistence:\n  state_ttl: 2h30m\n");
    auto out = parse({"-config", file, "-show-effective-config", "-bloom-persistence-enabled",
                      "-bloom-persistence-path=/tmp/with: colon", "-stats-addr=[::1]:9091",
                      "-bloom-persistence-max-memory=1536", "-http-read-timeout=1.5s",
                      "-cardinality-fp-rate=0.001", "-cardinality-expected-items=1048576",
                      "-limits-max-series=2048", "-limits-config=/etc/mg/limits.yaml"});
    INFO(all_errors(out));
    REQUIRE(out.errors.empty());
    CHECK(out.cmd == command::show_effective_config);
    CHECK_THAT(out.output, Catch::Contains("compression_level: 1"));
    CHECK_THAT(out.output, Catch::Contains("max_size: 524288000"));
    CHECK_THAT(out.output, Catch::Contains("fp_rate: 0.001\n"));
    CHECK_THAT(out.output, Catch::Contains("expected_items: 1048576\n"));  // a count, not 1MB
    CHECK_THAT(out.output, Catch::Contains("max_series: 2048\n"));

    // Valid YAML, nested like the file.
    YAML::Node doc = YAML::Load(out.output);
    CHECK(doc["bloom_persistence"]["state_ttl"].as<std::string>() == "2h30m");
    CHECK(doc["stats"]["addr"].as<std::string>() == "[::1]:9091");

    auto again = parse({"-config", dir.write("effective.yaml", out.output)});
    INFO(out.output);
    INFO(all_errors(again));
    REQUIRE(again.errors.empty());
    CHECK(mg::config::to_yaml(again.config) == out.output);
    CHECK(again.config.bloom_persistence.path == "/tmp/with: colon");
    CHECK(again.config.bloom_persistence.enabled);
    CHECK(again.config.bloom_persistence.max_memory == 1536);
    CHECK(again.config.http.read_timeout == 1500ms);
    CHECK(again.config.log.format == "text");
    CHECK(again.config.cardinality.fp_rate == 0.001);
    CHECK(again.config.cardinality.expected_items == 1048576);
    CHECK(again.config.limits.max_series == 2048);
    CHECK(again.config.limits.config == "/etc/mg/limits.yaml");

    // The defaults (an empty limits file path among them) load back too.
    auto defaults = parse({"-show-effective-config"});
    REQUIRE(defaults.errors.empty());
    CHECK_THAT(defaults.output, Catch::Contains("config: \"\""));
    auto defaults_again = parse({"-config", dir.write("defaults.yaml", defaults.output)});
    INFO(all_errors(defaults_again));
    REQUIRE(defaults_again.errors.empty());
    CHECK(mg::config::to_yaml(defaults_again.config) == defaults.output);
}

TEST_CASE("the default config shows every YAML key", "[config]") {
    auto yaml = mg::config::to_yaml(mg::config::app_config{});
    YAML::Node doc = YAML::Load(yaml);
    for (const auto& s : mg::config::all_settings()) {
        if (s.yaml_path.empty()) continue;
        INFO(s.yaml_path);
        YAML::Node node = doc;
        std::string path = s.yaml_path;
        for (auto dot = path.find('.'); dot != std::string::npos; dot = path.find('.')) {
            node.reset(node[path.substr(0, dot)]);
            path = path.substr(dot + 1);
        }
        CHECK((s.type_name == "addresses" ? node[path].IsSequence() : node[path].IsScalar()));
    }
}

TEST_CASE("config/metrics-governor.yaml is valid: the defaults, with bloom persistence on",
          "[config]") {
    const std::string file = std::string(MG_SOURCE_DIR) + "/config/metrics-governor.yaml";
    auto out = parse({"validate", "-config", file});
    INFO(all_errors(out));
    REQUIRE(out.errors.empty());
    // `make run` starts with this file: persistence, the headline feature, is on, in the
    // default directory. Every other value is the built-in default, as the file's header says.
    mg::config::app_config expected;
    expected.bloom_persistence.enabled = true;
    CHECK(expected.bloom_persistence.path == "./bloom-state");
    CHECK(mg::config::to_yaml(out.config) == mg::config::to_yaml(expected));
}

TEST_CASE("the overflow interval (-overflow-interval) defaults to 15s and must be at least 1s",
          "[config][errors]") {
    auto ok = parse({});
    CHECK(ok.config.overflow.interval == std::chrono::seconds(15));
    auto set = parse({"-overflow-interval=2s"});
    INFO(all_errors(set));
    CHECK(set.errors.empty());
    CHECK(set.config.overflow.interval == std::chrono::seconds(2));

    auto short_one = parse({"-overflow-interval=500ms"});
    CHECK(short_one.exit_code() == 2);
    CHECK(has_error(short_one,
                    "overflow.interval (-overflow-interval): 500ms is shorter than 1s; "
                    "want a duration of at least 1s, e.g. 15s"));
    auto bad = parse({"-overflow-interval=soon"});
    CHECK(bad.exit_code() == 2);
    CHECK(has_error(bad, "-overflow-interval"));

    temp_dir dir;
    const std::string path = dir.path() + "/mg.yaml";
    std::ofstream(path) << "overflow:\n  interval: 0s\n";
    auto yaml = parse({"-config", path});
    CHECK(yaml.exit_code() == 2);
    CHECK(has_error(yaml, "overflow.interval"));
}
