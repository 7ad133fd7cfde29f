// What a tenant string and a tenant header name may be (common/tenant_name.h): every hostile
// case of issue 19 is refused with its reason, ordinary tenants pass.
#include "common/tenant_name.h"

#include <catch2/catch.hpp>
#include <string>

using mg::tenant_header_problem;
using mg::tenant_problem;

TEST_CASE("ordinary tenants are accepted", "[tenant]") {
    for (const std::string t : {"team-a", "a", "org_42", "Team.A", "tenant:with:colons", "ümlaut",
                                "日本", "a..b", ".hidden"}) {
        INFO(t);
        CHECK(tenant_problem(t, 128).empty());
    }
    CHECK(tenant_problem(std::string(128, 'x'), 128).empty());
}

TEST_CASE("hostile tenants are refused with the reason", "[tenant]") {
    CHECK_THAT(tenant_problem("", 128), Catch::Contains("empty"));
    CHECK_THAT(tenant_problem(std::string(129, 'x'), 128),
               Catch::Contains("129 bytes long; at most 128"));
    CHECK_THAT(tenant_problem(std::string(64 * 1024, 'x'), 128),
               Catch::Contains("65536 bytes long"));
    CHECK_THAT(tenant_problem("..", 128), Catch::Contains("\"..\""));
    CHECK_THAT(tenant_problem(".", 128), Catch::Contains("\".\""));
    CHECK_THAT(tenant_problem("a/b", 128), Catch::Contains("path separator"));
    CHECK_THAT(tenant_problem("/", 128), Catch::Contains("path separator"));
    CHECK_THAT(tenant_problem("a\\b", 128), Catch::Contains("path separator"));
    CHECK_THAT(tenant_problem(std::string("a\0b", 3), 128), Catch::Contains("control character"));
    CHECK_THAT(tenant_problem("a\r\nX-Injected: 1", 128), Catch::Contains("control character"));
    CHECK_THAT(tenant_problem("del\x7f", 128), Catch::Contains("control character"));
    for (const std::string bad :
         {"\xff", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "a\xe2\x82", "\x80"}) {
        INFO(bad.size());
        CHECK_THAT(tenant_problem(bad, 128), Catch::Contains("not valid UTF-8"));
    }
    // The message never quotes the tenant (it may be 64 KiB or binary).
    CHECK(tenant_problem(std::string(1000, 'q'), 10).find("qqq") == std::string::npos);
}

TEST_CASE("tenant header names: HTTP fields gRPC can carry, not the proxy's own", "[tenant]") {
    for (const std::string ok : {"X-Scope-OrgID", "x-tenant", "Tenant_ID", "org.id"})
        CHECK(tenant_header_problem(ok).empty());
    CHECK_THAT(tenant_header_problem(""), Catch::Contains("empty"));
    for (const std::string bad : {"X Scope", "X:Org", "X-Org\r\n", "ümlaut", "X/Org"}) {
        INFO(bad);
        CHECK_THAT(tenant_header_problem(bad), Catch::Contains("letters, digits"));
    }
    for (const std::string reserved :
         {"Authorization", "content-type", "Content-Encoding", "HOST", "te", "User-Agent"}) {
        INFO(reserved);
        CHECK_THAT(tenant_header_problem(reserved), Catch::Contains("the proxy sets itself"));
    }
    CHECK_THAT(tenant_header_problem("grpc-timeout"), Catch::Contains("gRPC's own"));
}
