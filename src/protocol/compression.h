// Compression wrappers with hard output bounds, for request bodies from untrusted senders.
//
// Every decoder takes max_size, the largest decompressed body the caller accepts, and never
// allocates more than that (plus one growth step for gzip): a body that would decompress past it
// fails with errc::too_large (HTTP 413), a corrupt one with errc::malformed (HTTP 400).
// Snappy's declared uncompressed length is checked against max_size before anything is allocated;
// gzip has no trustworthy declared size, so its output grows geometrically and stops at the bound.
//
// `out` is replaced (not appended to); pass the same string across requests to reuse its
// capacity. On failure its contents are unspecified. Pure functions, safe from any thread.
#pragma once

#include <cstddef>
#include <string>

#include "protocol/status.h"
#include "protocol/wire.h"

namespace mg::protocol {

// Snappy block format (what remote write uses; not the framing format).
decode_status snappy_decode(bytes_view in, std::size_t max_size, std::string& out);
void snappy_encode(bytes_view in, std::string& out);
// The size a snappy block declares (0 when it cannot be read); gzip streams give their size in
// bytes as a lower bound. For sizing a buffer, never trusted beyond that.
std::size_t uncompressed_size_hint(bytes_view in);

// gzip (RFC 1952), concatenated members accepted as one stream, as Go's and curl's readers do.
decode_status gzip_decode(bytes_view in, std::size_t max_size, std::string& out);
// level: 0 (store) to 9 (best), or -1 for zlib's default (6). Fails only on a bad level.
decode_status gzip_encode(bytes_view in, int level, std::string& out);

}  // namespace mg::protocol
