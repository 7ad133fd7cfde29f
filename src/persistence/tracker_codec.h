// tracker_codec: the bytes of one tracker file (`.bloom.gz` or `.bloom`), and the checksums and
// names the state directory uses. Pure functions over memory: no file I/O, no locks.
//
// File payload (before gzip), little-endian, format 1 (docs/persistence.md has the table):
//   "MGBT" | u32 file format | u32 tracker snapshot format | u32 key length | key bytes |
//   u64 expected_items | f64 fp_rate | u32 generations | i64 window ns | i64 taken_at (wall ns) |
//   u32 generation count | per generation: i64 age ns | i64 latest_count | u32 slice count |
//     per slice: u64 capacity | u64 n_blocks | f64 fp_rate | u64 items | n_blocks*8 u64 words
// The key is stored so a file can never be restored under another tracker's name.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cardinality/bloom_tracker.h"
#include "common/result.h"

namespace mg::persistence {

inline constexpr std::uint32_t k_file_format = 1;

// The uncompressed payload of a tracker file.
std::string encode_tracker(std::string_view key, const cardinality::tracker_snapshot& snap);
// Parses a payload; an error names the first problem (bad magic, unknown format, truncation, a
// key other than `expected_key`, impossible sizes). Geometry is checked again by restore().
result<cardinality::tracker_snapshot> decode_tracker(std::string_view payload,
                                                     std::string_view expected_key);

// A tracker file as restore reads it: inflated within max_inflated bytes when it starts with the
// gzip magic (a `.bloom.gz`), taken as is otherwise (a `.bloom`), then decode_tracker().
result<cardinality::tracker_snapshot> decode_tracker_file(std::string_view bytes,
                                                          std::string_view expected_key,
                                                          std::uint64_t max_inflated);

// A tracker file decoded without knowing its key beforehand: an index lost with meta.json is
// rebuilt from the keys the files hold.
struct keyed_snapshot {
    std::string key;
    cardinality::tracker_snapshot snapshot;
};
result<keyed_snapshot> decode_tracker_file_any_key(std::string_view bytes,
                                                   std::uint64_t max_inflated);

// gzip (RFC 1952) at `level` 1..9.
result<std::string> gzip_compress(std::string_view data, int level);
// Whether `bytes` start with the gzip magic (1f 8b): a `.gz` file of the state directory.
bool has_gzip_magic(std::string_view bytes);
// Inflates a gzip stream; an error if it is malformed, truncated, or inflates past max_bytes.
result<std::string> gzip_decompress(std::string_view data, std::uint64_t max_bytes);

std::uint32_t crc32_of(std::string_view data);
// Lower-case hex SHA-256 of the key: the tracker's file name without extension.
std::string sha256_hex(std::string_view key);

}  // namespace mg::persistence
