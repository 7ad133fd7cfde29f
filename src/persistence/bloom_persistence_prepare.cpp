// bloom_persistence::prepare(): what a save writes for one dirty tracker (see bloom_persistence.h
// and docs/persistence.md, "incremental saves" and "generation files"): an increment, a new set
// of generation files, or a base.
#include <algorithm>

#include "persistence/bloom_persistence.h"
#include "persistence/increment_codec.h"
#include "persistence/layer_codec.h"
#include "persistence/persistence_internal.h"
#include "persistence/tracker_codec.h"

namespace mg::persistence {

using namespace detail;

namespace {

// The file bytes of a payload: gzip at `level`, or as is.
result<std::string> file_bytes(std::string payload, bool compress, int level) {
    if (!compress) return payload;
    return gzip_compress(payload, level);
}

}  // namespace

result<pending_file> bloom_persistence::prepare_layers(const std::string& key,
                                                       cardinality::tracker_snapshot snap,
                                                       const chain& ch, const tracker_meta& entry) {
    pending_file f;
    layer_set set;
    set.base_checksum = entry.checksum;
    // Rotations since the chain's head (or base) was taken: generation i now is generation i-k
    // then, and a generation that was frozen then has not changed since.
    const std::uint64_t k = snap.epoch >= ch.epoch ? snap.epoch - ch.epoch : snap.epoch;
    const std::vector<layer_file> none;
    const auto& before = entry.layered() ? entry.layers->frozen : none;
    std::uint64_t next_id = entry.layers ? entry.layers->max_id() + 1 : 1;
    const std::size_t n = snap.generations.size();
    std::vector<bool> fresh(n, false);
    for (std::size_t g = 1; g < n; ++g) {
        if (g > k && g - k - 1 < before.size()) {
            set.frozen.push_back(before[g - k - 1]);  // written when it froze
        } else if (generation_empty(snap, g)) {
            set.frozen.push_back(layer_file{});
        } else {
            layer_file lf;
            lf.id = next_id++;
            lf.compressed = options_.compression;
            set.frozen.push_back(lf);
            fresh[g] = true;
        }
    }
    auto split = split_layers(std::move(snap));
    for (std::size_t g = 1; g < n; ++g) {
        if (!fresh[g]) continue;
        auto bytes = file_bytes(encode_tracker(key, split.frozen[g - 1]), options_.compression,
                                options_.compression_level);
        if (!bytes) return make_error(bytes.error_message());
        f.frozen_files.emplace_back(set.frozen[g - 1].id, std::move(*bytes));
    }
    auto head = file_bytes(encode_tracker(key, split.head), options_.compression,
                           options_.compression_level);
    if (!head) return make_error(head.error_message());
    f.bytes = std::move(*head);
    set.head.id = next_id;
    set.head.compressed = options_.compression;
    f.layers = std::move(set);
    return f;
}

result<bloom_persistence::prepared> bloom_persistence::prepare(const std::string& key,
                                                               cardinality::bloom_tracker& tracker,
                                                               const tracker_meta* entry) {
    prepared p;
    const auto ch = options_.incremental ? chains_.find(key) : chains_.end();
    // The chain goes on from what this process wrote or restored, while the index still names it.
    const bool chained = ch != chains_.end() && entry &&
                         ch->second.instance == tracker.instance_id() &&
                         entry->chain_checksum() == ch->second.base_checksum;
    auto stamp_meta = [&](pending_file& f) {
        f.meta.key = key;
        f.meta.count = tracker.count();
        f.meta.last_updated = wall_of(tracker.last_seen());
        f.meta.memory_bytes = tracker.memory_bytes();
    };
    if (chained) {
        std::uint64_t bytes = 0;
        std::size_t count = 0;
        for (const auto& i : entry->increments) {
            if (i.base_checksum != ch->second.base_checksum) continue;
            bytes += i.size_bytes;
            ++count;
        }
        // Increments stay within a share of what they follow: the head when layered (the
        // current generation alone), else the base.
        const std::uint64_t followed =
            entry->layered() ? entry->layers->head.size_bytes : entry->size_bytes;
        const auto limit =
            static_cast<std::uint64_t>(options_.snapshot_ratio * static_cast<double>(followed));
        const auto chunk_blocks = static_cast<std::uint32_t>(std::max<std::uint64_t>(
            1, options_.chunk_size / cardinality::block_bloom::k_bytes_per_block));
        if (count < options_.max_increments && bytes < limit) {
            // None when the tracker rotated since its head: generation files are written instead.
            auto d = tracker.take_delta(ch->second.epoch, chunk_blocks);
            // An increment that would by itself pass the ratio (after a rotation every refreshed
            // series changes a block, and at high churn most chunks change) costs nearly a head
            // and makes restore read both: the head is written instead. Its copy includes what
            // the delta took. A chunk costs its words and about one byte of index; gzip takes
            // little off filter words, so the raw size is the estimate.
            const std::uint64_t estimate =
                d ? static_cast<std::uint64_t>(d->changed_chunks()) * (options_.chunk_size + 1) : 0;
            if (d && bytes + estimate > limit) d.reset();
            if (d) {
                const increment_header h{key, ch->second.base_checksum, ch->second.next_seq};
                auto z = file_bytes(encode_increment(h, *d), options_.compression,
                                    options_.compression_level);
                if (!z) return make_error(z.error_message());
                stamp_meta(p.file);
                increment_meta inc;
                inc.seq = h.seq;
                inc.base_checksum = h.base_checksum;
                inc.compressed = options_.compression;
                p.file.increment = inc;
                p.file.bytes = std::move(*z);
                p.next = ch->second;
                ++p.next.next_seq;
                return p;
            }
        }
        // A rotation, or increments past their bound: a new head, and the generations that froze
        // since the last one, each written once. The marks are taken with the copy.
        auto snap = tracker.take_snapshot();
        const auto epoch = snap.epoch;
        auto f = prepare_layers(key, std::move(snap), ch->second, *entry);
        if (!f) return make_error(f.error_message());
        p.file = std::move(*f);
        stamp_meta(p.file);
        p.next = chain{tracker.instance_id(), epoch, 0, 1};
        return p;
    }
    // No chain: the whole tracker as its base. The marks are taken with the copy: the next
    // increment holds what changed after it.
    pending_file& f = p.file;
    stamp_meta(f);
    const auto snap = options_.incremental ? tracker.take_snapshot() : tracker.snapshot();
    std::string payload = encode_tracker(key, snap);
    // Kept from the existing entry by the store; for a first save, never after last_updated.
    f.meta.created_at = std::min(clock_.wall_now(), f.meta.last_updated);
    f.meta.format = k_file_format;
    f.meta.compressed = options_.compression;
    f.meta.generations = snap.config.generations;
    f.meta.window = snap.config.window;
    f.meta.window_start = snap.taken_at - (snap.generations.empty() ? std::chrono::nanoseconds{0}
                                                                    : snap.generations.back().age);
    p.next = chain{tracker.instance_id(), snap.epoch, 0, 1};
    const double raw = static_cast<double>(payload.size());
    auto z = file_bytes(std::move(payload), options_.compression, options_.compression_level);
    if (!z) return make_error(z.error_message());
    // The spec's file histograms describe tracker files: increments and generation files are
    // counted by bytes only.
    metrics_.observe_file(
        options_.compression && raw > 0 ? static_cast<double>(z->size()) / raw : 1.0,
        static_cast<double>(z->size()));
    f.bytes = std::move(*z);
    return p;
}

}  // namespace mg::persistence
