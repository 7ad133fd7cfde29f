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

constexpr unsigned k_dir_mode = 0700;
constexpr unsigned k_file_mode = 0600;

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
        wanted.insert(base_file_name(m.hash, true));
        wanted.insert(base_file_name(m.hash, false));
        for (const auto& inc : m.increments) wanted.insert(increment_file_name(m.hash, inc));
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

void tracker_store::set_aside(const std::string& name, std::string why, open_report& report) {
    // Aside, not deleted: it may be readable by another build, or by a human.
    const std::string path = trackers_dir() + "/" + name;
    std::string moved = unreadable_dir() + "/" + name;
    if (auto st = fs_.create_dirs(unreadable_dir(), k_dir_mode); !st) {
        why += "; left in place: " + st.error_message();
    } else if (auto mv = fs_.rename(path, moved); !mv) {
        why += "; left in place: " + mv.error_message();
    }
    report.set_aside[name] = why;
}

std::vector<dir_entry> tracker_store::recover_increments(const std::vector<dir_entry>& listing,
                                                         open_report& report) {
    std::vector<dir_entry> rest;
    std::map<std::string, std::vector<increment_meta>> found;  // key -> increments
    for (const auto& e : listing) {
        const bool gz = e.name.ends_with(".inc.gz");
        if (!gz && !e.name.ends_with(".inc")) {
            rest.push_back(e);
            continue;
        }
        std::string why;
        auto bytes = fs_.read_file(trackers_dir() + "/" + e.name, options_.max_file_bytes);
        if (!bytes) {
            set_aside(e.name, bytes.error_message(), report);
            continue;
        }
        auto decoded = decode_increment_file(*bytes, {}, options_.max_inflated_bytes);
        if (!decoded) {
            set_aside(e.name, decoded.error_message(), report);
            continue;
        }
        increment_meta inc;
        inc.seq = decoded->header.seq;
        inc.base_checksum = decoded->header.base_checksum;
        inc.checksum = crc32_of(*bytes);
        inc.size_bytes = bytes->size();
        inc.compressed = gz;
        const auto it = index_.trackers.find(decoded->header.key);
        if (it == index_.trackers.end()) {
            set_aside(e.name, "no base file of its tracker \"" + decoded->header.key + "\"",
                      report);
            continue;
        }
        if (increment_file_name(it->second.hash, inc) != e.name) {
            set_aside(e.name, "its contents do not match its file name", report);
            continue;
        }
        found[decoded->header.key].push_back(inc);
    }
    for (auto& [key, incs] : found) {
        auto& m = index_.trackers[key];
        for (const auto& inc : incs) {
            const bool listed = std::any_of(
                m.increments.begin(), m.increments.end(), [&](const increment_meta& have) {
                    return have.base_checksum == inc.base_checksum && have.seq == inc.seq;
                });
            if (listed) continue;
            m.increments.push_back(inc);
            tracker_bytes_ += inc.size_bytes;
        }
        std::sort(m.increments.begin(), m.increments.end(),
                  [](const increment_meta& a, const increment_meta& b) {
                      return a.base_checksum != b.base_checksum ? a.base_checksum < b.base_checksum
                                                                : a.seq < b.seq;
                  });
        report.recovered.push_back(key + " (" + std::to_string(incs.size()) + " increments)");
    }
    return rest;
}

