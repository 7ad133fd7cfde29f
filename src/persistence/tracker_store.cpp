// The state directory (see tracker_store.h).
#include "persistence/tracker_store.h"

#include <algorithm>
#include <set>

#include "persistence/tracker_codec.h"

namespace mg::persistence {
namespace {

constexpr unsigned k_dir_mode = 0700;
constexpr unsigned k_file_mode = 0600;

std::string file_name(const tracker_meta& m) {
    return m.hash + (m.compressed ? ".bloom.gz" : ".bloom");
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
        wanted.insert(m.hash + ".bloom.gz");
        wanted.insert(m.hash + ".bloom");
        s->tracker_bytes_ += m.size_bytes;
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

void tracker_store::recover_from_files(const std::vector<dir_entry>& listing, open_report& report) {
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
        // Aside, not deleted: it may be readable by another build, or by a human.
        std::string moved = unreadable_dir() + "/" + e.name;
        if (auto st = fs_.create_dirs(unreadable_dir(), k_dir_mode); !st) {
            why += "; left in place: " + st.error_message();
        } else if (auto mv = fs_.rename(path, moved); !mv) {
            why += "; left in place: " + mv.error_message();
        }
        report.set_aside[e.name] = why;
    }
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

    // Fill in what the store owns; split new keys from re-saved ones.
    std::vector<pending_file*> fresh, existing;
    for (auto* f : todo) {
        tracker_meta& m = f->meta;
        m.hash = sha256_hex(m.key);
        m.checksum = crc32_of(f->bytes);
        m.size_bytes = f->bytes.size();
        m.last_saved = now;
        m.previous_checksum.reset();
        if (const auto it = index_.trackers.find(m.key); it != index_.trackers.end()) {
            m.created_at = it->second.created_at;
            if (it->second.checksum != m.checksum) m.previous_checksum = it->second.checksum;
            existing.push_back(f);
        } else {
            fresh.push_back(f);
        }
    }
    std::set<std::string> timed_out;
    auto write_file = [&](const pending_file& f) {
        if (clock_.monotonic_now() >= deadline) {
            timed_out.insert(f.meta.key);
            return status(make_error("not written: the shutdown deadline passed first"));
        }
        status st = write_file_atomic(fs_, file_path(f.meta), f.bytes, k_file_mode);
        if (st) {
            // Compression switched: the file under the other extension is now an orphan.
            tracker_meta other = f.meta;
            other.compressed = !f.meta.compressed;
            (void)fs_.remove(file_path(other));
        }
        return st;
    };
    auto set_entry = [&](const tracker_meta& m) {
        if (const auto it = index_.trackers.find(m.key); it != index_.trackers.end())
            tracker_bytes_ -= it->second.size_bytes;
        tracker_bytes_ += m.size_bytes;
        index_.trackers[m.key] = m;
    };

    // 1. New keys: file first. A crash before the index lists it leaves an orphan, removed at
    //    the next open; an index entry never names a file that was not written.
    std::map<std::string, status> results;
    for (auto* f : fresh) {
        status st = write_file(*f);
        if (st) set_entry(f->meta);
        results[f->meta.key] = std::move(st);
    }
    // 2. The index: new keys, and re-saved keys with the old checksum as previous_checksum.
    const meta_index before = index_;
    const std::uint64_t tracker_bytes_before = tracker_bytes_;
    for (auto* f : existing) set_entry(f->meta);
    if (auto index_st = write_index_locked(); !index_st) {
        // New files stay unlisted (orphans at the next open); nothing else changed on disk.
        for (auto* f : fresh) {
            if (results[f->meta.key]) {
                (void)fs_.remove(file_path(f->meta));
                results[f->meta.key] = index_st;
            }
        }
        index_ = before;
        tracker_bytes_ = tracker_bytes_before;
        for (auto* f : fresh) {
            if (const auto it = index_.trackers.find(f->meta.key); it != index_.trackers.end()) {
                tracker_bytes_ -= it->second.size_bytes;
                index_.trackers.erase(it);
            }
        }
        for (auto* f : existing) results[f->meta.key] = index_st;
    } else {
        // 3. Re-saved keys: replace each file; the index accepts the old one or the new one.
        bool any_failed = false;
        for (auto* f : existing) {
            status st = write_file(*f);
            if (!st) {
                any_failed = true;
                // Back to the previous entry: its file is untouched.
                set_entry(before.trackers.at(f->meta.key));
            }
            results[f->meta.key] = std::move(st);
        }
        // Best effort: the index on disk already accepts the old files through previous_checksum.
        if (any_failed) (void)write_index_locked();
    }
    for (auto* f : todo)
        out.push_back({f->meta.key, results[f->meta.key], timed_out.count(f->meta.key) != 0});
    return out;
}

status tracker_store::remove(const std::vector<std::string>& keys) {
    std::lock_guard lock(mu_);
    std::vector<tracker_meta> gone;
    for (const auto& k : keys) {
        const auto it = index_.trackers.find(k);
        if (it == index_.trackers.end()) continue;
        gone.push_back(it->second);
        tracker_bytes_ -= it->second.size_bytes;
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
