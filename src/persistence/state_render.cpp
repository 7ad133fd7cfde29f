// Text and JSON of a state report (see state_render.h).
#include "persistence/state_render.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "common/units.h"

namespace mg::persistence {
namespace {

using std::chrono::nanoseconds;
// Keys in the order written (key first), for a person reading the output as much as for jq.
using json_t = nlohmann::ordered_json;

std::string age(nanoseconds d) {
    if (d.count() < 0) return "in the future";
    return format_duration(std::chrono::duration_cast<std::chrono::seconds>(d)) + " ago";
}

std::string span(nanoseconds d) {
    return format_duration(
        std::chrono::duration_cast<std::chrono::seconds>(std::max(d, nanoseconds{0})));
}

std::string time_and_age(const state_report& r, std::chrono::system_clock::time_point t) {
    return format_rfc3339(t) + " (" + age(r.inspected_at - t) + ")";
}

std::string plural(std::size_t n, const std::string& one) {
    return std::to_string(n) + " " + one + (n == 1 ? "" : "s");
}

void text_tracker(std::ostream& out, const state_report& r, const tracker_check& t) {
    const auto& m = t.meta;
    out << m.key << "\n";
    out << "  hash          " << m.hash << "\n";
    out << "  count         " << m.count << " (index)";
    if (t.count_rebuilt) out << ", " << *t.count_rebuilt << " (rebuilt, at its last save)";
    if (t.count_now) out << ", " << *t.count_now << " (if loaded now)";
    out << "\n";
    out << "  last updated  " << time_and_age(r, m.last_updated) << "\n";
    out << "  last saved    " << time_and_age(r, m.last_saved) << "\n";
    out << "  created       " << time_and_age(r, m.created_at) << "\n";
    out << "  window        " << span(m.window) << " in " << m.generations << " generations";
    if (t.memory_bytes) out << ", " << t.memory_bytes << " bytes in memory";
    out << "\n";
    for (std::size_t i = 0; i < t.generations.size(); ++i) {
        const auto& g = t.generations[i];
        out << "  generation " << i << (i == 0 ? " (current)" : "") << ": started " << age(g.age)
            << ", " << g.latest_count << " series, " << plural(g.slices, "slice") << ", "
            << g.filter_bytes << " bytes of filter\n";
    }
    out << "  base          " << t.base_file << ", " << t.base_bytes << " bytes, CRC32 "
        << m.checksum << ": " << to_string(t.base_status);
    if (!t.base_detail.empty()) out << ": " << t.base_detail;
    if (t.from_layers) out << " (a start loads the generation files below)";
    out << "\n";
    for (const auto& c : t.layers) {
        out << "  "
            << (c.generation == 0 ? "head         "
                                  : "frozen gen " + std::to_string(c.generation) + " ")
            << " " << c.file << ", " << c.size << " bytes: " << to_string(c.status);
        if (!c.detail.empty() && c.status != file_status::missing) out << " (" << c.detail << ")";
        out << "\n";
    }
    for (const auto& c : t.increments) {
        out << "  increment     seq " << c.meta.seq << ", " << c.file << ", " << c.meta.size_bytes
            << " bytes: " << to_string(c.status);
        if (!c.detail.empty() && c.status != file_status::missing) out << " (" << c.detail << ")";
        out << ", " << to_string(c.fate);
        if (!c.skipped.empty()) out << ": " << c.skipped;
        out << "\n";
    }
}

json_t json_file(const stray_file& f) {
    return {{"name", f.name}, {"size_bytes", f.size}, {"note", f.note}};
}

}  // namespace

std::string render_inspect_text(const state_report& r) {
    std::ostringstream out;
    out << "state directory " << r.path << " (inspected " << format_rfc3339(r.inspected_at)
        << ")\n";
    if (r.index_usable()) {
        out << "meta.json: version " << r.version << ", " << plural(r.trackers.size(), "tracker")
            << ", " << r.meta_bytes << " bytes\n";
    }
    for (const auto& t : r.trackers) {
        out << "\n";
        text_tracker(out, r, t);
    }
    if (!r.orphans.empty()) {
        out << "\nfiles in trackers/ that meta.json does not list:\n";
        for (const auto& f : r.orphans)
            out << "  " << f.name << ", " << f.size << " bytes: " << f.note << "\n";
    }
    if (!r.unreadable.empty()) {
        out << "\nunreadable/ (files an earlier start set aside):\n";
        for (const auto& f : r.unreadable) out << "  " << f.name << ", " << f.size << " bytes\n";
    }
    std::size_t increments = 0;
    for (const auto& t : r.trackers) increments += t.increments.size();
    out << "\ntotal: " << plural(r.trackers.size(), "tracker") << ", "
        << plural(increments, "increment") << ", " << r.bytes_on_disk << " bytes on disk ("
        << r.indexed_bytes << " listed by meta.json)\n";
    out << plural(r.problems.size(), "problem") << (r.problems.empty() ? "" : ":") << "\n";
    for (const auto& p : r.problems) out << "  " << p << "\n";
    if (!r.warnings.empty()) {
        out << plural(r.warnings.size(), "warning") << ":\n";
        for (const auto& w : r.warnings) out << "  " << w << "\n";
    }
    return out.str();
}

std::string render_verify_text(const state_report& r) {
    std::ostringstream out;
    for (const auto& p : r.problems) out << "problem: " << p << "\n";
    for (const auto& w : r.warnings) out << "warning: " << w << "\n";
    if (r.problems.empty()) {
        out << "state OK: " << r.path << ", " << plural(r.trackers.size(), "tracker")
            << " verified, " << plural(r.warnings.size(), "warning") << "\n";
    } else {
        out << "state has " << plural(r.problems.size(), "problem") << ": " << r.path << ", "
            << plural(r.trackers.size(), "tracker") << "\n";
    }
    return out.str();
}

std::string render_json(const state_report& r) {
    json_t j;
    j["path"] = r.path;
    j["inspected_at"] = format_rfc3339(r.inspected_at);
    j["ok"] = r.problems.empty();
    j["meta"] = {{"found", r.meta_found},
                 {"usable", r.index_usable()},
                 {"version", r.version},
                 {"size_bytes", r.meta_bytes}};
    if (!r.meta_message.empty()) j["meta"]["error"] = r.meta_message;
    j["meta"]["bad_entries"] = r.bad_entries;
    auto& trackers = j["trackers"] = json_t::array();
    for (const auto& t : r.trackers) {
        const auto& m = t.meta;
        json_t jt = {
            {"key", m.key},
            {"hash", m.hash},
            {"count", m.count},
            {"last_updated", format_rfc3339(m.last_updated)},
            {"age_seconds",
             std::chrono::duration_cast<std::chrono::seconds>(r.inspected_at - m.last_updated)
                 .count()},
            {"last_saved", format_rfc3339(m.last_saved)},
            {"created_at", format_rfc3339(m.created_at)},
            {"window", format_duration(m.window)},
            {"generations_configured", m.generations},
            {"loads", t.loads},
            {"memory_bytes", t.memory_bytes},
            {"disk_bytes", m.disk_bytes()},
        };
        jt["count_rebuilt"] = t.count_rebuilt ? json_t(*t.count_rebuilt) : nullptr;
        jt["count_now"] = t.count_now ? json_t(*t.count_now) : nullptr;
        jt["base"] = {{"file", t.base_file},
                      {"size_bytes", t.base_bytes},
                      {"checksum", m.checksum},
                      {"status", to_string(t.base_status)}};
        if (m.previous_checksum) jt["base"]["previous_checksum"] = *m.previous_checksum;
        if (!t.base_detail.empty()) jt["base"]["error"] = t.base_detail;
        auto& gens = jt["generations"] = json_t::array();
        for (const auto& g : t.generations)
            gens.push_back(
                {{"age_seconds", std::chrono::duration_cast<std::chrono::seconds>(g.age).count()},
                 {"count", g.latest_count},
                 {"slices", g.slices},
                 {"filter_bytes", g.filter_bytes}});
        jt["from_layers"] = t.from_layers;
        auto& layers = jt["layers"] = json_t::array();
        for (const auto& c : t.layers) {
            json_t jl = {{"file", c.file},
                         {"generation", c.generation},
                         {"role", c.generation == 0 ? "head" : "frozen"},
                         {"size_bytes", c.size},
                         {"status", to_string(c.status)}};
            if (!c.detail.empty()) jl["error"] = c.detail;
            layers.push_back(std::move(jl));
        }
        auto& incs = jt["increments"] = json_t::array();
        for (const auto& c : t.increments) {
            json_t ji = {{"seq", c.meta.seq},
                         {"base_checksum", c.meta.base_checksum},
                         {"checksum", c.meta.checksum},
                         {"size_bytes", c.meta.size_bytes},
                         {"file", c.file},
                         {"status", to_string(c.status)},
                         {"fate", to_string(c.fate)}};
            if (!c.detail.empty()) ji["error"] = c.detail;
            if (!c.skipped.empty()) ji["skipped"] = c.skipped;
            incs.push_back(std::move(ji));
        }
        trackers.push_back(std::move(jt));
    }
    auto& orphans = j["orphans"] = json_t::array();
    for (const auto& f : r.orphans) orphans.push_back(json_file(f));
    auto& unreadable = j["unreadable"] = json_t::array();
    for (const auto& f : r.unreadable) unreadable.push_back(json_file(f));
    for (const auto& f : r.other) j["other_files"].push_back(json_file(f));
    j["bytes_on_disk"] = r.bytes_on_disk;
    j["indexed_bytes"] = r.indexed_bytes;
    j["problems"] = r.problems;
    j["warnings"] = r.warnings;
    return j.dump(2) + "\n";
}

}  // namespace mg::persistence
