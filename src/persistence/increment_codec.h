// increment_codec: the bytes of one increment file (`{hash}.{base_crc}.{seq}.inc.gz`, or `.inc`
// without compression): the changes of a tracker's current generation since its base file or
// the previous increment (cardinality::tracker_delta). Pure functions over memory.
//
// Payload (before gzip), little-endian, format 1 (docs/persistence.md has the table):
//   "MGBI" | u32 format | u32 key length | key bytes | u32 base checksum | u64 seq |
//   i64 taken_at (wall ns) | i64 current generation age ns | u32 chunk blocks |
//   u32 generation count | per generation: i64 latest_count (current first) |
//   u32 slice count | per slice: u64 capacity | u64 n_blocks | f64 fp_rate | u64 items |
//     u64 chunk count | chunk indexes (ascending, LEB128 varint deltas; the first from 0) |
//     u64 word count | words
// The key, base checksum and sequence number are inside the file as well as in meta.json, so an
// increment can never be applied to another tracker or to a base it does not follow.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cardinality/bloom_tracker.h"
#include "common/result.h"

namespace mg::persistence {

inline constexpr std::uint32_t k_increment_format = 1;

struct increment_header {
    std::string key;
    std::uint32_t base_checksum = 0;  // CRC32 of the base file it follows
    std::uint64_t seq = 0;            // 1, 2, ... after that base
};

struct decoded_increment {
    increment_header header;
    cardinality::tracker_delta delta;
};

std::string encode_increment(const increment_header& header,
                             const cardinality::tracker_delta& delta);
// Parses a payload; an error names the first problem (bad magic, unknown format, truncation,
// impossible sizes, a key other than `expected_key` when it is given).
result<decoded_increment> decode_increment(std::string_view payload,
                                           std::string_view expected_key = {});
// An increment file as read from disk: inflated within max_inflated bytes when it starts with
// the gzip magic, taken as is otherwise.
result<decoded_increment> decode_increment_file(std::string_view bytes,
                                                std::string_view expected_key,
                                                std::uint64_t max_inflated);

}  // namespace mg::persistence
