// admission_script: the Redis server-side script that decides, atomically for one tracker, which
// of a request's series pass (cluster mode, docs/cluster.md). Its SHA1 is learned once with
// SCRIPT LOAD and it is called by it (EVALSHA); a server without it (restarted, failed over, a
// Redis Cluster node not asked before) answers NOSCRIPT and gets the script itself once (EVAL).
//
// The model is the local tracker's (cardinality/bloom_tracker.h), with time cut into wall-clock
// periods so every replica agrees on them: period p = floor(unix_ms / period_ms). Each of the
// `generations` live periods of a tracker has a Bloom bitmap (a Redis string, SETBIT/GETBIT) and
// the count of series whose most recent period it is. Per series (its k bit positions, computed
// by the client from the series identity):
//   in the current period's bitmap        -> 0 known
//   only in an older live period's bitmap -> 1 refreshed: set in the current one, its count moves
//   new, live total < limit (or no limit) -> 2 admitted: set in the current one, counted
//   new, live total >= limit              -> 3 over limit: nothing written
// The reply is those codes, one per series in order, then the live total after the call.
//
// KEYS: the `generations` bitmaps, current period first, then their count keys in the same order.
// All carry the tracker's hash tag, so in Redis Cluster one call touches one slot.
// ARGV: generations, limit (-1: none), k, expire_at_ms for the current period's keys (the end of
// its last live period), the bitmap's size in bits, then k bit positions per series.
// A period's keys expire with it (PEXPIREAT), so Redis holds only the live periods: its memory is
// bounded by generations x the bitmap size. An older period's count keeps its own expiry
// (SET KEEPTTL, Redis >= 6.0).
//
// Header only; a constant.
#pragma once

#include <string_view>

namespace mg::cluster {

inline constexpr std::string_view k_admission_script = R"lua(
local gens = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local k = tonumber(ARGV[3])
local expire_at = tonumber(ARGV[4])
local bits = tonumber(ARGV[5])
local first = 6
local n = (#ARGV - first + 1) / k
local counts = {}
local changed = {}
local total = 0
for g = 1, gens do
  counts[g] = tonumber(redis.call('GET', KEYS[gens + g]) or '0')
  total = total + counts[g]
end
local out = {}
local created = false
for i = 0, n - 1 do
  local base = first + i * k - 1
  local found = 0
  for g = 1, gens do
    local all = true
    for j = 1, k do
      if redis.call('GETBIT', KEYS[g], ARGV[base + j]) == 0 then
        all = false
        break
      end
    end
    if all then
      found = g
      break
    end
  end
  local code
  if found == 1 then
    code = 0
  elseif found > 1 then
    code = 1
    counts[found] = counts[found] - 1
    counts[1] = counts[1] + 1
    changed[found] = true
    changed[1] = true
  elseif limit < 0 or total < limit then
    code = 2
    counts[1] = counts[1] + 1
    total = total + 1
    changed[1] = true
  else
    code = 3
  end
  if code == 1 or code == 2 then
    -- Created at its full size in one allocation: grown bit by bit, Redis would over-allocate
    -- the string up to twice its size.
    if not created and redis.call('EXISTS', KEYS[1]) == 0 then
      redis.call('SET', KEYS[1], string.rep('\0', math.ceil(bits / 8)))
    end
    created = true
    for j = 1, k do
      redis.call('SETBIT', KEYS[1], ARGV[base + j], 1)
    end
  end
  out[#out + 1] = code
end
if changed[1] then
  redis.call('SET', KEYS[gens + 1], counts[1])
  redis.call('PEXPIREAT', KEYS[1], expire_at)
  redis.call('PEXPIREAT', KEYS[gens + 1], expire_at)
end
for g = 2, gens do
  -- An older period's count exists (written with its bitmap) unless it expired meanwhile:
  -- never recreate it without a TTL.
  if changed[g] and redis.call('EXISTS', KEYS[gens + g]) == 1 then
    redis.call('SET', KEYS[gens + g], math.max(counts[g], 0), 'KEEPTTL')
  end
end
out[#out + 1] = total
return out
)lua";

}  // namespace mg::cluster
