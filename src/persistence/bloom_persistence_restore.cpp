// bloom_persistence::restore(): the state directory read back at startup (see bloom_persistence.h).
#include <algorithm>
#include <map>
#include <optional>

#include "logging/log.h"
#include "persistence/bloom_persistence.h"
#include "persistence/increment_chain.h"
#include "persistence/layer_codec.h"
#include "persistence/meta_index.h"
#include "persistence/persistence_internal.h"
#include "persistence/tracker_codec.h"

namespace mg::persistence {

using namespace detail;

bloom_persistence::applied_increments bloom_persistence::apply_increments(
    const tracker_meta& m, std::uint32_t base_checksum, cardinality::tracker_snapshot& snap,
    restore_report& r) {
    // Which increments apply is increment_chain's rule, shared with `state verify`.
    const auto run = apply_increment_chain(
        m, base_checksum, snap,
        [&](const increment_meta& inc) { return store_->read_increment(m, inc); },
        std::min(memory_limit(), options_.max_file_bytes * 64));
    for (const auto& step : run.steps) {
        if (step.skipped.empty()) continue;
        ++r.increments_skipped;
        metrics_.increment_skipped();
        logging::error("bloom state increment skipped",
                       {{"key", m.key},
                        {"file", tracker_store::increment_file_name(m.hash, step.inc)},
                        {"error", step.skipped},
                        {"component", k_component}});
    }
    r.increments_applied += run.applied;
    return {run.applied, run.steps.size()};  // steps: every increment listed for this base
}

restore_report bloom_persistence::restore() {
    restore_report r;
    if (!store_) return r;
    const auto started = clock_.monotonic_now();
    logging::info("loading bloom state from disk", {{"path", options_.path}});
    for (const auto& [key, why] : open_report_.bad_entries) {
        ++r.errors;
        metrics_.load(false);
        logging::error("skipped bloom state entry",
                       {{"key", key}, {"error", why}, {"component", k_component}});
    }
    if (open_report_.meta_moved_to.size()) {
        ++r.errors;
        metrics_.load(false);
    }

    for (std::size_t i = 0; i < open_report_.set_aside.size(); ++i) {  // logged at open
        ++r.errors;
        metrics_.load(false);
    }

    const auto now = clock_.wall_now();
    std::vector<std::string> drop;
    // Memory as the limit counts it: what the host holds already, plus each restored tracker.
    std::uint64_t memory = host_.memory_bytes();
    // Newest first: if memory runs out, what is given up is the state least likely to matter.
    auto entries = store_->index().trackers;
    std::vector<const tracker_meta*> order;
    for (const auto& [key, m] : entries) order.push_back(&m);
    std::sort(order.begin(), order.end(), [](const tracker_meta* a, const tracker_meta* b) {
        return a->last_updated > b->last_updated;
    });
    for (const tracker_meta* m : order) {
        const auto age = now - m->last_updated;
        if (age > options_.state_ttl) {
            ++r.skipped_stale;
            drop.push_back(m->key);
            continue;
        }
        const auto t0 = clock_.monotonic_now();
        auto fail = [&](const std::string& why) {
            ++r.errors;
            metrics_.load(false);
            drop.push_back(m->key);
            logging::error("failed to load tracker",
                           {{"key", m->key}, {"error", why}, {"component", k_component}});
        };
        if (auto st = validate_key(m->key); !st) {
            fail(st.error_message());
            continue;
        }
        // The layers are newer than the base they follow. While a new base replaces that one
        // (a crash in between), the file found decides: the old base means the layers are the
        // newest state, the new one means they are older than it.
        std::optional<std::string> bytes;
        std::optional<std::uint32_t> found_crc;
        if (layers_need_base(*m)) {
            auto b = store_->read(*m);
            if (!b) {
                fail(b.error_message());
                continue;
            }
            found_crc = crc32_of(*b);
            bytes = std::move(*b);
        }
        cardinality::tracker_snapshot snap;
        std::uint32_t chain_checksum = 0;
        std::size_t layer_files = 0;
        bool from_layers = false;
        if (use_layers(*m, found_crc)) {
            auto loaded = load_layers(
                *m, [&](const layer_file& f, bool head) { return store_->read_layer(*m, f, head); },
                std::min(memory_limit(), options_.max_file_bytes * 64));
            if (loaded) {
                snap = std::move(loaded->snapshot);
                layer_files = loaded->files;
                chain_checksum = m->layers->head.checksum;
                from_layers = true;
            } else {
                metrics_.layers_skipped();
                logging::error("bloom state generation files skipped, loading the base file",
                               {{"key", m->key},
                                {"error", loaded.error_message()},
                                {"component", k_component}});
            }
        }
        if (!from_layers) {
            if (!bytes) {
                auto b = store_->read(*m);
                if (!b) {
                    fail(b.error_message());
                    continue;
                }
                bytes = std::move(*b);
            }
            auto decoded = decode_tracker_file(
                *bytes, m->key, std::min(memory_limit(), options_.max_file_bytes * 64));
            if (!decoded) {
                fail(decoded.error_message());
                continue;
            }
            snap = std::move(*decoded);
            chain_checksum = crc32_of(*bytes);
        }
        const auto incs = apply_increments(*m, chain_checksum, snap, r);
        auto tracker = cardinality::bloom_tracker::restore(snap, clock_);
        if (!tracker) {
            fail(tracker.error_message());
            continue;
        }
        const std::uint64_t bytes_in_memory = (*tracker)->memory_bytes();
        if (memory_limit() - std::min(memory_limit(), memory) < bytes_in_memory) {
            // Kept on disk, not loaded: readable state is not deleted for want of memory (the
            // TTL removes it if it is never used again).
            ++r.errors;
            metrics_.load(false);
            logging::error(
                "failed to load tracker",
                {{"key", m->key},
                 {"error", "restoring it would exceed max_memory (" +
                               format_byte_size(options_.max_memory) + "); kept on disk"},
                 {"component", k_component}});
            continue;
        }
        (*tracker)->set_last_seen(clock_.monotonic_now() -
                                  std::chrono::duration_cast<steady::duration>(age));
        const auto count = (*tracker)->count();
        std::shared_ptr<cardinality::bloom_tracker> shared(std::move(*tracker));
        if (auto st = host_.adopt(m->key, shared); !st) {
            fail(st.error_message());
            continue;
        }
        memory += bytes_in_memory;
        ++r.loaded;
        // The tracker in memory is its base (or head) plus every increment listed for it: the
        // next save can go on with increments of that file. Not when one was skipped (the run on
        // disk has a gap: the next save writes a base). The snapshot is the tracker at epoch 0;
        // the downtime may have rotated it since, which the next save sees as any rotation (a new
        // head; the frozen generations already in files are not written again).
        if (options_.incremental && incs.applied == incs.listed) {
            std::lock_guard lock(save_mu_);
            chains_[m->key] = chain{shared->instance_id(), 0, chain_checksum, incs.applied + 1};
        }
        metrics_.load(true);
        metrics_.observe_load_seconds(
            std::chrono::duration<double>(clock_.monotonic_now() - t0).count());
        logging::info("loaded tracker", {{"key", m->key},
                                         {"count", count},
                                         {"age", age_text(age)},
                                         {"increments", incs.applied},
                                         {"generation_files", layer_files}});
    }
    if (!drop.empty()) {
        if (auto st = store_->remove(drop); !st)
            logging::warn("could not remove stale or bad bloom state files",
                          {{"error", st.error_message()}, {"component", k_component}});
    }
    r.duration = std::chrono::milliseconds(ms_since(clock_, started));
    logging::info("bloom state restore complete", {{"loaded", r.loaded},
                                                   {"skipped_stale", r.skipped_stale},
                                                   {"errors", r.errors},
                                                   {"duration_ms", r.duration.count()},
                                                   {"increments_applied", r.increments_applied},
                                                   {"increments_skipped", r.increments_skipped}});
    return r;
}

}  // namespace mg::persistence
