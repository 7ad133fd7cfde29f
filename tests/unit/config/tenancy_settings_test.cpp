// The tenancy section and exporter.tenant_header (config/settings.cpp rows, check_tenancy in
// setting_checks.cpp): defaults (off), YAML and flags, every bad value named by its key and the
// accepted form, and the section in -show-effective-config and -help.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "config/config.h"
#include "config_parse.h"
#include "shared/temp_dir.h"

using mg::config::parse_outcome;
using mg::test::all_errors;
using mg::test::only_error;
using mg::test::parse;
using mg::test::temp_dir;

TEST_CASE("tenancy is off by default, with the documented defaults", "[config][tenancy]") {
    const auto out = parse({});
    INFO(all_errors(out));
    REQUIRE(out.errors.empty());
    const auto& t = out.config.tenancy;
    CHECK(t.source == "none");
    CHECK(t.header == "X-Scope-OrgID");
    CHECK(t.label.empty());
    CHECK(t.default_tenant == "default");
    CHECK_FALSE(t.require_tenant);
    CHECK(t.max_tenant_length == 128);
    CHECK(out.config.exporter.tenant_header.empty());
}

TEST_CASE("tenancy settings come from flags and YAML", "[config][tenancy]") {
    temp_dir dir;
    const auto file = dir.write("mg.yaml",
                                "tenancy:\n  source: label\n  label: namespace\n"
                                "  default_tenant: shared\n  require_tenant: true\n"
                                "  max_tenant_length: 64\nexporter:\n  tenant_header: X-Org\n");
    auto out = parse({"-config", file});
    INFO(all_errors(out));
    REQUIRE(out.errors.empty());
    CHECK(out.config.tenancy.source == "label");
    CHECK(out.config.tenancy.label == "namespace");
    CHECK(out.config.tenancy.default_tenant == "shared");
    CHECK(out.config.tenancy.require_tenant);
    CHECK(out.config.tenancy.max_tenant_length == 64);
    CHECK(out.config.exporter.tenant_header == "X-Org");

    // Flags win over the file.
    out = parse({"-config", file, "-tenancy-source=header", "-tenancy-header=X-Team",
                 "-tenancy-max-tenant-length=200"});
    INFO(all_errors(out));
    REQUIRE(out.errors.empty());
    CHECK(out.config.tenancy.source == "header");
    CHECK(out.config.tenancy.header == "X-Team");
    CHECK(out.config.tenancy.max_tenant_length == 200);
}