void tracker_store::recover_from_files(const std::vector<dir_entry>& all, open_report& report) {
    std::vector<dir_entry> listing, increments;
    for (const auto& e : all)
        (e.name.ends_with(".inc") || e.name.ends_with(".inc.gz") ? increments : listing)
            .push_back(e);
    for (const auto& e : listing) {
        const std::string path = trackers_dir() + "/" + e.name;
        const bool gz = e.name.ends_with(".bloom.gz");
        const bool plain = !gz && e.name.ends_with(".bloom");
        std::string why;
        tracker_meta m;
        if (!gz && !plain) {
            why = "not a tracker file name";
        } else if (auto bytes = fs_.read_file(path, options_.max_file_bytes); !bytes) {
            why = bytes.error_message();
        } else if (auto decoded = decode_tracker_file_any_key(*bytes, options_.max_inflated_bytes);
                   !decoded) {
            why = decoded.error_message();
        } else if (const std::string stem = e.name.substr(0, e.name.size() - (gz ? 9 : 6));
                   sha256_hex(decoded->key) != stem) {
            why = "its key \"" + decoded->key + "\" does not hash to its file name";
        } else if (index_.trackers.count(decoded->key) != 0) {
            why = "its key \"" + decoded->key + "\" is indexed already";
        } else if (auto valid = validate_key(decoded->key); !valid) {
            why = valid.error_message();
        } else {
            const auto* snap = &decoded->snapshot;
            m.key = decoded->key;
            m.hash = stem;
            m.checksum = crc32_of(*bytes);
            m.size_bytes = bytes->size();
            m.compressed = gz;
            m.format = k_file_format;
            m.generations = snap->config.generations;
            m.window = snap->config.window;
            // The snapshot's time is the last save: the best "last used" the files still know.
            m.last_updated = m.last_saved = m.created_at = snap->taken_at;
            m.window_start =
                snap->taken_at - (snap->generations.empty() ? std::chrono::nanoseconds{0}
                                                            : snap->generations.back().age);
            std::int64_t count = 0;
            for (const auto& g : snap->generations)
                count += std::max<std::int64_t>(g.latest_count, 0);
            m.count = static_cast<std::uint64_t>(count);
            m.memory_bytes = 0;  // known again after the restore
        }
        if (why.empty()) {
            tracker_bytes_ += m.size_bytes;
            report.recovered.push_back(m.key);
            index_.trackers[m.key] = std::move(m);
            continue;
        }
        set_aside(e.name, std::move(why), report);
    }
    (void)recover_increments(increments, report);
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
    std::vector<pending_file*> fresh, existing, increments;
    std::map<std::string, status> results;
    for (auto* f : todo) {
        tracker_meta& m = f->meta;
        m.hash = sha256_hex(m.key);
        const auto it = index_.trackers.find(m.key);
        if (f->increment) {
            f->increment->checksum = crc32_of(f->bytes);
            f->increment->size_bytes = f->bytes.size();
            if (it == index_.trackers.end())
                results[m.key] = make_error("increment of a tracker no longer indexed");
            else if (it->second.checksum != f->increment->base_checksum)
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
            // its increments (they name the old base's checksum, so never the new one's).
            m.increments = it->second.increments;
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
    // The new names are durable before the index names them.
    status dir_st;
    if (!fresh.empty() || !written_increments.empty()) dir_st = fs_.sync_dir(trackers_dir());
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
        index_ = before;
        tracker_bytes_ = tracker_bytes_before;
        for (auto* f : existing) results[f->meta.key] = index_st;
    } else {
        // 3. Re-saved keys: replace each file; the index accepts the old one or the new one.
        bool any_failed = false;
        bool any_replaced = false;
        std::vector<std::pair<tracker_meta, std::vector<increment_meta>>> superseded;
        for (auto* f : existing) {
            status st = write_file(*f);
            if (!st) {
                any_failed = true;
                // Back to the previous entry: its file is untouched.
                set_entry_locked(before.trackers.at(f->meta.key));
            } else {
                any_replaced = true;
                if (!f->meta.increments.empty()) {
                    tracker_meta m = f->meta;
                    superseded.emplace_back(m, std::move(m.increments));
                    m.increments.clear();
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
            for (auto& [m, incs] : superseded) {
                m.increments = incs;
                set_entry_locked(m);
            }
        } else if (any_failed || !superseded.empty()) {
            // 4. Increments of replaced bases: out of the index, then deleted. If this index
            //    write fails they stay listed (and on disk) but are never applied: their base is
            //    gone. Best effort either way: the index on disk already accepts the old files
            //    through previous_checksum.
            if (write_index_locked()) {
                for (const auto& [m, incs] : superseded)
                    for (const auto& inc : incs) (void)fs_.remove(increment_path(m, inc));
            } else {
                for (auto& [m, incs] : superseded) {
                    m.increments = incs;
                    set_entry_locked(m);
                }
            }
        }
    }
    for (auto* f : todo)
        out.push_back({f->meta.key, results[f->meta.key], timed_out.count(f->meta.key) != 0,
                       f->increment ? f->increment->checksum : f->meta.checksum});
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
    for (const auto& m : gone) {
        for (bool compressed : {true, false}) {
            tracker_meta v = m;
            v.compressed = compressed;
            if (auto st = fs_.remove(file_path(v)); !st && result) result = st;
        }
        for (const auto& inc : m.increments)
            if (auto st = fs_.remove(increment_path(m, inc)); !st && result) result = st;
    }
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
