// Rebuilding the index of the state directory from its files, when meta.json or some of its
// entries were lost (see tracker_store.h): the base files hold their keys, increments name their
// base. Generation files of layered saves are not rebuilt into an index: without their entry's
// head they cannot be put back in order, so they are set aside (never deleted) and the tracker
// restores from its base.
#include <algorithm>
#include <map>

#include "persistence/increment_codec.h"
#include "persistence/tracker_codec.h"
#include "persistence/tracker_store.h"

namespace mg::persistence {

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
        if (is_layer_file_name(e.name)) {
            why =
                "a generation file whose index entry was lost (its tracker restores from its "
                "base file)";
        } else if (!gz && !plain) {
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

}  // namespace mg::persistence
