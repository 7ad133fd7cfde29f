// The state directory (see tracker_store.h).
#include "persistence/tracker_store.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "persistence/increment_codec.h"
#include "persistence/tracker_codec.h"

namespace mg::persistence {
namespace {

std::string file_name(const tracker_meta& m) {
    return tracker_store::base_file_name(m.hash, m.compressed);
}

}  // namespace

tracker_store::tracker_store(file_system& fs, mg::clock& clock, store_options options)
    : fs_(fs), clock_(clock), options_(std::move(options)) {}

result<std::unique_ptr<tracker_store>> tracker_store::open(file_system& fs, mg::clock& clock,
                                                           store_options options,
                                                           open_report& report) {
    std::unique_ptr<tracker_store> s(new tracker_store(fs, clock, std::move(options)));
    if (auto st = fs.create_dirs(s->options_.path, k_dir_mode); !st)
        return make_error(st.error_message());
    if (auto st = fs.create_dirs(s->trackers_dir(), k_dir_mode); !st)
        return make_error(st.error_message());

    bool index_whole = true;  // read without losing an entry: unlisted files are real orphans
    auto text = fs.read_file(s->meta_path(), s->options_.max_meta_bytes);
    if (text) {
        report.meta_found = true;
        auto parsed = parse_meta(*text);
        report.problem = parsed.problem;
        report.message = parsed.message;
        report.bad_entries = std::move(parsed.bad_entries);
        if (parsed.problem == meta_problem::version_unsupported) return make_error(parsed.message);
        if (parsed.problem == meta_problem::malformed) {
            // Kept for a human to look at; the index is rebuilt from the files below.
            report.meta_moved_to = s->meta_path() + ".corrupt";
            if (auto st = fs.rename(s->meta_path(), report.meta_moved_to); !st)
                return make_error(st.error_message());
            index_whole = false;
        } else {
            s->index_ = std::move(parsed.index);
            s->meta_bytes_ = text->size();
            index_whole = report.bad_entries.empty();
        }
    } else if (auto exists = fs.file_size(s->meta_path()); exists) {
        return make_error(text.error_message());  // there but unreadable (permissions, too large)
    }

    std::set<std::string> wanted;
    for (const auto& [key, m] : s->index_.trackers) {
        for (auto& name : listed_file_names(m)) wanted.insert(std::move(name));
        s->tracker_bytes_ += m.disk_bytes();
    }
    auto listing = fs.list_dir(s->trackers_dir());
    if (!listing) return make_error(listing.error_message());
    std::vector<dir_entry> unlisted;
    for (const auto& e : *listing) {
        if (e.is_dir || wanted.count(e.name) != 0) continue;
        if (e.name.ends_with(".tmp")) {  // a write cut short: never valid, whatever the index
            if (fs.remove(s->trackers_dir() + "/" + e.name))
                report.orphans_removed.push_back(e.name);
            continue;
        }
        unlisted.push_back(e);
    }
    if (index_whole) {
        for (const auto& e : unlisted)
            if (fs.remove(s->trackers_dir() + "/" + e.name))
                report.orphans_removed.push_back(e.name);
    } else {
        s->recover_from_files(unlisted, report);
    }
    (void)fs.remove(s->meta_path() + ".tmp");

    // meta.json says what is in the directory: rewrite it when entries were dropped or rebuilt
    // (a read-only directory keeps the old one; the index in memory is still right).
    if (!index_whole || !report.bad_entries.empty()) (void)s->write_index_locked();

    // A volume mounted read-only opens fine and fails every save: say so now, not in 30 s.
    const std::string probe = s->options_.path + "/.write-test";
    if (auto st = write_file_atomic(fs, probe, "", k_file_mode); !st) {
        report.not_writable = st.error_message();
    } else {
        (void)fs.remove(probe);
    }
    return s;
}

meta_index tracker_store::index() const {
    std::lock_guard lock(mu_);
    return index_;
}

std::optional<tracker_meta> tracker_store::entry(const std::string& key) const {
    std::lock_guard lock(mu_);
    const auto it = index_.trackers.find(key);
    if (it == index_.trackers.end()) return std::nullopt;
    return it->second;
}

std::size_t tracker_store::size() const {
    std::lock_guard lock(mu_);
    return index_.trackers.size();
}

std::string tracker_store::file_path(const tracker_meta& meta) const {
    return trackers_dir() + "/" + file_name(meta);
}

std::string tracker_store::base_file_name(const std::string& hash, bool compressed) {
    return hash + (compressed ? ".bloom.gz" : ".bloom");
}

std::string tracker_store::increment_file_name(const std::string& hash, const increment_meta& inc) {
    char base[9];
    std::snprintf(base, sizeof base, "%08x", static_cast<unsigned>(inc.base_checksum));
    return hash + "." + base + "." + std::to_string(inc.seq) +
           (inc.compressed ? ".inc.gz" : ".inc");
}

std::string tracker_store::layer_file_name(const std::string& hash, const layer_file& f,
                                           bool head) {
    return hash + "." + std::to_string(f.id) + (head ? ".head" : ".gen") +
           (f.compressed ? ".gz" : "");
}

bool tracker_store::is_layer_file_name(const std::string& name) {
    return name.ends_with(".head") || name.ends_with(".head.gz") || name.ends_with(".gen") ||
           name.ends_with(".gen.gz");
}

std::vector<std::string> tracker_store::listed_file_names(const tracker_meta& m) {
    std::vector<std::string> out{base_file_name(m.hash, true), base_file_name(m.hash, false)};
    for (const auto& inc : m.increments) out.push_back(increment_file_name(m.hash, inc));
    if (m.layers) {
        out.push_back(layer_file_name(m.hash, m.layers->head, true));
        for (const auto& f : m.layers->frozen)
            if (f.id != 0) out.push_back(layer_file_name(m.hash, f, false));
    }
    return out;
}

result<std::string> tracker_store::read_layer(const tracker_meta& meta, const layer_file& f,
                                              bool head) const {
    const std::string p = trackers_dir() + "/" + layer_file_name(meta.hash, f, head);
    auto bytes = fs_.read_file(p, options_.max_file_bytes);
    if (!bytes) return make_error(bytes.error_message());
    if (const auto crc = crc32_of(*bytes); crc != f.checksum)
        return make_error("checksum mismatch in " + p + ": file CRC32 " + std::to_string(crc) +
                          ", index " + std::to_string(f.checksum));
    return bytes;
}

status tracker_store::write_layers_locked(pending_file& f) {
    auto& layers = *f.layers;
    std::vector<std::string> written;
    auto undo = [&](status st) {
        for (const auto& p : written) (void)fs_.remove(p);
        return st;
    };
    for (const auto& file : f.frozen_files) {
        // Not a structured binding: a lambda cannot capture one before C++20's clang 16.
        const std::uint64_t id = file.first;
        const std::string& bytes = file.second;
        const auto it = std::find_if(layers.frozen.begin(), layers.frozen.end(),
                                     [id](const layer_file& l) { return l.id == id; });
        if (it == layers.frozen.end() || id == 0)
            return undo(make_error("frozen generation file " + std::to_string(id) +
                                   " is not in its layer set"));
        if (bytes.size() > options_.max_file_bytes)
            return undo(make_error("generation file of " + std::to_string(bytes.size()) +
                                   " bytes is over the limit of " +
                                   std::to_string(options_.max_file_bytes) + " bytes"));
        it->checksum = crc32_of(bytes);
        it->size_bytes = bytes.size();
        const std::string p = trackers_dir() + "/" + layer_file_name(f.meta.hash, *it, false);
        if (auto st = write_file_atomic(fs_, p, bytes, k_file_mode, false); !st) return undo(st);
        written.push_back(p);
    }
    layers.head.checksum = crc32_of(f.bytes);
    layers.head.size_bytes = f.bytes.size();
    const std::string p = trackers_dir() + "/" + layer_file_name(f.meta.hash, layers.head, true);
    if (auto st = write_file_atomic(fs_, p, f.bytes, k_file_mode, false); !st) return undo(st);
    return {};
}

void tracker_store::remove_superseded_locked(const tracker_meta& before,
                                             const tracker_meta& after) {
    const auto keep = listed_file_names(after);
    for (const auto& name : listed_file_names(before))
        if (std::find(keep.begin(), keep.end(), name) == keep.end())
            (void)fs_.remove(trackers_dir() + "/" + name);
}

std::string tracker_store::increment_path(const tracker_meta& meta,
                                          const increment_meta& inc) const {
    return trackers_dir() + "/" + increment_file_name(meta.hash, inc);
}

result<std::string> tracker_store::read_increment(const tracker_meta& meta,
                                                  const increment_meta& inc) const {
    const std::string p = increment_path(meta, inc);
    auto bytes = fs_.read_file(p, options_.max_file_bytes);
    if (!bytes) return make_error(bytes.error_message());
    if (const auto crc = crc32_of(*bytes); crc != inc.checksum)
        return make_error("checksum mismatch in " + p + ": file CRC32 " + std::to_string(crc) +
                          ", index " + std::to_string(inc.checksum));
    return bytes;
}

void tracker_store::set_entry_locked(const tracker_meta& m) {
    if (const auto it = index_.trackers.find(m.key); it != index_.trackers.end())
        tracker_bytes_ -= it->second.disk_bytes();
    tracker_bytes_ += m.disk_bytes();
    index_.trackers[m.key] = m;
}

result<std::string> tracker_store::read(const tracker_meta& meta) {
    // The file under the entry's extension, else under the other one: a save that switched
    // compression may have been cut short between the index and the file (see the header).
    tracker_meta other = meta;
    other.compressed = !meta.compressed;
    std::string first_error;
    for (const tracker_meta* m : {&meta, static_cast<const tracker_meta*>(&other)}) {
        const std::string p = file_path(*m);
        if (!fs_.file_size(p)) continue;
        auto bytes = fs_.read_file(p, options_.max_file_bytes);
        if (!bytes) return make_error(bytes.error_message());
        const auto crc = crc32_of(*bytes);
        if (crc == meta.checksum || (meta.previous_checksum && crc == *meta.previous_checksum)) {
            // From now on the index describes the file that is really there, so the next save
            // records it as previous_checksum (a crash during that save must still find it).
            std::lock_guard lock(mu_);
            if (const auto it = index_.trackers.find(meta.key); it != index_.trackers.end()) {
                tracker_bytes_ -= it->second.size_bytes;
                it->second.checksum = crc;
                it->second.previous_checksum.reset();
                it->second.size_bytes = bytes->size();
                it->second.compressed = m->compressed;
                tracker_bytes_ += it->second.size_bytes;
            }
            return bytes;
        }
        if (first_error.empty())
            first_error = "checksum mismatch in " + p + ": file CRC32 " + std::to_string(crc) +
                          ", index " + std::to_string(meta.checksum);
    }
    if (!first_error.empty()) return make_error(first_error);
    return make_error("tracker file " + file_path(meta) + " is missing");
}

status tracker_store::write_index_locked() {
    const std::string text = to_json(index_);
    if (auto st = write_file_atomic(fs_, meta_path(), text, k_file_mode); !st) return st;
    meta_bytes_ = text.size();
    return {};
}

std::vector<save_outcome> tracker_store::save(std::vector<pending_file> files,
                                              std::chrono::system_clock::time_point now,
                                              std::chrono::steady_clock::time_point deadline) {
    std::vector<save_outcome> out;
    out.reserve(files.size());
    std::lock_guard lock(mu_);

    // Refuse what can never be loaded back, then check the room for the rest.
    std::vector<pending_file*> todo;
    std::uint64_t need = 0;
    for (auto& f : files) {
        if (f.bytes.size() > options_.max_file_bytes) {
            out.push_back(
                {f.meta.key, make_error("tracker file of " + std::to_string(f.bytes.size()) +
                                        " bytes is over the limit of " +
                                        std::to_string(options_.max_file_bytes) + " bytes")});
            continue;
        }
        todo.push_back(&f);
        need += f.bytes.size();
    }
    if (todo.empty()) return out;
    need += meta_bytes_ + todo.size() * 512;
    need += std::max(need / 100 * options_.free_space_margin_percent,
                     store_options::k_min_free_space_margin);
    if (auto avail = fs_.available_bytes(options_.path); avail && *avail < need) {
        for (auto* f : todo)
            out.push_back(
                {f->meta.key, make_error("not enough disk space: " + std::to_string(*avail) +
                                         " bytes available, " + std::to_string(need) + " needed")});
        return out;
    }

    const meta_index before = index_;
    const std::uint64_t tracker_bytes_before = tracker_bytes_;
    // Fill in what the store owns; split new keys, re-saved keys and increments.
    std::vector<pending_file*> fresh, existing, increments, layered;
    std::map<std::string, status> results;
    for (auto* f : todo) {
        tracker_meta& m = f->meta;
        m.hash = sha256_hex(m.key);
        const auto it = index_.trackers.find(m.key);
        if (f->layers) {
            if (it == index_.trackers.end())
                results[m.key] = make_error("generation files of a tracker no longer indexed");
            else if (it->second.checksum != f->layers->base_checksum)
                results[m.key] = make_error("generation files of a base that was replaced");
            else
                layered.push_back(f);
            continue;
        }
        if (f->increment) {
            f->increment->checksum = crc32_of(f->bytes);
            f->increment->size_bytes = f->bytes.size();
            if (it == index_.trackers.end())
                results[m.key] = make_error("increment of a tracker no longer indexed");
            else if (it->second.chain_checksum() != f->increment->base_checksum)
                results[m.key] = make_error("increment of a base that was replaced");
            else
                increments.push_back(f);
            continue;
        }
        m.checksum = crc32_of(f->bytes);
        m.size_bytes = f->bytes.size();
        m.last_saved = now;
        m.previous_checksum.reset();
        m.increments.clear();
        if (it != index_.trackers.end()) {
            m.created_at = it->second.created_at;
            if (it->second.checksum != m.checksum) m.previous_checksum = it->second.checksum;
            // Listed until the new base is in place: a crash before that loads the old base and
            // its increments (they name the old base's checksum, so never the new one's), or the
            // layers that followed the old base (they name it too).
            m.increments = it->second.increments;
            m.layers = it->second.layers;
            existing.push_back(f);
        } else {
            fresh.push_back(f);
        }
    }
    std::set<std::string> timed_out;
    auto past_deadline = [&](const std::string& key) {
        if (clock_.monotonic_now() < deadline) return false;
        timed_out.insert(key);
        return true;
    };
    const status k_late = make_error("not written: the shutdown deadline passed first");
    // The trackers directory is fsynced once per step rather than once per file (a pass of
    // increments writes one file per changed tracker): before the index names a new file, and
    // before the increments of replaced bases are dropped.
    auto write_file = [&](const pending_file& f) {
        if (past_deadline(f.meta.key)) return k_late;
        status st = write_file_atomic(fs_, file_path(f.meta), f.bytes, k_file_mode, false);
        if (st) {
            // Compression switched: the file under the other extension is now an orphan.
            tracker_meta other = f.meta;
            other.compressed = !f.meta.compressed;
            (void)fs_.remove(file_path(other));
        }
        return st;
    };

    // 1. New keys and increments: new names, file first. A crash before the index lists them
    //    leaves orphans, removed at the next open; an index entry never names a missing file.
    for (auto* f : fresh) {
        status st = write_file(*f);
        if (st) set_entry_locked(f->meta);
        results[f->meta.key] = std::move(st);
    }
    std::vector<pending_file*> written_increments;
    for (auto* f : increments) {
        const auto& inc = *f->increment;
        status st = past_deadline(f->meta.key)
                        ? k_late
                        : write_file_atomic(fs_, increment_path(f->meta, inc), f->bytes,
                                            k_file_mode, false);
        if (st) {
            tracker_meta m = index_.trackers.at(f->meta.key);
            m.increments.push_back(inc);
            m.count = f->meta.count;
            m.last_updated = std::max(m.last_updated, f->meta.last_updated);
            m.memory_bytes = f->meta.memory_bytes;
            m.last_saved = now;
            set_entry_locked(m);
            written_increments.push_back(f);
        }
        results[f->meta.key] = std::move(st);
    }
    // Layered saves: the new generation files, then an entry that lists them instead of the
    // previous head, expired frozen generations and the increments the head now holds.
    std::vector<std::pair<tracker_meta, tracker_meta>> relayered;  // before, after
    for (auto* f : layered) {
        status st = past_deadline(f->meta.key) ? k_late : write_layers_locked(*f);
        if (st) {
            const tracker_meta& was = index_.trackers.at(f->meta.key);
            tracker_meta m = was;
            m.layers = *f->layers;
            m.increments.clear();
            m.count = f->meta.count;
            m.last_updated = std::max(m.last_updated, f->meta.last_updated);
            m.memory_bytes = f->meta.memory_bytes;
            m.last_saved = now;
            relayered.emplace_back(was, m);
            set_entry_locked(m);
        }
        results[f->meta.key] = std::move(st);
    }
    // The new names are durable before the index names them.
    status dir_st;
    if (!fresh.empty() || !written_increments.empty() || !relayered.empty())
        dir_st = fs_.sync_dir(trackers_dir());
    // 2. The index: new keys and increments, and re-saved keys with the old checksum as
    //    previous_checksum.
    for (auto* f : existing) set_entry_locked(f->meta);
    if (auto index_st = dir_st ? write_index_locked() : dir_st; !index_st) {
        // New files stay unlisted (removed here, or as orphans at the next open); nothing else
        // changed on disk.
        for (auto* f : fresh) {
            if (results[f->meta.key]) {
                (void)fs_.remove(file_path(f->meta));
                results[f->meta.key] = index_st;
            }
        }
        for (auto* f : written_increments) {
            (void)fs_.remove(increment_path(f->meta, *f->increment));
            results[f->meta.key] = index_st;
        }
        for (const auto& [was, now_m] : relayered) {
            remove_superseded_locked(now_m, was);
            results[now_m.key] = index_st;
        }
        index_ = before;
        tracker_bytes_ = tracker_bytes_before;
        for (auto* f : existing) results[f->meta.key] = index_st;
    } else {
        for (const auto& [was, now_m] : relayered) remove_superseded_locked(was, now_m);
        // 3. Re-saved keys: replace each file; the index accepts the old one or the new one.
        bool any_failed = false;
        bool any_replaced = false;
        std::vector<std::pair<tracker_meta, tracker_meta>> superseded;  // before, after
        for (auto* f : existing) {
            status st = write_file(*f);
            if (!st) {
                any_failed = true;
                // Back to the previous entry: its file is untouched.
                set_entry_locked(before.trackers.at(f->meta.key));
            } else {
                any_replaced = true;
                if (!f->meta.increments.empty() || f->meta.layers) {
                    tracker_meta m = f->meta;
                    m.increments.clear();
                    m.layers.reset();
                    superseded.emplace_back(f->meta, m);
                    set_entry_locked(m);
                }
            }
            results[f->meta.key] = std::move(st);
        }
        // The replaced bases are durable before their old increments go.
        const status replaced_st = any_replaced ? fs_.sync_dir(trackers_dir()) : status{};
        if (!replaced_st) {
            // Renamed but perhaps not durable: the index on disk accepts the old files too, the
            // old increments stay listed, and the save counts as failed (the tracker is saved
            // whole again).
            for (auto* f : existing)
                if (results[f->meta.key]) results[f->meta.key] = replaced_st;
            for (const auto& [was, m] : superseded) set_entry_locked(was);
        } else if (any_failed || !superseded.empty()) {
            // 4. Increments of replaced bases: out of the index, then deleted. If this index
            //    write fails they stay listed (and on disk) but are never applied: their base is
            //    gone. Best effort either way: the index on disk already accepts the old files
            //    through previous_checksum.
            if (write_index_locked()) {
                for (const auto& [was, m] : superseded) remove_superseded_locked(was, m);
            } else {
                for (const auto& [was, m] : superseded) set_entry_locked(was);
            }
        }
    }
    for (auto* f : todo)
        out.push_back({f->meta.key, results[f->meta.key], timed_out.count(f->meta.key) != 0,
                       f->increment ? f->increment->checksum
                       : f->layers  ? f->layers->head.checksum
                                    : f->meta.checksum});
    return out;
}

status tracker_store::remove(const std::vector<std::string>& keys) {
    std::lock_guard lock(mu_);
    std::vector<tracker_meta> gone;
    for (const auto& k : keys) {
        const auto it = index_.trackers.find(k);
        if (it == index_.trackers.end()) continue;
        gone.push_back(it->second);
        tracker_bytes_ -= it->second.disk_bytes();
        index_.trackers.erase(it);
    }
    if (gone.empty()) return {};
    if (auto st = write_index_locked(); !st) return st;
    status result;
    for (const auto& m : gone)
        for (const auto& name : listed_file_names(m))
            if (auto st = fs_.remove(trackers_dir() + "/" + name); !st && result) result = st;
    return result;
}

status tracker_store::touch(const std::vector<stamp>& stamps,
                            std::chrono::system_clock::time_point now) {
    std::lock_guard lock(mu_);
    bool changed = false;
    for (const auto& st : stamps) {
        const auto it = index_.trackers.find(st.key);
        if (it == index_.trackers.end()) continue;
        it->second.last_updated = std::max(it->second.last_updated, st.last_updated);
        it->second.count = st.count;
        it->second.last_saved = now;
        changed = true;
    }
    return changed ? write_index_locked() : status{};
}

result<bool> tracker_store::ensure_layout() {
    std::lock_guard lock(mu_);
    if (fs_.file_size(trackers_dir())) return false;
    if (auto st = fs_.create_dirs(options_.path, k_dir_mode); !st)
        return make_error(st.error_message());
    if (auto st = fs_.create_dirs(trackers_dir(), k_dir_mode); !st)
        return make_error(st.error_message());
    // Whatever the index listed went with the directory.
    index_.trackers.clear();
    tracker_bytes_ = 0;
    meta_bytes_ = 0;
    return true;
}

std::uint64_t tracker_store::disk_usage() const {
    std::lock_guard lock(mu_);
    return tracker_bytes_ + meta_bytes_;
}

}  // namespace mg::persistence
