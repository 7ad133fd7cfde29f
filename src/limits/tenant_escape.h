// tenant_escape: the one spelling of a tenant name inside persistence keys, on-disk index entries
// and Redis tracker names. A tenant is any byte string a sender gave (the ingest side bounds its
// length, but the governor takes what it is handed), so it is escaped before it goes where a
// separator, a path or a key could be forged: bytes other than [A-Za-z0-9_-] become %XX
// (uppercase hex). The result holds no ':', '/', '.', '%'-ambiguity, control byte or NUL, and the
// mapping is injective (distinct tenants never share a spelling), with a strict inverse that
// accepts only the canonical form.
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mg::limits {

std::string escape_tenant(std::string_view tenant);

// The tenant whose escape_tenant() is `escaped`; nullopt for anything escape_tenant never
// produces (a byte outside the set, a bad or lowercase %XX, an escaped byte that needs none).
std::optional<std::string> unescape_tenant(std::string_view escaped);

}  // namespace mg::limits
