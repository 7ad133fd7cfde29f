// tenant_name: what a tenant string may be, and what a header carrying one may be called. One
// rule for every place that takes a tenant (the ingest side's resolution, the configuration's
// default tenant), so a tenant the configuration accepts is one the receivers accept too.
//
// A tenant travels on: it becomes a header value towards the backend (where multi-tenant
// backends such as Mimir and Cortex use it as a path component of their storage) and part of
// persistence and Redis keys (escaped there). So besides a length bound it must be valid UTF-8
// without control characters (no header injection, no NUL), and not "." or ".." nor contain '/'
// or '\' (no path tricks at the backend).
//
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mg {

// Why `tenant` is not an acceptable tenant (empty, longer than max_length bytes, invalid UTF-8,
// a control character, a path separator, "." or ".."), as a sentence for a 400 body or a
// configuration error; empty when it is acceptable. Never quotes the tenant itself: it may be
// 64 KiB or binary.
std::string tenant_problem(std::string_view tenant, std::size_t max_length);

// Why `name` cannot be the name of a tenant header (HTTP field, and gRPC metadata key once
// lower-cased): empty, a character other than letters, digits, '-', '_' and '.', or a header the
// proxy or the protocol sets itself (Content-Type, Authorization, Host, grpc-*, ...); empty when
// it can.
std::string tenant_header_problem(std::string_view name);

}  // namespace mg
