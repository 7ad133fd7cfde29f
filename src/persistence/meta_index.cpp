// meta.json encoding and validation (see meta_index.h), with nlohmann/json.
#include "persistence/meta_index.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/units.h"

namespace mg::persistence {
namespace {

using json = nlohmann::json;
using sys_tp = std::chrono::system_clock::time_point;

json entry_json(const tracker_meta& m) {
    json j = {
        {"key", m.key},
        {"hash", m.hash},
        {"count", m.count},
        {"last_updated", format_rfc3339(m.last_updated)},
        {"last_saved", format_rfc3339(m.last_saved)},
        {"created_at", format_rfc3339(m.created_at)},
        {"checksum", m.checksum},
        {"size_bytes", m.size_bytes},
        {"format", m.format},
        {"compressed", m.compressed},
        {"generations", m.generations},
        {"window", format_duration(m.window)},
        {"window_start", format_rfc3339(m.window_start)},
        {"memory_bytes", m.memory_bytes},
    };
    if (m.previous_checksum) j["previous_checksum"] = *m.previous_checksum;
    if (!m.increments.empty()) {
        json incs = json::array();
        for (const auto& i : m.increments)
            incs.push_back({{"seq", i.seq},
                            {"base_checksum", i.base_checksum},
                            {"checksum", i.checksum},
                            {"size_bytes", i.size_bytes},
                            {"compressed", i.compressed}});
        j["increments"] = std::move(incs);
    }
    if (m.layers) {
        auto file = [](const layer_file& f) {
            return json{{"id", f.id},
                        {"checksum", f.checksum},
                        {"size_bytes", f.size_bytes},
                        {"compressed", f.compressed}};
        };
        json frozen = json::array();
        for (const auto& f : m.layers->frozen) frozen.push_back(file(f));
        j["layers"] = {{"base_checksum", m.layers->base_checksum},
                       {"head", file(m.layers->head)},
                       {"frozen", std::move(frozen)}};
    }
    return j;
}

// One file of `layers`; an error names the bad field.
result<layer_file> layer_file_from(const json& e, const char* where) {
    layer_file f;
    auto field = [&](const char* name, std::uint64_t max, std::uint64_t& out) -> status {
        const auto it = e.is_object() ? e.find(name) : e.end();
        if (it == e.end() || !it->is_number_unsigned() || it->get<std::uint64_t>() > max)
            return make_error(std::string("layers: ") + where + ": " + name +
                              " is not an unsigned integer up to " + std::to_string(max));
        out = it->get<std::uint64_t>();
        return {};
    };
    std::uint64_t crc = 0;
    for (status st : {field("id", UINT64_MAX, f.id), field("checksum", UINT32_MAX, crc),
                      field("size_bytes", UINT64_MAX, f.size_bytes)})
        if (!st) return make_error(st.error_message());
    f.checksum = static_cast<std::uint32_t>(crc);
    if (const auto c = e.find("compressed"); c != e.end()) {
        if (!c->is_boolean())
            return make_error(std::string("layers: ") + where + ": compressed is not a boolean");
        f.compressed = c->get<bool>();
    }
    return f;
}

result<layer_set> layers_from(const json& j) {
    if (!j.is_object()) return make_error("layers is not an object");
    layer_set out;
    const auto base = j.find("base_checksum");
    if (base == j.end() || !base->is_number_unsigned() || base->get<std::uint64_t>() > UINT32_MAX)
        return make_error("layers: base_checksum is not an unsigned integer up to 4294967295");
    out.base_checksum = static_cast<std::uint32_t>(base->get<std::uint64_t>());
    const auto head = j.find("head");
    if (head == j.end()) return make_error("layers: missing head");
    auto h = layer_file_from(*head, "head");
    if (!h) return make_error(h.error_message());
    if (h->id == 0) return make_error("layers: head: id 0 names no file");
    out.head = *h;
    const auto frozen = j.find("frozen");
    if (frozen == j.end() || !frozen->is_array())
        return make_error("layers: frozen is not an array");
    if (frozen->size() >= 64) return make_error("layers: more frozen generations than 63");
    std::vector<std::uint64_t> ids{out.head.id};
    for (const auto& e : *frozen) {
        auto f = layer_file_from(e, "frozen");
        if (!f) return make_error(f.error_message());
        if (f->id != 0) {
            // Two entries naming one file would let one file stand for two generations.
            if (std::find(ids.begin(), ids.end(), f->id) != ids.end())
                return make_error("layers: file id " + std::to_string(f->id) + " listed twice");
            ids.push_back(f->id);
        }
        out.frozen.push_back(*f);
    }
    return out;
}

// Reads one entry; an error names the first bad field.
result<tracker_meta> entry_from(const std::string& map_key, const json& j) {
    if (!j.is_object()) return make_error("not an object");
    tracker_meta m;
    auto str = [&](const char* name, bool required, std::string& out) -> status {
        const auto it = j.find(name);
        if (it == j.end())
            return required ? status(make_error(std::string("missing ") + name)) : status{};
        if (!it->is_string()) return make_error(std::string(name) + " is not a string");
        out = it->get<std::string>();
        return {};
    };
    auto num = [&](const char* name, bool required, std::uint64_t max,
                   std::uint64_t& out) -> status {
        const auto it = j.find(name);
        if (it == j.end())
            return required ? status(make_error(std::string("missing ") + name)) : status{};
        if (!it->is_number_unsigned() || it->get<std::uint64_t>() > max)
            return make_error(std::string(name) + " is not an unsigned integer up to " +
                              std::to_string(max));
        out = it->get<std::uint64_t>();
        return {};
    };
    auto time = [&](const char* name, bool required, sys_tp& out) -> status {
        std::string text;
        if (auto st = str(name, required, text); !st || text.empty()) return st;
        auto t = parse_rfc3339(text);
        if (!t) return make_error(std::string(name) + ": " + t.error_message());
        out = *t;
        return {};
    };
    std::uint64_t checksum = 0, prev = 0, format = 0, generations = 0;
    std::string window;
    for (status st :
         {str("key", true, m.key), str("hash", true, m.hash),
          num("count", true, UINT64_MAX, m.count), time("last_updated", true, m.last_updated),
          time("last_saved", false, m.last_saved), time("created_at", false, m.created_at),
          num("checksum", true, UINT32_MAX, checksum),
          num("size_bytes", true, UINT64_MAX, m.size_bytes),
          num("previous_checksum", false, UINT32_MAX, prev),
          num("format", false, UINT32_MAX, format),
          num("generations", false, UINT32_MAX, generations), str("window", false, window),
          time("window_start", false, m.window_start),
          num("memory_bytes", false, UINT64_MAX, m.memory_bytes)}) {
        if (!st) return make_error(st.error_message());
    }
    if (m.key != map_key) return make_error("key \"" + m.key + "\" differs from its index entry");
    m.checksum = static_cast<std::uint32_t>(checksum);
    if (j.contains("previous_checksum")) m.previous_checksum = static_cast<std::uint32_t>(prev);
    m.format = static_cast<std::uint32_t>(format);
    m.generations = static_cast<std::uint32_t>(generations);
    if (const auto it = j.find("compressed"); it != j.end()) {
        if (!it->is_boolean()) return make_error("compressed is not a boolean");
        m.compressed = it->get<bool>();
    }
    if (!window.empty()) {
        auto w = parse_duration(window);
        if (!w) return make_error("window: " + w.error_message());
        m.window = *w;
    }
    if (const auto it = j.find("increments"); it != j.end()) {
        if (!it->is_array()) return make_error("increments is not an array");
        for (const auto& e : *it) {
            auto field = [&](const char* name, std::uint64_t max, std::uint64_t& out) -> status {
                const auto f = e.is_object() ? e.find(name) : e.end();
                if (f == e.end() || !f->is_number_unsigned() || f->get<std::uint64_t>() > max)
                    return make_error(std::string("increments: ") + name +
                                      " is not an unsigned integer up to " + std::to_string(max));
                out = f->get<std::uint64_t>();
                return {};
            };
            increment_meta inc;
            std::uint64_t base = 0, crc = 0;
            for (status st :
                 {field("seq", UINT64_MAX, inc.seq), field("base_checksum", UINT32_MAX, base),
                  field("checksum", UINT32_MAX, crc),
                  field("size_bytes", UINT64_MAX, inc.size_bytes)})
                if (!st) return make_error(st.error_message());
            inc.base_checksum = static_cast<std::uint32_t>(base);
            inc.checksum = static_cast<std::uint32_t>(crc);
            if (const auto c = e.find("compressed"); c != e.end()) {
                if (!c->is_boolean()) return make_error("increments: compressed is not a boolean");
                inc.compressed = c->get<bool>();
            }
            for (const auto& earlier : m.increments)
                if (earlier.base_checksum == inc.base_checksum && earlier.seq >= inc.seq)
                    return make_error("increments: seq " + std::to_string(inc.seq) +
                                      " is not after " + std::to_string(earlier.seq) +
                                      " of the same base");
            m.increments.push_back(inc);
        }
    }
    if (const auto it = j.find("layers"); it != j.end()) {
        auto layers = layers_from(*it);
        if (!layers) return make_error(layers.error_message());
        m.layers = std::move(*layers);
    }
    return m;
}

}  // namespace

std::string to_json(const meta_index& index) {
    json trackers = json::object();
    for (const auto& [key, m] : index.trackers) trackers[key] = entry_json(m);
    return json{{"version", k_meta_version}, {"trackers", std::move(trackers)}}.dump(2) + "\n";
}

meta_parse_result parse_meta(std::string_view text) {
    meta_parse_result out;
    const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
        out.problem = meta_problem::malformed;
        out.message = "meta.json is not valid JSON";
        return out;
    }
    if (!j.is_object()) {
        out.problem = meta_problem::malformed;
        out.message = "meta.json is not a JSON object";
        return out;
    }
    const auto v = j.find("version");
    if (v == j.end() || !v->is_number_integer()) {
        out.problem = meta_problem::malformed;
        out.message = "meta.json has no integer \"version\"";
        return out;
    }
    out.version = v->get<int>();
    if (out.version != k_meta_version) {
        out.problem = meta_problem::version_unsupported;
        out.message = "meta.json version " + std::to_string(out.version) +
                      " is not supported (this build reads " + std::to_string(k_meta_version) + ")";
        return out;
    }
    const auto t = j.find("trackers");
    if (t == j.end() || !t->is_object()) {
        out.problem = meta_problem::malformed;
        out.message = "meta.json has no \"trackers\" object";
        return out;
    }
    for (const auto& [key, entry] : t->items()) {
        if (auto st = validate_key(key); !st) {
            out.bad_entries[key] = st.error_message();
            continue;
        }
        auto m = entry_from(key, entry);
        if (!m) {
            out.bad_entries[key] = m.error_message();
            continue;
        }
        out.index.trackers.emplace(key, std::move(*m));
    }
    return out;
}

