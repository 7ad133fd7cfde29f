// escape_tenant / unescape_tenant and the tenant tracker names of cluster mode: hostile tenant
// strings never make a separator, a path or two equal spellings.
#include "limits/tenant_escape.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "limits/cluster_port.h"

namespace lim = mg::limits;

namespace {

std::vector<std::string> hostile() {
    std::vector<std::string> out{"..",
                                 "../../etc/passwd",
                                 "/",
                                 "a/b",
                                 ":",
                                 "a:metric:b",
                                 "%",
                                 "%41",
                                 "%2F",
                                 "A",
                                 "a.b",
                                 ".",
                                 std::string("\0", 1),
                                 std::string("a\0b", 3),
                                 std::string("\xff\xfe", 2),
                                 std::string("\xc3\x28", 2),
                                 "\x1e",
                                 "\x1f",
                                 "{tag}",
                                 "team-a",
                                 "team_a",
                                 "ü",
                                 " ",
                                 "\\"};
    out.push_back(std::string(64 * 1024, 'x'));
    std::string all;
    for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
    out.push_back(all);
    return out;
}

}  // namespace

TEST_CASE("escaped tenants round trip and never collide", "[tenant][escape]") {
    std::set<std::string> spellings;
    for (const auto& t : hostile()) {
        INFO(t.size());
        const auto e = lim::escape_tenant(t);
        CHECK(spellings.insert(e).second);
        const auto back = lim::unescape_tenant(e);
        REQUIRE(back.has_value());
        CHECK(*back == t);
        // Nothing that separates a key, makes a path or hides in a log.
        for (const char c : e) {
            const auto u = static_cast<unsigned char>(c);
            CHECK(((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
                   c == '_' || c == '-' || c == '%'));
        }
        CHECK(e.find("..") == std::string::npos);
    }
    CHECK(lim::escape_tenant("team-a_1") == "team-a_1");  // readable where it can be
    CHECK(lim::escape_tenant("a/b") == "a%2Fb");
    CHECK(lim::escape_tenant(std::string(64 * 1024, '.')).size() == 3 * 64 * 1024);
}

TEST_CASE("unescape accepts only the canonical spelling", "[tenant][escape]") {
    CHECK_FALSE(lim::unescape_tenant("%41").has_value());  // 'A' needs no escape
    CHECK_FALSE(lim::unescape_tenant("%2f").has_value());  // lowercase hex
    CHECK_FALSE(lim::unescape_tenant("%2").has_value());   // truncated
    CHECK_FALSE(lim::unescape_tenant("%").has_value());
    CHECK_FALSE(lim::unescape_tenant("a:b").has_value());  // a raw separator
    CHECK_FALSE(lim::unescape_tenant("a/b").has_value());
    CHECK_FALSE(lim::unescape_tenant("a.b").has_value());
    CHECK_FALSE(lim::unescape_tenant("%G0").has_value());
    CHECK(lim::unescape_tenant("%2F").value() == "/");
    CHECK(lim::unescape_tenant("").value().empty());
}

TEST_CASE("tenant tracker names keep the default tenant's and set others apart",
          "[tenant][escape][cluster]") {
    CHECK(lim::tenant_tracker_name("", "m") == "m");
    CHECK(lim::tenant_tracker_name("", lim::label_tracker_name("m", "pod")) ==
          lim::label_tracker_name("m", "pod"));
    std::set<std::string> names;
    for (const auto& t : hostile()) {
        if (t.empty()) continue;
        const auto n = lim::tenant_tracker_name(t, "m");
        CHECK(n.starts_with("\x1e"));
        CHECK(names.insert(n).second);
        // The Redis hash tag is the whole name: no brace inside the tenant's part.
        CHECK(n.find_first_of("{}") == std::string::npos);
    }
    // A tenant named like another tenant's metric prefix cannot meet it.
    CHECK(lim::tenant_tracker_name("a", "bc") != lim::tenant_tracker_name("ab", "c"));
}
