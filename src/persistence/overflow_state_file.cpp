// The overflow fold state file (see overflow_state_file.h).
#include "persistence/overflow_state_file.h"

#include <bit>

#include "persistence/byte_io.h"
#include "persistence/tracker_codec.h"

namespace mg::persistence {

namespace {

constexpr std::string_view k_magic = "MGOVFL";
// 2 added each series' OTLP unit (after its explicit-histogram folds); a version 1 file, which
// has none, is still read (units empty).
constexpr std::uint16_t k_version = 2;
constexpr std::uint16_t k_oldest_version = 1;
// Inflated size bound: a store at its bounds (100000 overflow series) of small folds, or a few
// large ones; past it the file is refused rather than read into memory.
constexpr std::uint64_t k_max_inflated = 1ull << 30;
constexpr std::uint64_t k_max_file = 512ull << 20;

void put_string(detail::writer& w, std::string_view s) {
    w.put(static_cast<std::uint32_t>(s.size()));
    w.bytes(s);
}

bool get_string(detail::reader& r, std::string& out) {
    std::uint32_t n = 0;
    std::string_view v;
    if (!r.get(n) || !r.bytes(n, v)) return false;
    out.assign(v);
    return true;
}

// A count read from the file, checked against the bytes left (each item takes at least
// `item_bytes`), so a corrupt count cannot make a huge allocation.
bool get_count(detail::reader& r, std::size_t item_bytes, std::uint32_t& n) {
    return r.get(n) && static_cast<std::uint64_t>(n) * item_bytes <= r.left();
}

void put_double(detail::writer& w, double v) {
    w.put(std::bit_cast<std::uint64_t>(v));
}

void put_buckets(detail::writer& w, const std::vector<histogram_bucket>& b) {
    w.put(static_cast<std::uint32_t>(b.size()));
    for (const auto& x : b) {
        w.put(x.index);
        put_double(w, x.count);
    }
}

void put_native(detail::writer& w, const native_histogram& h) {
    w.put(h.schema);
    for (double v : {h.zero_threshold, h.zero_count, h.count, h.sum}) put_double(w, v);
    put_buckets(w, h.positive);
    put_buckets(w, h.negative);
}

void put_doubles(detail::writer& w, const std::vector<double>& v) {
    w.put(static_cast<std::uint32_t>(v.size()));
    for (double x : v) put_double(w, x);
}

void put_explicit(detail::writer& w, const explicit_histogram& h) {
    put_doubles(w, h.bounds);
    put_doubles(w, h.bucket_counts);
    put_double(w, h.count);
    put_double(w, h.sum);
}

void put_series(detail::writer& w, const overflow::series_state& s) {
    put_string(w, s.key);
    put_string(w, s.tenant);
    put_string(w, s.metric_name);
    w.put(static_cast<std::uint32_t>(s.labels.size()));
    for (const auto& [n, v] : s.labels) {
        put_string(w, n);
        put_string(w, v);
    }
    w.put(static_cast<std::uint8_t>(s.kind));
    w.put(static_cast<std::uint8_t>(s.delta ? 1 : 0));
    w.put(static_cast<std::uint8_t>(s.zero_emitted ? 1 : 0));
    w.put(static_cast<std::uint8_t>(s.aggregation));
    for (auto v : {s.interval_ms, s.last_fold_ms, s.first_ts, s.newest_ts, s.last_emit_ms})
        w.put(v);
    w.put(s.max_tracked);
    w.put(std::bit_cast<std::uint64_t>(s.total));
    w.put(std::bit_cast<std::uint64_t>(s.emitted_total));
    w.put(s.gauge_last_series);
    w.put(static_cast<std::uint32_t>(s.counter_last.size()));
    for (const auto& [id, v] : s.counter_last) {
        w.put(id);
        w.put(std::bit_cast<std::uint64_t>(v));
    }
    w.put(static_cast<std::uint32_t>(s.gauge_latest.size()));
    for (const auto& [id, v] : s.gauge_latest) {
        w.put(id);
        w.put(std::bit_cast<std::uint64_t>(v.value));
        w.put(v.timestamp_ms);
    }
    w.put(static_cast<std::uint8_t>((s.from_otlp ? 1 : 0) | (s.histogram_has_layout ? 2 : 0) |
                                    (s.explicit_has_bounds ? 4 : 0)));
    put_native(w, s.histogram_total);
    w.put(static_cast<std::uint32_t>(s.histogram_last.size()));
    for (const auto& [id, h] : s.histogram_last) {
        w.put(id);
        put_native(w, h);
    }
    put_explicit(w, s.explicit_total);
    w.put(static_cast<std::uint32_t>(s.explicit_last.size()));
    for (const auto& [id, h] : s.explicit_last) {
        w.put(id);
        put_explicit(w, h);
    }
    put_string(w, s.unit);
}

bool get_double(detail::reader& r, double& out) {
    std::uint64_t bits = 0;
    if (!r.get(bits)) return false;
    out = std::bit_cast<double>(bits);
    return true;
}

// What the folds take for granted (sorted unique bucket indexes, bounds increasing, one count
// per bucket), checked so that a crafted file cannot break them; the CRC catches accidents.
bool get_buckets(detail::reader& r, std::vector<histogram_bucket>& out) {
    std::uint32_t n = 0;
    if (!get_count(r, 12, n)) return false;
    out.resize(n);
    for (std::uint32_t i = 0; i < n; ++i) {
        if (!r.get(out[i].index) || !get_double(r, out[i].count)) return false;
        if (i > 0 && out[i].index <= out[i - 1].index) return false;
    }
    return true;
}

bool get_native(detail::reader& r, native_histogram& h) {
    return r.get(h.schema) && get_double(r, h.zero_threshold) && get_double(r, h.zero_count) &&
           get_double(r, h.count) && get_double(r, h.sum) && get_buckets(r, h.positive) &&
           get_buckets(r, h.negative) && h.schema >= -4 && h.schema <= 8;
}

bool get_doubles(detail::reader& r, std::vector<double>& out) {
    std::uint32_t n = 0;
    if (!get_count(r, 8, n)) return false;
    out.resize(n);
    for (auto& v : out)
        if (!get_double(r, v)) return false;
    return true;
}

bool get_explicit(detail::reader& r, explicit_histogram& h) {
    if (!get_doubles(r, h.bounds) || !get_doubles(r, h.bucket_counts) || !get_double(r, h.count) ||
        !get_double(r, h.sum))
        return false;
    if (!h.bucket_counts.empty() && h.bucket_counts.size() != h.bounds.size() + 1) return false;
    for (std::size_t i = 1; i < h.bounds.size(); ++i)
        if (!(h.bounds[i] > h.bounds[i - 1])) return false;
    return true;
}

bool get_series(detail::reader& r, overflow::series_state& s, std::uint16_t version) {
    std::uint32_t n = 0;
    if (!get_string(r, s.key) || !get_string(r, s.tenant) || !get_string(r, s.metric_name) ||
        !get_count(r, 8, n))
        return false;
    s.labels.resize(n);
    for (auto& [name, value] : s.labels)
        if (!get_string(r, name) || !get_string(r, value)) return false;
    std::uint8_t kind = 0, delta = 0, zero = 0, aggregation = 0;
    if (!r.get(kind) || !r.get(delta) || !r.get(zero) || !r.get(aggregation)) return false;
    if (kind > static_cast<std::uint8_t>(overflow::fold_kind::summary) ||
        aggregation > static_cast<std::uint8_t>(overflow::gauge_aggregation::last) || delta > 1 ||
        zero > 1)
        return false;
    s.kind = static_cast<overflow::fold_kind>(kind);
    s.delta = delta == 1;
    s.zero_emitted = zero == 1;
    s.aggregation = static_cast<overflow::gauge_aggregation>(aggregation);
    for (auto* v : {&s.interval_ms, &s.last_fold_ms, &s.first_ts, &s.newest_ts, &s.last_emit_ms})
        if (!r.get(*v)) return false;
    if (!r.get(s.max_tracked) || !get_double(r, s.total) || !get_double(r, s.emitted_total) ||
        !r.get(s.gauge_last_series))
        return false;
    if (s.interval_ms <= 0 || s.max_tracked == 0) return false;
    if (!get_count(r, 16, n)) return false;
    s.counter_last.resize(n);
    for (auto& [id, v] : s.counter_last)
        if (!r.get(id) || !get_double(r, v)) return false;
    if (!get_count(r, 24, n)) return false;
    s.gauge_latest.resize(n);
    for (auto& [id, v] : s.gauge_latest)
        if (!r.get(id) || !get_double(r, v.value) || !r.get(v.timestamp_ms)) return false;
    std::uint8_t flags = 0;
    if (!r.get(flags) || flags > 7) return false;
    s.from_otlp = (flags & 1) != 0;
    s.histogram_has_layout = (flags & 2) != 0;
    s.explicit_has_bounds = (flags & 4) != 0;
    if (!get_native(r, s.histogram_total) || !get_count(r, 52, n)) return false;
    s.histogram_last.resize(n);
    for (auto& [id, h] : s.histogram_last)
        if (!r.get(id) || !get_native(r, h)) return false;
    if (!get_explicit(r, s.explicit_total) || !get_count(r, 32, n)) return false;
    s.explicit_last.resize(n);
    for (auto& [id, h] : s.explicit_last)
        if (!r.get(id) || !get_explicit(r, h)) return false;
    return version < 2 || get_string(r, s.unit);
}

std::string path_in(const std::string& dir) {
    return dir + "/" + std::string(k_overflow_state_file);
}

}  // namespace

std::string encode_overflow_state(const std::vector<overflow::series_state>& state) {
    std::string out;
    detail::writer w(out);
    w.bytes(k_magic);
    w.put(k_version);
    w.put(static_cast<std::uint32_t>(state.size()));
    for (const auto& s : state) put_series(w, s);
    w.put(crc32_of(out));
    return out;
}

result<std::vector<overflow::series_state>> decode_overflow_state(std::string_view bytes) {
    if (bytes.size() < k_magic.size() + 2 + 4 + 4 || bytes.substr(0, k_magic.size()) != k_magic)
        return make_error("not an overflow state file (bad magic)");
    const auto body = bytes.substr(0, bytes.size() - 4);
    std::uint32_t crc = 0;
    detail::reader tail(bytes.substr(bytes.size() - 4));
    (void)tail.get(crc);
    if (crc != crc32_of(body)) return make_error("checksum mismatch (a torn or altered file)");
    detail::reader r(body.substr(k_magic.size()));
    std::uint16_t version = 0;
    std::uint32_t n = 0;
    if (!r.get(version) || version < k_oldest_version || version > k_version)
        return make_error("unsupported version " + std::to_string(version) + " (this build reads " +
                          std::to_string(k_oldest_version) + " to " + std::to_string(k_version) +
                          ")");
    if (!get_count(r, 16, n)) return make_error("truncated series count");
    std::vector<overflow::series_state> out(n);
    for (std::uint32_t i = 0; i < n; ++i)
        if (!get_series(r, out[i], version))
            return make_error("series " + std::to_string(i) + " is truncated or invalid");
    if (r.left() != 0) return make_error("trailing bytes after the last series");
    return out;
}

result<std::uint64_t> save_overflow_state(file_system& fs, const std::string& dir,
                                          const std::vector<overflow::series_state>& state) {
    auto gz = gzip_compress(encode_overflow_state(state), 1);
    if (!gz.ok()) return make_error(gz.error_message());
    if (auto st = write_file_atomic(fs, path_in(dir), *gz, 0600); !st)
        return make_error(st.error_message());
    return static_cast<std::uint64_t>(gz->size());
}

result<overflow_state_load> load_overflow_state(file_system& fs, const std::string& dir) {
    overflow_state_load out;
    auto listing = fs.list_dir(dir);
    if (!listing.ok()) return make_error(listing.error_message());
    bool present = false;
    for (const auto& e : *listing) present = present || e.name == k_overflow_state_file;
    if (!present) return out;
    const auto path = path_in(dir);
    auto refuse = [&](const std::string& why) -> result<overflow_state_load> {
        // Kept for a look (and for a later build that might read it), out of the next start's way.
        const auto aside = fs.rename(path, path + ".corrupt");
        return make_error(path + ": " + why +
                          (aside ? "; kept as " + path + ".corrupt"
                                 : "; could not be set aside: " + aside.error_message()));
    };
    auto bytes = fs.read_file(path, k_max_file);
    if (!bytes.ok()) return refuse(bytes.error_message());
    auto raw = gzip_decompress(*bytes, k_max_inflated);
    if (!raw.ok()) return refuse(raw.error_message());
    auto state = decode_overflow_state(*raw);
    if (!state.ok()) return refuse(state.error_message());
    out.found = true;
    out.state = std::move(*state);
    if (auto st = fs.remove(path); !st)
        return make_error(path + ": read, but could not be removed (" + st.error_message() +
                          "); refusing it, since a later start would take it back again");
    return out;
}

}  // namespace mg::persistence
