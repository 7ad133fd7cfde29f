// meta_index: the contents of `meta.json`, the index of the state directory, and its JSON form.
//
// Schema version 1 is the operator spec's: {"version": 1, "trackers": {KEY: {key, hash, count,
// last_updated, last_saved, created_at, checksum, size_bytes}}}. The windowed trackers add
// optional fields a spec reader ignores (docs/persistence.md): format (the tracker file format),
// compressed, generations, window (Go duration), window_start (when the oldest live generation
// began), memory_bytes, and previous_checksum (the checksum of the file this save replaces: the
// index is written before the files, so after a crash in between the older file is still valid).
// Incremental saves add `increments`: the increment files that follow the base file, each
// {seq, base_checksum, checksum, size_bytes, compressed}. An increment applies only to the base
// whose CRC32 is its base_checksum, so after a new base is written the older increments, until
// they are deleted, are never applied to it.
// Layered saves add `layers` (docs/persistence.md, "generation files"): {base_checksum, head,
// frozen}, where head is the current generation's file (every generation's age and count, the
// current one's words) and frozen lists one file per older generation (id 0: an empty generation,
// no file). Each file is {id, checksum, size_bytes, compressed}. The layers follow the base whose
// CRC32 is base_checksum and are newer than it; increments then follow the head.
// A reader refuses a version it does not know (parse_meta returns version_unsupported).
//
// Value types; not synchronized.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace mg::persistence {

inline constexpr int k_meta_version = 1;

// One increment file of a tracker: `trackers/{hash}.{base_checksum as 8 hex}.{seq}.inc[.gz]`.
struct increment_meta {
    std::uint64_t seq = 0;
    std::uint32_t base_checksum = 0;
    std::uint32_t checksum = 0;  // CRC32 of the file
    std::uint64_t size_bytes = 0;
    bool compressed = true;
    bool operator==(const increment_meta&) const = default;
};

// One generation file of a tracker: `trackers/{hash}.{id}.head[.gz]` (the head) or
// `trackers/{hash}.{id}.gen[.gz]` (a frozen generation). Ids are never reused within a layer set.
struct layer_file {
    std::uint64_t id = 0;  // 0 in `frozen`: an empty generation, no file
    std::uint32_t checksum = 0;
    std::uint64_t size_bytes = 0;
    bool compressed = true;
    bool operator==(const layer_file&) const = default;
};

struct layer_set {
    std::uint32_t base_checksum = 0;  // the base file these are newer than
    layer_file head;
    std::vector<layer_file> frozen;  // generation 1 (the newest frozen), 2, ...
    std::uint64_t bytes() const {
        std::uint64_t n = head.size_bytes;
        for (const auto& f : frozen) n += f.size_bytes;
        return n;
    }
    std::uint64_t max_id() const {
        std::uint64_t n = head.id;
        for (const auto& f : frozen) n = std::max(n, f.id);
        return n;
    }
    bool operator==(const layer_set&) const = default;
};

struct tracker_meta {
    std::string key;
    std::string hash;  // sha256_hex(key): the file name
    std::uint64_t count = 0;
    std::chrono::system_clock::time_point last_updated{};
    std::chrono::system_clock::time_point last_saved{};
    std::chrono::system_clock::time_point created_at{};
    std::uint32_t checksum = 0;  // CRC32 of the file
    std::uint64_t size_bytes = 0;
    // Version-1 extensions.
    std::optional<std::uint32_t> previous_checksum;
    std::uint32_t format = 0;
    bool compressed = true;
    std::uint32_t generations = 0;
    std::chrono::nanoseconds window{0};
    std::chrono::system_clock::time_point window_start{};
    std::uint64_t memory_bytes = 0;
    std::vector<increment_meta> increments;  // per base_checksum, by seq ascending
    std::optional<layer_set> layers;

    // The layers follow the base this entry names: they are the newest state. (While a new base
    // replaces the old one, layers that follow the old one may still be listed; see
    // tracker_store.h.)
    bool layered() const { return layers && layers->base_checksum == checksum; }
    // The file increments follow: the head when layered, else the base.
    std::uint32_t chain_checksum() const { return layered() ? layers->head.checksum : checksum; }
    // The base file, every increment and every generation file.
    std::uint64_t disk_bytes() const {
        std::uint64_t n = size_bytes;
        for (const auto& i : increments) n += i.size_bytes;
        if (layers) n += layers->bytes();
        return n;
    }
};

struct meta_index {
    std::map<std::string, tracker_meta> trackers;
};

enum class meta_problem { none, malformed, version_unsupported };

struct meta_parse_result {
    meta_index index;
    meta_problem problem = meta_problem::none;
    std::string message;  // what is wrong, for the log
    int version = 0;      // as found, when present
    // Entries dropped because they were malformed (the rest of the index is still used).
    std::map<std::string, std::string> bad_entries;  // key -> why
};

std::string to_json(const meta_index& index);
// Validates the version and structure. A malformed top level makes the whole index unusable
// (problem malformed); a malformed entry is reported in bad_entries and left out.
meta_parse_result parse_meta(std::string_view text);

// Keys must be usable as names without ever naming a path: no "..", '/', '\\', NUL or control
// characters, not empty, at most 4096 bytes. The error says which rule failed.
status validate_key(std::string_view key);

// "2024-01-15T10:30:00Z" (UTC, seconds, or with fractional seconds when given).
std::string format_rfc3339(std::chrono::system_clock::time_point t);
result<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

}  // namespace mg::persistence