status validate_key(std::string_view key) {
    if (key.empty()) return make_error("empty tracker key");
    if (key.size() > 4096) return make_error("tracker key longer than 4096 bytes");
    if (key.find("..") != std::string_view::npos) return make_error("tracker key contains \"..\"");
    for (const char c : key) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '/' || c == '\\') return make_error("tracker key contains a path separator");
        if (u < 0x20 || u == 0x7f)
            return make_error("tracker key contains a control character or NUL");
    }
    return {};
}

std::string format_rfc3339(sys_tp t) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    long frac = static_cast<long>(ms % 1000);
    if (frac < 0) frac += 1000, --secs;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::string out = buf;
    if (frac != 0) {
        char f[8];
        std::snprintf(f, sizeof f, ".%03ld", frac);
        out += f;
    }
    return out + "Z";
}

result<sys_tp> parse_rfc3339(std::string_view text) {
    std::tm tm{};
    const std::string s(text);
    const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == nullptr)
        return make_error("\"" + s + "\" is not an RFC 3339 time like 2024-01-15T10:30:00Z");
    std::int64_t nanos = 0;
    if (*end == '.') {
        ++end;
        std::int64_t scale = 100000000;
        int digits = 0;
        while (*end >= '0' && *end <= '9') {
            if (digits++ < 9) nanos += (*end - '0') * scale, scale /= 10;
            ++end;
        }
        if (digits == 0) return make_error("\"" + s + "\": fraction without digits");
    }
    std::int64_t offset = 0;
    if (*end == 'Z') {
        ++end;
    } else if (*end == '+' || *end == '-') {
        int hh = 0, mm = 0;
        const std::string_view rest(end);
        if (rest.size() < 6 || rest[3] != ':' || std::sscanf(end + 1, "%2d:%2d", &hh, &mm) != 2)
            return make_error("\"" + s + "\": bad UTC offset");
        offset = (*end == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
        end += 6;
    } else {
        return make_error("\"" + s + "\": missing time zone (Z or +hh:mm)");
    }
    if (*end != '\0') return make_error("\"" + s + "\": unexpected text after the time");
    const std::time_t secs = timegm(&tm) - offset;
    // The clock counts nanoseconds since 1970 in 64 bits (up to 2262): a later time would
    // overflow in the conversion, an earlier one in the ages computed from it (now - time), and
    // either can only come from a damaged or hand-edited file.
    constexpr std::int64_t k_max_secs = std::numeric_limits<std::int64_t>::max() / 1000000000 - 1;
    if (secs < 0 || secs > k_max_secs)
        return make_error("\"" + s + "\": outside the years 1970 to 2262");
    return sys_tp(std::chrono::duration_cast<sys_tp::duration>(std::chrono::seconds(secs) +
                                                               std::chrono::nanoseconds(nanos)));
}

}  // namespace mg::persistence
