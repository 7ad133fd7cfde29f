// A read-only look at a state directory (see state_inspect.h).
#include "persistence/state_inspect.h"

#include <algorithm>
#include <set>

#include "cardinality/bloom_tracker.h"
#include "persistence/increment_chain.h"
#include "persistence/increment_codec.h"
#include "persistence/layer_codec.h"
#include "persistence/tracker_codec.h"
#include "persistence/tracker_store.h"

namespace mg::persistence {
namespace {

std::string crc_text(std::uint32_t crc) {
    return std::to_string(crc);
}

struct read_outcome {
    file_status status = file_status::missing;
    std::string detail;
    std::string bytes;
    std::uint64_t size = 0;
};

// One file, its CRC32 against `want` (and `previous` when given), as the store reads it.
read_outcome read_checked(file_system& fs, const std::string& path, std::uint32_t want,
                          std::optional<std::uint32_t> previous, std::uint64_t max_bytes) {
    read_outcome out;
    auto size = fs.file_size(path);
    if (!size) {
        out.detail = "missing";
        return out;
    }
    out.size = *size;
    auto bytes = fs.read_file(path, max_bytes);
    if (!bytes) {
        out.status = file_status::unreadable;
        out.detail = bytes.error_message();
        return out;
    }
    const auto crc = crc32_of(*bytes);
    if (crc == want) {
        out.status = file_status::ok;
    } else if (previous && crc == *previous) {
        out.status = file_status::ok_previous;
    } else {
        out.status = file_status::mismatch;
        out.detail = "checksum mismatch: file CRC32 " + crc_text(crc) + ", index " +
                     crc_text(want) +
                     (previous ? " (previous save " + crc_text(*previous) + ")" : "");
    }
    out.bytes = std::move(*bytes);
    return out;
}

// The base file as tracker_store::read finds it: under the entry's extension, else under the
// other one (a save that switched compression may have been cut short); the first file whose
// CRC32 matches wins, else the first mismatch is reported.
read_outcome read_base(file_system& fs, const std::string& dir, const tracker_meta& m,
                       std::uint64_t max_bytes, std::string& name) {
    read_outcome first;
    bool have_first = false;
    for (const bool compressed : {m.compressed, !m.compressed}) {
        const std::string n = tracker_store::base_file_name(m.hash, compressed);
        auto r = read_checked(fs, dir + "/" + n, m.checksum, m.previous_checksum, max_bytes);
        if (r.status == file_status::missing) continue;
        if (r.status == file_status::ok || r.status == file_status::ok_previous ||
            r.status == file_status::unreadable) {
            name = n;
            return r;
        }
        if (!have_first) {
            first = std::move(r);
            name = n;
            have_first = true;
        }
    }
    if (have_first) return first;
    name = tracker_store::base_file_name(m.hash, m.compressed);
    return {};
}

std::uint64_t filter_bytes(const cardinality::generation_snapshot& g) {
    std::uint64_t n = 0;
    for (const auto& s : g.slices) n += s.geometry.n_blocks * 64;
    return n;
}

std::vector<stray_file> list_files(file_system& fs, const std::string& dir) {
    std::vector<stray_file> out;
    auto listing = fs.list_dir(dir);
    if (!listing) return out;
    for (const auto& e : *listing) {
        if (e.is_dir) continue;
        stray_file f;
        f.name = e.name;
        f.size = e.size;
        out.push_back(std::move(f));
    }
    std::sort(out.begin(), out.end(),
              [](const stray_file& a, const stray_file& b) { return a.name < b.name; });
    return out;
}

void check_tracker(file_system& fs, mg::clock& clock, const inspect_options& o,
                   const std::string& trackers_dir, tracker_check& t, state_report& r) {
    const tracker_meta& m = t.meta;
    const std::string& key = m.key;
    auto problem = [&](const std::string& what) { r.problems.push_back(key + ": " + what); };
    if (auto st = validate_key(key); !st) {
        t.base_status = file_status::undecodable;
        t.base_detail = "unsafe key: " + st.error_message();
        problem(t.base_detail);
        return;
    }

    // Every increment's file on its own, whatever its base: present, CRC32, decodes.
    std::map<std::pair<std::uint32_t, std::uint64_t>, std::string> increment_bytes;
    for (const auto& inc : m.increments) {
        increment_check c;
        c.meta = inc;
        c.file = tracker_store::increment_file_name(m.hash, inc);
        auto rd = read_checked(fs, trackers_dir + "/" + c.file, inc.checksum, std::nullopt,
                               o.max_file_bytes);
        c.status = rd.status;
        c.detail = rd.detail;
        if (rd.status == file_status::ok) {
            auto d = decode_increment_file(rd.bytes, key, o.max_inflated_bytes);
            if (!d) {
                c.status = file_status::undecodable;
                c.detail = d.error_message();
            } else if (d->header.base_checksum != inc.base_checksum || d->header.seq != inc.seq) {
                c.status = file_status::undecodable;
                c.detail = "its header names another base or sequence number than the index";
            }
            increment_bytes[{inc.base_checksum, inc.seq}] = std::move(rd.bytes);
        }
        t.increments.push_back(std::move(c));
    }

    auto rd = read_base(fs, trackers_dir, m, o.max_file_bytes, t.base_file);
    t.base_status = rd.status;
    t.base_detail = rd.detail;
    t.base_bytes = rd.size;
    std::optional<cardinality::tracker_snapshot> snap;
    std::optional<std::uint32_t> found_crc;
    if (rd.status == file_status::ok || rd.status == file_status::ok_previous) {
        found_crc = crc32_of(rd.bytes);
        auto decoded = decode_tracker_file(rd.bytes, key, o.max_inflated_bytes);
        if (decoded) {
            snap = std::move(*decoded);
        } else {
            t.base_status = file_status::undecodable;
            t.base_detail = decoded.error_message();
        }
    }
    const bool base_loads = snap.has_value();
    std::uint32_t chain_crc = found_crc.value_or(0);
    if (m.layers) {
        // Every generation file on its own, then the layers as a start would load them.
        std::map<std::string, std::string> layer_bytes;
        auto check = [&](const layer_file& f, bool head, std::size_t g) {
            layer_check c;
            c.file = tracker_store::layer_file_name(m.hash, f, head);
            c.generation = g;
            auto lr = read_checked(fs, trackers_dir + "/" + c.file, f.checksum, std::nullopt,
                                   o.max_file_bytes);
            c.status = lr.status;
            c.detail = lr.detail;
            c.size = lr.size;
            if (lr.status == file_status::ok) {
                if (auto d = decode_tracker_file(lr.bytes, key, o.max_inflated_bytes); !d) {
                    c.status = file_status::undecodable;
                    c.detail = d.error_message();
                }
                layer_bytes[c.file] = std::move(lr.bytes);
            }
            t.layers.push_back(std::move(c));
        };
        check(m.layers->head, true, 0);
        for (std::size_t g = 0; g < m.layers->frozen.size(); ++g)
            if (m.layers->frozen[g].id != 0) check(m.layers->frozen[g], false, g + 1);
        if (use_layers(m, found_crc)) {
            auto loaded = load_layers(
                m,
                [&](const layer_file& f, bool head) -> result<std::string> {
                    const auto name = tracker_store::layer_file_name(m.hash, f, head);
                    const auto it = layer_bytes.find(name);
                    if (it != layer_bytes.end()) return it->second;
                    for (const auto& c : t.layers)
                        if (c.file == name) return make_error(c.detail);
                    return make_error("not read");
                },
                o.max_inflated_bytes);
            if (loaded) {
                snap = std::move(loaded->snapshot);
                chain_crc = m.layers->head.checksum;
                t.from_layers = true;
            } else {
                problem("generation files: " + loaded.error_message() +
                        "; a start loads the base file instead");
            }
        } else {
            r.warnings.push_back(key +
                                 ": generation files of an older base (superseded: never "
                                 "loaded, deleted at the tracker's next save)");
        }
    }
    if (!base_loads && t.from_layers)
        problem("base file " + t.base_file + ": " +
                (t.base_status == file_status::missing ? std::string("missing") : t.base_detail) +
                "; a start loads the generation files, a reader of the base file alone cannot");
    if (!snap) {
        problem("base file " + t.base_file + ": " +
                (t.base_status == file_status::missing ? std::string("missing") : t.base_detail) +
                "; a start cannot load this tracker");
        // Without the base's bytes, the increments listed for the checksums the index names
        // would have followed it; the others are superseded either way.
        for (auto& c : t.increments) {
            const bool of_base =
                c.meta.base_checksum == m.checksum ||
                (m.previous_checksum && c.meta.base_checksum == *m.previous_checksum);
            c.fate = of_base ? increment_fate::skipped : increment_fate::superseded;
            if (of_base) c.skipped = "its base is not loadable";
        }
        return;
    }
    if (t.base_status == file_status::ok_previous)
        r.warnings.push_back(key + ": base file " + t.base_file +
                             " is the previous save's (a save was cut short)" +
                             (t.from_layers ? "" : "; a start loads it"));

    const std::uint32_t base_crc = chain_crc;
    const auto chain = apply_increment_chain(
        m, base_crc, *snap,
        [&](const increment_meta& inc) -> result<std::string> {
            const auto it = increment_bytes.find({inc.base_checksum, inc.seq});
            if (it != increment_bytes.end()) return it->second;
            for (const auto& c : t.increments)
                if (c.meta.base_checksum == inc.base_checksum && c.meta.seq == inc.seq)
                    return make_error(c.file + ": " + (c.detail.empty() ? "missing" : c.detail));
            return make_error("not read");
        },
        o.max_inflated_bytes);
    std::size_t superseded = 0;
    for (auto& c : t.increments) {
        if (c.meta.base_checksum != base_crc) {
            c.fate = increment_fate::superseded;
            ++superseded;
            continue;
        }
        for (const auto& step : chain.steps) {
            if (step.inc.seq != c.meta.seq) continue;
            c.fate = step.skipped.empty() ? increment_fate::applied : increment_fate::skipped;
            c.skipped = step.skipped;
            if (!step.skipped.empty())
                problem("increment " + c.file + " (seq " + std::to_string(c.meta.seq) +
                        "): " + step.skipped + "; a start skips it");
        }
    }
    if (superseded > 0)
        r.warnings.push_back(key + ": " + std::to_string(superseded) +
                             " increment(s) of another base (superseded: never applied, deleted "
                             "at the tracker's next base)");

    // As restore() would rebuild it: the count at the save is the generations' sum (restore's
    // own total), and a restore on the clock of now says what survives the time since.
    std::int64_t total = 0;
    const auto since = clock.wall_now() - snap->taken_at;
    for (const auto& g : snap->generations) {
        total += g.latest_count;
        t.generations.push_back(
            {g.age + std::chrono::duration_cast<std::chrono::nanoseconds>(since), g.latest_count,
             g.slices.size(), filter_bytes(g)});
    }
    t.count_rebuilt = static_cast<std::uint64_t>(std::max<std::int64_t>(total, 0));
    t.taken_at = snap->taken_at;
    auto tracker = cardinality::bloom_tracker::restore(*snap, clock);
    if (!tracker) {
        t.base_status = file_status::undecodable;
        t.base_detail = "does not restore: " + tracker.error_message();
        problem("base file " + t.base_file + ": " + t.base_detail +
                "; a start cannot load this tracker");
        return;
    }
    t.count_now = (*tracker)->count();
    t.memory_bytes = (*tracker)->memory_bytes();
    t.loads = true;
}

}  // namespace

const char* to_string(file_status s) {
    switch (s) {
        case file_status::ok:
            return "ok";
        case file_status::ok_previous:
            return "ok (previous)";
        case file_status::mismatch:
            return "mismatch";
        case file_status::missing:
            return "missing";
        case file_status::unreadable:
            return "unreadable";
        case file_status::undecodable:
            return "does not decode";
    }
    return "?";
}

const char* to_string(increment_fate f) {
    switch (f) {
        case increment_fate::applied:
            return "applied";
        case increment_fate::skipped:
            return "skipped";
        case increment_fate::superseded:
            return "superseded";
    }
    return "?";
}

state_report inspect_state(file_system& fs, mg::clock& clock, const inspect_options& o) {
    state_report r;
    r.path = o.path;
    r.inspected_at = clock.wall_now();
    auto top = fs.list_dir(o.path);
    if (!top) {
        r.problems.push_back(o.path + ": not a readable state directory: " + top.error_message());
        return r;
    }
    r.readable = true;
    const std::string meta_path = o.path + "/meta.json";
    const std::string trackers_dir = o.path + "/trackers";

    auto text = fs.read_file(meta_path, o.max_meta_bytes);
    if (text) {
        r.meta_found = true;
        r.meta_bytes = text->size();
        auto parsed = parse_meta(*text);
        r.meta = parsed.problem;
        r.meta_message = parsed.message;
        r.version = parsed.version;
        r.bad_entries = std::move(parsed.bad_entries);
        if (parsed.problem == meta_problem::version_unsupported) {
            r.problems.push_back(meta_path + ": " + parsed.message +
                                 "; a start leaves the directory alone and keeps state in memory");
        } else if (parsed.problem == meta_problem::malformed) {
            r.problems.push_back(meta_path + ": " + parsed.message +
                                 "; a start moves it to meta.json.corrupt and rebuilds the index "
                                 "from the files");
        } else {
            for (auto& [key, m] : parsed.index.trackers) {
                tracker_check t;
                t.meta = std::move(m);
                r.trackers.push_back(std::move(t));
            }
        }
    } else if (fs.file_size(meta_path)) {
        r.meta_found = true;
        r.meta = meta_problem::malformed;
        r.meta_message = text.error_message();
        r.problems.push_back(meta_path + ": unreadable: " + text.error_message());
    } else {
        const auto files = list_files(fs, trackers_dir).size();
        r.problems.push_back(meta_path + ": missing: " +
                             (files == 0
                                  ? std::string("nothing was saved here (a start begins empty)")
                                  : "a start begins empty and deletes the " +
                                        std::to_string(files) + " file(s) in trackers/"));
    }
    for (const auto& [key, why] : r.bad_entries)
        r.problems.push_back("meta.json entry " + key + ": " + why + "; a start skips it");

    for (auto& t : r.trackers) check_tracker(fs, clock, o, trackers_dir, t, r);

    // Files in trackers/ that no entry lists, as tracker_store::open sees them.
    std::set<std::string> wanted;
    for (const auto& t : r.trackers)
        for (auto& name : tracker_store::listed_file_names(t.meta)) wanted.insert(std::move(name));
    // Entries were lost (the index or some of its entries unreadable): a start rebuilds them
    // from the unlisted files rather than deleting them.
    const bool index_whole = r.meta == meta_problem::none && r.bad_entries.empty();
    if (!fs.list_dir(trackers_dir)) {
        if (!r.trackers.empty()) r.warnings.push_back(trackers_dir + ": cannot be listed");
    }
    for (auto& f : list_files(fs, trackers_dir)) {
        r.bytes_on_disk += f.size;
        if (wanted.count(f.name) != 0) continue;
        if (f.name.ends_with(".tmp")) {
            f.note = "a write cut short; deleted at the next start";
        } else if (r.meta == meta_problem::version_unsupported) {
            f.note = "not listed; left alone (the index is of another version)";
        } else if (index_whole) {
            f.note = "not listed; deleted at the next start";
        } else {
            f.note = "not listed; a start rebuilds its index entry from it (or sets it aside)";
        }
        r.warnings.push_back("trackers/" + f.name + ": " + f.note);
        r.orphans.push_back(std::move(f));
    }
    for (auto& f : list_files(fs, o.path + "/unreadable")) {
        r.bytes_on_disk += f.size;
        f.note = "set aside by an earlier start: it did not decode";
        r.warnings.push_back("unreadable/" + f.name + ": " + f.note);
        r.unreadable.push_back(std::move(f));
    }
    if (auto size = fs.file_size(o.path + "/meta.json.corrupt"); size) {
        r.bytes_on_disk += *size;
        r.other.push_back(
            {"meta.json.corrupt", *size, "an index an earlier start found malformed"});
        r.warnings.push_back("meta.json.corrupt: an index an earlier start found malformed");
    }
    r.bytes_on_disk += r.meta_bytes;
    r.indexed_bytes = r.meta_bytes;
    for (const auto& t : r.trackers) r.indexed_bytes += t.meta.disk_bytes();
    return r;
}

}  // namespace mg::persistence
