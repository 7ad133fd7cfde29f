// Fuzz target: the spelling of a tenant in persistence keys and Redis tracker names
// (limits/tenant_escape.h), for any bytes a sender could give as a tenant.
// Input: byte 0 cuts the rest into two tenants a and b. Properties: escape() round trips through
// unescape(); its output holds only [A-Za-z0-9_%-] and never ".."; two tenants share a spelling
// only when they are equal; and whatever unescape() accepts is canonical (escaping it again gives
// the same bytes), so no two spellings name one tenant.
#include "limits/tenant_escape.h"

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "limits/cluster_port.h"

namespace {

void check_spelling(const std::string& t, const std::string& e) {
    for (const char c : e) {
        const auto u = static_cast<unsigned char>(c);
        const bool ok = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
                        (u >= '0' && u <= '9') || c == '_' || c == '-' || c == '%';
        if (!ok) mg::fuzz::fail("tenant_escape", "a byte outside the escaped alphabet");
    }
    if (e.find("..") != std::string::npos) mg::fuzz::fail("tenant_escape", "\"..\" in a spelling");
    const auto back = mg::limits::unescape_tenant(e);
    if (!back || *back != t) mg::fuzz::fail("tenant_escape", "no round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto in = mg::fuzz::as_view(data, size);
    if (in.empty()) return 0;
    const auto rest = in.substr(1);
    const std::size_t cut = static_cast<unsigned char>(in[0]) % (rest.size() + 1);
    const std::string a(rest.substr(0, cut)), b(rest.substr(cut));
    const auto ea = mg::limits::escape_tenant(a), eb = mg::limits::escape_tenant(b);
    check_spelling(a, ea);
    check_spelling(b, eb);
    if ((ea == eb) != (a == b)) mg::fuzz::fail("tenant_escape", "two tenants, one spelling");
    if (!a.empty() && !b.empty() &&
        (mg::limits::tenant_tracker_name(a, "m") == mg::limits::tenant_tracker_name(b, "m")) !=
            (a == b))
        mg::fuzz::fail("tenant_escape", "two tenants, one tracker name");
    // Any input as a spelling: accepted only in its canonical form.
    if (const auto t = mg::limits::unescape_tenant(rest)) {
        if (mg::limits::escape_tenant(*t) != rest)
            mg::fuzz::fail("tenant_escape", "a non-canonical spelling was accepted");
    }
    return 0;
}
