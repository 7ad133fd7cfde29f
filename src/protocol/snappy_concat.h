// snappy_concat: several snappy blocks joined into one without decompressing them.
//
// A snappy block (the block format remote write uses, not the framing format) is
// varint32(uncompressed length) followed by elements: literals, and copies whose offset counts
// back from the current output position. The compressor only ever refers back into the input it
// was given, so a block's copies never reach before its own first byte. Hence the elements of
// block A followed by those of block B decode to A's bytes followed by B's: one valid block under
// varint32(len A + len B). Joining is a memcpy of each block's element stream, where decompressing
// and compressing again costs the CPU of both (the exporter merges forwarded remote-write bodies
// on a lane this way: two concatenated WriteRequests are one WriteRequest).
//
// Only the headers are read: a corrupt element stream stays corrupt (the caller's blocks were
// produced or validated before). Pure functions, safe from any thread.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "protocol/status.h"
#include "protocol/wire.h"

namespace mg::protocol {

// The declared uncompressed length of a block and the size of its header; false when the header
// is not a valid varint32.
bool snappy_block_header(bytes_view block, std::size_t& uncompressed, std::size_t& header_size);

// Replaces `out` with one block decoding to the concatenation of what `blocks` decode to, in
// order. Fails (malformed) when a header cannot be read, or (too_large) when the total passes
// what a block can declare (2^32 - 1 bytes).
decode_status snappy_concat(std::span<const bytes_view> blocks, std::string& out);

}  // namespace mg::protocol