TEST_CASE("bad tenancy values exit 2 naming the key and the accepted form", "[config][tenancy]") {
    SECTION("an unknown source") {
        const auto e = only_error(parse({"-tenancy-source=path"}));
        CHECK_THAT(e, Catch::StartsWith("-tenancy-source:"));
        CHECK_THAT(e, Catch::Contains("none, header, label"));
    }
    SECTION("source label without a label") {
        const auto e = only_error(parse({"-tenancy-source=label"}));
        CHECK_THAT(e, Catch::StartsWith("tenancy.label (-tenancy-label):"));
        CHECK_THAT(e, Catch::Contains("want a label name"));
    }
    SECTION("an invalid header name") {
        const auto e = only_error(parse({"-tenancy-header=X Scope"}));
        CHECK_THAT(e, Catch::StartsWith("tenancy.header (-tenancy-header):"));
        CHECK_THAT(e, Catch::Contains("letters, digits, '-', '_' and '.'"));
        CHECK_THAT(e, Catch::Contains("want a header name"));
    }
    SECTION("a header the proxy sets itself") {
        const auto e =
            only_error(parse({"-tenancy-source=header", "-tenancy-header=Authorization"}));
        CHECK_THAT(e, Catch::StartsWith("tenancy.header (-tenancy-header):"));
        CHECK_THAT(e, Catch::Contains("the proxy sets itself"));
    }
    SECTION("an empty header name") {
        const auto e = only_error(parse({"-tenancy-header="}));
        CHECK_THAT(e, Catch::StartsWith("-tenancy-header:"));
    }
    SECTION("a default tenant that is no tenant") {
        for (const std::string bad : {"..", "a/b", "tab\there"}) {
            INFO(bad);
            const auto e = only_error(parse({"-tenancy-default-tenant=" + bad}));
            CHECK_THAT(e, Catch::StartsWith("tenancy.default_tenant (-tenancy-default-tenant):"));
            CHECK_THAT(e, Catch::Contains("want 1 to 128 bytes of UTF-8"));
        }
    }
    SECTION("a default tenant longer than max_tenant_length") {
        const auto e =
            only_error(parse({"-tenancy-default-tenant=abcdef", "-tenancy-max-tenant-length=5"}));
        CHECK_THAT(e, Catch::StartsWith("tenancy.default_tenant (-tenancy-default-tenant):"));
        CHECK_THAT(e, Catch::Contains("6 bytes long; at most 5"));
    }
    SECTION("max_tenant_length out of range") {
        for (const std::string bad : {"0", "65536", "x"}) {
            INFO(bad);
            const auto e = only_error(parse({"-tenancy-max-tenant-length=" + bad}));
            CHECK_THAT(e, Catch::StartsWith("-tenancy-max-tenant-length:"));
            CHECK_THAT(e, Catch::Contains("1 to 65535"));
        }
    }
    SECTION("an invalid exporter tenant header") {
        const auto e =
            only_error(parse({"-tenancy-source=fixed", "-exporter-tenant-header=X:Org"}));
        CHECK_THAT(e, Catch::StartsWith("exporter.tenant_header (-exporter-tenant-header):"));
        CHECK_THAT(e, Catch::Contains("want a header name"));
    }
    SECTION("an exporter tenant header without tenancy") {
        const auto e = only_error(parse({"-exporter-tenant-header=X-Org"}));
        CHECK_THAT(e, Catch::StartsWith("exporter.tenant_header (-exporter-tenant-header):"));
        CHECK_THAT(e, Catch::Contains("want tenancy.source header, label or fixed"));
    }
    SECTION("in YAML, named by the key") {
        temp_dir dir;
        const auto file = dir.write("mg.yaml", "tenancy:\n  require_tenant: perhaps\n");
        const auto e = only_error(parse({"-config", file}));
        CHECK_THAT(e, Catch::StartsWith("tenancy.require_tenant:"));
    }
}

TEST_CASE("tenancy shows in -show-effective-config and -help, and loads back",
          "[config][tenancy]") {
    auto out = parse({"-show-effective-config", "-tenancy-source=label", "-tenancy-label=team",
                      "-tenancy-default-tenant=ops", "-exporter-tenant-header=X-Org"});
    INFO(all_errors(out));
    REQUIRE(out.errors.empty());
    CHECK_THAT(out.output, Catch::Contains("tenancy:\n"));
    CHECK_THAT(out.output, Catch::Contains("source: \"label\""));
    CHECK_THAT(out.output, Catch::Contains("label: \"team\""));
    CHECK_THAT(out.output, Catch::Contains("default_tenant: \"ops\""));
    CHECK_THAT(out.output, Catch::Contains("tenant_header: \"X-Org\""));
    temp_dir dir;
    const auto file = dir.write("effective.yaml", out.output);
    const auto back = parse({"-config", file});
    INFO(all_errors(back));
    REQUIRE(back.errors.empty());
    CHECK(back.config.tenancy.source == "label");
    CHECK(back.config.tenancy.label == "team");
    CHECK(back.config.tenancy.default_tenant == "ops");
    CHECK(back.config.exporter.tenant_header == "X-Org");

    const auto help = parse({"-help"});
    CHECK_THAT(help.output, Catch::Contains("Tenancy:\n"));
    CHECK_THAT(help.output, Catch::Contains("-tenancy-require-tenant"));
}
