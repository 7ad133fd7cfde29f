#include "protocol/remote_write.h"

#include <algorithm>
#include <cstring>

#include "cardinality/series_hash.h"

namespace mg::protocol {

namespace {

constexpr std::string_view k_name_label = "__name__";

// Field numbers, from prompb/remote.proto + types.proto (1.0) and io/prometheus/write/v2.
namespace v1 {
constexpr std::uint32_t req_timeseries = 1, req_metadata = 3;
constexpr std::uint32_t ts_labels = 1, ts_samples = 2, ts_exemplars = 3, ts_histograms = 4;
constexpr std::uint32_t label_name = 1, label_value = 2;
constexpr std::uint32_t sample_value = 1, sample_timestamp = 2;
constexpr std::uint32_t exemplar_labels = 1;
constexpr std::uint32_t md_type = 1, md_family = 2, md_help = 4, md_unit = 5;
}  // namespace v1
namespace v2 {
constexpr std::uint32_t req_symbols = 4, req_timeseries = 5;
constexpr std::uint32_t ts_labels_refs = 1, ts_samples = 2, ts_histograms = 3, ts_exemplars = 4,
                        ts_metadata = 5;
constexpr std::uint32_t exemplar_labels_refs = 1;
constexpr std::uint32_t md_type = 1, md_help_ref = 3, md_unit_ref = 4;
}  // namespace v2

// Builds failure messages; only ever called on the error path.
struct failer {
    const char* proto;  // "remote write 1.0"
    std::size_t series = static_cast<std::size_t>(-1);

    decode_status operator()(const std::string& what) const {
        std::string m = proto;
        if (series != static_cast<std::size_t>(-1)) m += ": timeseries " + std::to_string(series);
        m += ": ";
        m += what;
        return decode_status::malformed(std::move(m));
    }
    decode_status wire(const wire_reader& r, const char* where) const {
        return (*this)(std::string(where) + ": " + r.error() + " at offset " +
                       std::to_string(r.error_offset()));
    }
    decode_status type(const wire_field& f, const char* field, wire_type want) const {
        return (*this)(std::string(field) + " (field " + std::to_string(f.number) +
                       ") has wire type " + wire_type_name(f.type) + ", want " +
                       wire_type_name(want));
    }
};

std::string quoted(std::string_view s) {
    std::string q = "\"";
    q.append(s.substr(0, 128));
    if (s.size() > 128) q += "...";
    q += '"';
    return q;
}

// Sample { double value = 1; int64 timestamp = 2; } (same numbers in 1.0 and 2.0)
decode_status check_sample(bytes_view payload, const failer& fail) {
    wire_reader r(payload);
    wire_field f;
    while (r.next(f)) {
        if (f.number == v1::sample_value && f.type != wire_type::i64) {
            return fail.type(f, "Sample.value", wire_type::i64);
        }
        if (f.number == v1::sample_timestamp && f.type != wire_type::varint) {
            return fail.type(f, "Sample.timestamp", wire_type::varint);
        }
    }
    if (r.error() != nullptr) return fail.wire(r, "Sample");
    return decode_status::success();
}

decode_status check_len(const wire_field& f, const char* name, const failer& fail) {
    if (f.type != wire_type::len) return fail.type(f, name, wire_type::len);
    return decode_status::success();
}

// Label { string name = 1; string value = 2; }
decode_status read_label(bytes_view payload, label_view& out, const failer& fail) {
    out = {};
    wire_reader r(payload);
    wire_field f;
    while (r.next(f)) {
        if (f.number == v1::label_name || f.number == v1::label_value) {
            if (f.type != wire_type::len) return fail.type(f, "Label", wire_type::len);
            (f.number == v1::label_name ? out.name : out.value) = f.bytes;
        }
    }
    if (r.error() != nullptr) return fail.wire(r, "Label");
    return decode_status::success();
}

// The canonical encoding of a Label (name then value, both shorter than 128 bytes), parsed
// without the generic reader; anything else goes through read_label.
inline bool read_label_fast(bytes_view p, label_view& out) {
    const auto* s = reinterpret_cast<const unsigned char*>(p.data());
    const std::size_t n = p.size();
    if (n < 4 || s[0] != 0x0a) return false;
    const std::size_t ln = s[1];
    if (ln >= 0x80 || ln + 4 > n || s[ln + 2] != 0x12) return false;
    const std::size_t vn = s[ln + 3];
    if (vn >= 0x80 || ln + vn + 4 != n) return false;
    out.name = bytes_view(p.data() + 2, ln);
    out.value = bytes_view(p.data() + 4 + ln, vn);
    return true;
}

decode_status check_label_text(const label_view& l, const failer& fail) {
    if (l.name.empty()) return fail("empty label name");
    if (!valid_utf8(l.name)) return fail("invalid UTF-8 in label name " + quoted(l.name));
    if (!valid_utf8(l.value)) {
        return fail("invalid UTF-8 in the value of label " + quoted(l.name));
    }
    return decode_status::success();
}

// Tracks wire order and the __name__ label while a series' labels are collected.
struct label_collector {
    std::string_view prev;
    bool first = true;
    bool sorted = true;
    bool have_name = false;

    decode_status add(const label_view& l, series_entry& e, series_batch& out, const failer& fail) {
        if (!first && l.name <= prev) sorted = false;
        first = false;
        prev = l.name;
        if (l.name == k_name_label) {
            if (have_name) return fail("duplicate label name \"__name__\"");
            have_name = true;
            e.metric_name = l.value;
        } else {
            out.push_label(l);
        }
        return decode_status::success();
    }

    decode_status finish(series_entry& e, series_batch& out, const failer& fail) const {
        std::span<label_view> ls = out.labels_since(e.label_begin);
        e.label_count = static_cast<std::uint32_t>(ls.size());
        std::string_view dup;
        if (!sorted && !normalize_labels(ls, false, dup)) {
            return fail("duplicate label name " + quoted(dup));
        }
        e.wire_labels_unsorted = !sorted;
        return decode_status::success();
    }
};

inline std::uint64_t load_le64(const char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}
inline std::uint32_t load_le32(const char* p) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// The high bit of every byte in [p, p + n), ORed into one word: zero iff all bytes are ASCII.
// Overlapping word loads, no byte loop.
inline std::uint64_t high_bits(const char* p, std::size_t n) {
    std::uint64_t acc = 0;
    if (n >= 8) {
        acc = load_le64(p + n - 8);
        std::size_t i = 0;
        for (; i + 16 < n; i += 16) acc |= load_le64(p + i) | load_le64(p + i + 8);
        if (i + 8 < n) acc |= load_le64(p + i);
    } else if (n >= 4) {
        acc = load_le32(p) | load_le32(p + n - 4);
    } else {
        for (std::size_t i = 0; i < n; ++i) acc |= static_cast<unsigned char>(p[i]);
    }
    return acc & 0x8080808080808080ULL;
}

// The first 8 bytes of a label name as a big-endian number, zero-padded: comparing two keys
// compares the names on those bytes. `limit` bounds the readable buffer (the name is followed
// by the rest of its Label, so a whole-word load almost always fits).
inline std::uint64_t name_key(const char* p, std::size_t n, const char* limit) {
    std::uint64_t k = 0;
    if (limit - p >= 8) {
        k = __builtin_bswap64(load_le64(p));
        if (n < 8) k &= ~std::uint64_t{0} << (8 * (8 - n));
    } else {
        for (std::size_t i = 0; i < 8; ++i)
            k = (k << 8) | (i < n ? static_cast<unsigned char>(p[i]) : 0U);
    }
    return k;
}

// Byte-wise a > b: on the first 8 bytes as keys, then (a tie there) on all bytes. `limit`
// bounds the buffer a's bytes are read from; b is the previous label of the same series.
inline bool name_after(std::string_view a, std::string_view b, const char* limit) {
    const std::uint64_t ka = name_key(a.data(), a.size(), limit);
    const std::uint64_t kb = name_key(b.data(), b.size(), limit);
    if (ka != kb) return ka > kb;
    const std::size_t n = std::min(a.size(), b.size());
    const int c = std::memcmp(a.data(), b.data(), n);
    return c != 0 ? c > 0 : a.size() > b.size();
}

inline bool is_name_label(const char* p, std::size_t n) {
    static_assert(k_name_label.size() == 8);
    return n == 8 && load_le64(p) == load_le64(k_name_label.data());
}

// Whether [p, end) is exactly one well-formed varint (the value is not needed). Up to 8 bytes
// with one word load when the buffer (bounded by `limit`) allows: every byte but the last has
// its continuation bit, the last does not.
inline bool varint_spans(const char* p, const char* end, const char* limit) {
    const auto n = static_cast<std::size_t>(end - p);
    if (n - 1 < 8 && limit - p >= 8) {
        const std::uint64_t cont = load_le64(p) & 0x8080808080808080ULL;
        const std::uint64_t keep = n == 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * n)) - 1;
        const std::uint64_t want = 0x8080808080808080ULL & (keep >> 8);
        return (cont & keep) == want;
    }
    std::uint64_t v = 0;
    const char* q = p;
    return read_varint(q, end, v) == varint_status::ok && q == end;
}

// Fast path for a TimeSeries in the shape every known sender produces: single-byte keys for
// fields 1-4, canonical Label messages (name, then value, each shorter than 128 bytes),
// canonical Samples, valid UTF-8, no duplicate __name__. Returns false, with nothing committed, on
// anything else; the generic decoder then runs and produces the result or the precise error.
// `limit` is the end of the body: bytes past the series up to it may be read (never used), which
// saves bounds checks.
//
// Per label it does the least that keeps the result exact: the Label framing is checked with
// fixed-offset byte tests, wire order on the first byte of the names (8-byte keys, then the
// bytes, only on a tie), and UTF-8 once per series: the label fields, contiguous as every sender
// writes them, are one run of bytes whose framing is all below 0x80 (for Labels under 128 bytes),
// so one ASCII test of the run covers every name and value; a series with a byte >= 0x80 there
// (non-ASCII text or a longer Label), or with its labels scattered between other fields, gets
// the full UTF-8 check per name and value.
bool decode_v1_series_fast(const wire_field& field, const char* limit, series_batch& out) {
    const std::uint32_t mark = out.label_mark();
    series_entry e;
    e.raw = field.raw;
    e.label_begin = mark;
    const char* p = field.bytes.data();
    const char* const end = p + field.bytes.size();
    std::string_view prev;
    const char* run_begin = nullptr;  // the contiguous run of label fields
    const char* run_end = nullptr;
    bool scattered = false;
    bool sorted = true;
    bool have_name = false;
    bool name_first = false;  // the first label field is __name__
    bool minimal = true;      // every label length is a minimal varint (as the canonical encoding)
    auto give_up = [&] {
        out.truncate_labels(mark);
        return false;
    };
    while (p < end) {
        const auto tag = static_cast<unsigned char>(*p);
        if (tag == 0x0a) {
            // Label field: 0x0a len, then the Label: 0x0a ln name 0x12 vn value.
            const char* q = p + 1;
            std::uint64_t len = 0;
            if (q != end && static_cast<unsigned char>(*q) < 0x80) {
                len = static_cast<unsigned char>(*q++);
            } else if (read_varint(q, end, len) != varint_status::ok) {
                return give_up();
            } else {
                // A padded varint (a last byte of 0) is valid protobuf but not the canonical
                // encoding: such a series is hashed from its views, not its bytes.
                minimal = minimal && q[-1] != 0;
            }
            if (len > static_cast<std::uint64_t>(end - q) || len < 4) return give_up();
            const auto* s = reinterpret_cast<const unsigned char*>(q);
            const std::size_t ln = s[1];
            if (s[0] != 0x0a || ln == 0 || ln >= 0x80 || ln + 4 > len || s[ln + 2] != 0x12)
                return give_up();
            const std::size_t vn = s[ln + 3];
            if (vn >= 0x80 || ln + vn + 4 != len) return give_up();
            if (p != run_end) {
                scattered = run_begin != nullptr;
                run_begin = p;
            }
            run_end = q + len;
            const char* name = q + 2;
            if (!prev.empty() &&
                static_cast<unsigned char>(*name) <= static_cast<unsigned char>(prev[0]) &&
                !name_after({name, ln}, prev, limit))
                sorted = false;
            const bool first = prev.empty();
            prev = {name, ln};
            if (is_name_label(name, ln)) {
                if (have_name) return give_up();
                have_name = true;
                name_first = first;
                e.metric_name = {q + ln + 4, vn};
            } else {
                out.push_label(label_view{{name, ln}, {q + ln + 4, vn}});
            }
            p = q + len;
            continue;
        }
        ++p;
        std::uint64_t len = 0;
        if (read_varint(p, end, len) != varint_status::ok ||
            len > static_cast<std::uint64_t>(end - p)) {
            return give_up();
        }
        const char* const payload = p;
        p += len;
        switch (tag) {
            case 0x12: {
                // Sample: 0x09 + 8 bytes of value, then optionally 0x10 + varint timestamp.
                const auto* s = reinterpret_cast<const unsigned char*>(payload);
                bool ok = len == 0 || (len >= 9 && s[0] == 0x09);
                if (ok && len > 9) ok = s[9] == 0x10 && varint_spans(payload + 10, p, limit);
                if (!ok) return give_up();
                ++e.samples;
                break;
            }
            case 0x1a:
                ++e.exemplars;
                break;
            case 0x22:
                ++e.histograms;
                break;
            default:
                return give_up();
        }
    }
    std::span<label_view> ls = out.labels_since(mark);
    if (scattered || (run_begin != nullptr &&
                      high_bits(run_begin, static_cast<std::size_t>(run_end - run_begin)) != 0)) {
        // Some byte >= 0x80: non-ASCII text (checked exactly now) or nothing this path handles.
        if (!valid_utf8(e.metric_name)) return give_up();
        for (const label_view& l : ls)
            if (!valid_utf8(l.name) || !valid_utf8(l.value)) return give_up();
    }
    e.label_count = static_cast<std::uint32_t>(ls.size());
    if (!sorted) {
        std::string_view dup;
        if (!normalize_labels(ls, false, dup)) return give_up();
        e.wire_labels_unsorted = true;
    } else if (name_first && !scattered && minimal) {
        // One contiguous run of Label fields with minimal lengths, __name__ first, the rest
        // strictly sorted: these bytes are the canonical identity encoding (series_hash.h).
        e.has_identity = true;
        e.identity = cardinality::series_hash_canonical(run_begin, static_cast<std::size_t>(run_end - run_begin));
    }
    out.push_series(e);
    return true;
}

decode_status decode_v1_series(const wire_field& field, series_batch& out, const failer& fail) {
    series_entry e;
    e.raw = field.raw;
    e.label_begin = out.label_mark();
    label_collector lc;
    wire_reader r(field.bytes);
    wire_field f;
    while (r.next(f)) {
        switch (f.number) {
            case v1::ts_labels: {
                if (auto s = check_len(f, "TimeSeries.labels", fail); !s) return s;
                label_view l;
                if (!read_label_fast(f.bytes, l)) {
                    if (auto s = read_label(f.bytes, l, fail); !s) return s;
                }
                if (auto s = check_label_text(l, fail); !s) return s;
                if (auto s = lc.add(l, e, out, fail); !s) return s;
                break;
            }
            case v1::ts_samples:
                if (auto s = check_len(f, "TimeSeries.samples", fail); !s) return s;
                if (auto s = check_sample(f.bytes, fail); !s) return s;
                ++e.samples;
                break;
            case v1::ts_exemplars:
                if (auto s = check_len(f, "TimeSeries.exemplars", fail); !s) return s;
                ++e.exemplars;
                break;
            case v1::ts_histograms:
                if (auto s = check_len(f, "TimeSeries.histograms", fail); !s) return s;
                ++e.histograms;
                break;
            default:
                break;
        }
    }
    if (r.error() != nullptr) return fail.wire(r, "TimeSeries");
    if (auto s = lc.finish(e, out, fail); !s) return s;
    out.push_series(e);
    return decode_status::success();
}

// Emits the 1.0 Label messages of a series: __name__ at its sorted place among sorted labels,
// without the labels `strip` selects (bit j = labels[j]).
void write_v1_labels(wire_writer& w, std::string_view name, std::span<const label_view> labels,
                     std::uint64_t strip) {
    auto put = [&w](std::string_view n, std::string_view v) {
        const std::size_t t = w.begin_message(v1::ts_labels);
        w.bytes_field(v1::label_name, n);
        w.bytes_field(v1::label_value, v);
        w.end_message(t);
    };
    bool name_done = name.empty();
    for (std::size_t j = 0; j < labels.size(); ++j) {
        const label_view& l = labels[j];
        if (!name_done && k_name_label < l.name) {
            put(k_name_label, name);
            name_done = true;
        }
        if (j < 64 && ((strip >> j) & 1U) != 0) continue;
        put(l.name, l.value);
    }
    if (!name_done) put(k_name_label, name);
}

// Re-reads the single field that `raw` spans.
bool reopen(bytes_view raw, wire_field& f) {
    wire_reader r(raw);
    return r.next(f) && r.at_end();
}

decode_status changed_body() {
    return decode_status::malformed("remote write: batch source changed since decoding");
}

// Checks labels_refs of a 2.0 TimeSeries or Exemplar: even count, every ref in range.
struct refs_checker {
    std::size_t symbols;
    decode_status check(const wire_field& f, std::size_t& count, const failer& fail,
                        const char* what) const {
        auto check_one = [&](std::uint64_t ref) -> decode_status {
            if (ref >= symbols) {
                return fail(std::string(what) + " reference " + std::to_string(ref) +
                            " out of range (" + std::to_string(symbols) + " symbols)");
            }
            ++count;
            return decode_status::success();
        };
        if (f.type == wire_type::varint) return check_one(f.value);
        if (f.type != wire_type::len) return fail.type(f, what, wire_type::len);
        packed_varint_reader pr(f.bytes);
        std::uint64_t ref = 0;
        while (pr.next(ref)) {
            if (auto s = check_one(ref); !s) return s;
        }
        if (pr.failed()) return fail(std::string(what) + ": bad packed varint");
        return decode_status::success();
    }
};

// Visits every ref of a labels_refs field (packed or not). Only used on validated data.
template <typename F>
void for_each_ref(const wire_field& f, F&& fn) {
    if (f.type == wire_type::varint) {
        fn(static_cast<std::uint32_t>(f.value));
        return;
    }
    packed_varint_reader pr(f.bytes);
    std::uint64_t ref = 0;
    while (pr.next(ref)) fn(static_cast<std::uint32_t>(ref));
}

decode_status check_v2_exemplar(bytes_view payload, const refs_checker& rc, const failer& fail) {
    wire_reader r(payload);
    wire_field f;
    std::size_t refs = 0;
    while (r.next(f)) {
        if (f.number == v2::exemplar_labels_refs) {
            if (auto s = rc.check(f, refs, fail, "exemplar label"); !s) return s;
        }
    }
    if (r.error() != nullptr) return fail.wire(r, "Exemplar");
    if (refs % 2 != 0) return fail("exemplar labels_refs has an odd length");
    return decode_status::success();
}

decode_status check_v2_metadata(bytes_view payload, const refs_checker& rc, const failer& fail) {
    wire_reader r(payload);
    wire_field f;
    while (r.next(f)) {
        if (f.number == v2::md_type || f.number == v2::md_help_ref || f.number == v2::md_unit_ref) {
            if (f.type != wire_type::varint) return fail.type(f, "Metadata", wire_type::varint);
            if (f.number != v2::md_type && f.value >= rc.symbols) {
                return fail("metadata reference " + std::to_string(f.value) + " out of range (" +
                            std::to_string(rc.symbols) + " symbols)");
            }
        }
    }
    if (r.error() != nullptr) return fail.wire(r, "Metadata");
    return decode_status::success();
}

decode_status decode_v2_series(const wire_field& field, series_batch& out, const failer& fail) {
    const std::span<const std::string_view> symbols = out.symbols();
    const refs_checker rc{symbols.size()};
    series_entry e;
    e.raw = field.raw;
    e.label_begin = out.label_mark();
    label_collector lc;
    wire_reader r(field.bytes);
    wire_field f;
    std::size_t refs = 0;
    while (r.next(f)) {
        switch (f.number) {
            case v2::ts_labels_refs:
                if (auto s = rc.check(f, refs, fail, "label"); !s) return s;
                break;
            case v2::ts_samples:
                if (auto s = check_len(f, "TimeSeries.samples", fail); !s) return s;
                if (auto s = check_sample(f.bytes, fail); !s) return s;
                ++e.samples;
                break;
            case v2::ts_histograms:
                if (auto s = check_len(f, "TimeSeries.histograms", fail); !s) return s;
                ++e.histograms;
                break;
            case v2::ts_exemplars:
                if (auto s = check_len(f, "TimeSeries.exemplars", fail); !s) return s;
                if (auto s = check_v2_exemplar(f.bytes, rc, fail); !s) return s;
                ++e.exemplars;
                break;
            case v2::ts_metadata:
                if (auto s = check_len(f, "TimeSeries.metadata", fail); !s) return s;
                if (auto s = check_v2_metadata(f.bytes, rc, fail); !s) return s;
                break;
            default:
                break;
        }
    }
    if (r.error() != nullptr) return fail.wire(r, "TimeSeries");
    if (refs % 2 != 0) return fail("labels_refs has an odd length");
    // Second pass over the (already validated) refs to collect the pairs in order.
    wire_reader r2(field.bytes);
    bool have_name_ref = false;
    std::uint32_t name_ref = 0;
    decode_status st;
    while (st.ok() && r2.next(f)) {
        if (f.number != v2::ts_labels_refs) continue;
        for_each_ref(f, [&](std::uint32_t ref) {
            if (!st.ok()) return;
            if (!have_name_ref) {
                name_ref = ref;
                have_name_ref = true;
                return;
            }
            have_name_ref = false;
            const label_view l{symbols[name_ref], symbols[ref]};
            if (l.name.empty()) {
                st = fail("empty label name");
                return;
            }
            st = lc.add(l, e, out, fail);
        });
    }
    if (!st) return st;
    if (auto s = lc.finish(e, out, fail); !s) return s;
    out.push_series(e);
    return decode_status::success();
}

}  // namespace

decode_status decode_remote_write_v1(bytes_view body, series_batch& out) {
    out.reset(source_protocol::remote_write_v1, body);
    // Timeseries fields with a one-byte key go straight to the fast series decoder; the first
    // field of any other kind, or a series it does not take, hands the rest of the body to the
    // generic reader (which then decodes that series or names its problem).
    const char* p = body.data();
    const char* const end = p + body.size();
    wire_field f;
    f.number = v1::req_timeseries;
    f.type = wire_type::len;
    while (p != end && *p == 0x0a) {
        const char* q = p + 1;
        std::uint64_t len = 0;
        const auto* u = reinterpret_cast<const unsigned char*>(q);
        if (end - q >= 2 && u[0] >= 0x80 && u[1] < 0x80) {  // the usual 2-byte series length
            len = (u[0] & 0x7fU) | static_cast<std::uint64_t>(u[1]) << 7;
            q += 2;
        } else if (read_varint(q, end, len) != varint_status::ok) {
            break;
        }
        if (len > static_cast<std::uint64_t>(end - q)) break;
        f.value = len;
        f.bytes = bytes_view(q, static_cast<std::size_t>(len));
        f.raw = bytes_view(p, static_cast<std::size_t>(q + len - p));
        if (!decode_v1_series_fast(f, end, out)) break;
        p = q + len;
    }
    failer fail{"remote write 1.0"};
    wire_reader r(body, static_cast<std::size_t>(p - body.data()));
    while (r.next(f)) {
        if (f.number == v1::req_timeseries) {
            if (f.type == wire_type::len && decode_v1_series_fast(f, end, out)) continue;
            fail.series = out.size();
            if (auto s = check_len(f, "WriteRequest.timeseries", fail); !s) return s;
            if (auto s = decode_v1_series(f, out, fail); !s) return s;
            fail.series = static_cast<std::size_t>(-1);
        } else if (f.number == v1::req_metadata) {
            if (auto s = check_len(f, "WriteRequest.metadata", fail); !s) return s;
        }
    }
    if (r.error() != nullptr) return fail.wire(r, "WriteRequest");
    return decode_status::success();
}

decode_status decode_remote_write_v2(bytes_view body, series_batch& out) {
    out.reset(source_protocol::remote_write_v2, body);
    failer fail{"remote write 2.0"};
    std::vector<std::string_view>& symbols = out.mutable_symbols();
    // Symbols first: the wire does not promise they precede the timeseries.
    wire_reader r(body);
    wire_field f;
    while (r.next(f)) {
        if (f.number != v2::req_symbols) continue;
        if (auto s = check_len(f, "Request.symbols", fail); !s) return s;
        if (!valid_utf8(f.bytes)) {
            return fail("invalid UTF-8 in symbol " + std::to_string(symbols.size()));
        }
        symbols.push_back(f.bytes);
    }
    if (r.error() != nullptr) return fail.wire(r, "Request");
    if (!symbols.empty() && !symbols[0].empty()) {
        return fail("the first symbol must be the empty string, got " + quoted(symbols[0]));
    }
    wire_reader r2(body);
    while (r2.next(f)) {
        if (f.number != v2::req_timeseries) continue;
        fail.series = out.size();
        if (auto s = check_len(f, "Request.timeseries", fail); !s) return s;
        if (auto s = decode_v2_series(f, out, fail); !s) return s;
    }
    return decode_status::success();
}

// ---- remote_write_v1_writer ----

namespace {

void write_v1_metadata(wire_writer& w, std::uint64_t type, std::string_view family,
                       std::string_view help, std::string_view unit) {
    const std::size_t t = w.begin_message(v1::req_metadata);
    if (type != 0) w.varint_field(v1::md_type, type);
    w.bytes_field(v1::md_family, family);
    if (!help.empty()) w.bytes_field(v1::md_help, help);
    if (!unit.empty()) w.bytes_field(v1::md_unit, unit);
    w.end_message(t);
}

}  // namespace

decode_status remote_write_v1_writer::add_series(const series_batch& batch, std::size_t i,
                                                 std::uint64_t strip_mask) {
    const series_entry& e = batch.entry(i);
    if (strip_mask != 0) {
        if (auto s = check_strip_mask(batch, i, strip_mask); !s) return s;
    }
    wire_writer w(out_);
    if (batch.protocol() == source_protocol::remote_write_v1) {
        if (!e.wire_labels_unsorted && strip_mask == 0) {
            w.raw(e.raw);
            ++series_;
            return decode_status::success();
        }
        wire_field f;
        if (!reopen(e.raw, f)) return changed_body();
        const std::size_t t = w.begin_message(v1::req_timeseries);
        const std::span<const label_view> labels = batch[i].labels;
        if (e.wire_labels_unsorted) write_v1_labels(w, e.metric_name, labels, strip_mask);
        wire_reader r(f.bytes);
        wire_field g;
        while (r.next(g)) {
            if (g.number != v1::ts_labels) {
                w.raw(g.raw);
                continue;
            }
            if (e.wire_labels_unsorted) continue;  // written sorted above
            // Sorted on the wire: keep the remaining Label fields as they were. The mask indexes
            // the sorted view, so match by name (unique per series; the view never holds
            // __name__, so it is never removed).
            label_view l;
            if (!read_label_fast(g.bytes, l) &&
                !read_label(g.bytes, l, failer{"remote write 1.0"}).ok()) {
                w.cancel_message(t, v1::req_timeseries);
                return changed_body();
            }
            if (!strip_mask_removes(labels, strip_mask, l.name)) w.raw(g.raw);
        }
        if (r.error() != nullptr) {
            w.cancel_message(t, v1::req_timeseries);
            return changed_body();
        }
        w.end_message(t);
        ++series_;
        return decode_status::success();
    }
    if (batch.protocol() != source_protocol::remote_write_v2) {
        return decode_status::malformed("remote write 1.0 writer: source is not remote write");
    }
    const std::span<const std::string_view> symbols = batch.symbols();
    wire_field f;
    if (!reopen(e.raw, f)) return changed_body();
    const std::size_t t = w.begin_message(v1::req_timeseries);
    write_v1_labels(w, e.metric_name, batch[i].labels, strip_mask);
    wire_reader r(f.bytes);
    wire_field g;
    std::uint64_t md_type = 0;
    std::string_view md_help, md_unit;
    bool have_md = false;
    while (r.next(g)) {
        switch (g.number) {
            case v2::ts_samples:
                w.raw(g.raw);
                break;  // same field number in 1.0
            case v2::ts_histograms:
                w.bytes_field(v1::ts_histograms, g.bytes);
                break;
            case v2::ts_exemplars: {
                const std::size_t et = w.begin_message(v1::ts_exemplars);
                wire_reader er(g.bytes);
                wire_field x;
                std::uint32_t pending = 0;
                bool have = false;
                while (er.next(x)) {
                    if (x.number != v2::exemplar_labels_refs) {
                        w.raw(x.raw);  // value = 2, timestamp = 3 in both versions
                        continue;
                    }
                    for_each_ref(x, [&](std::uint32_t ref) {
                        if (!have) {
                            pending = ref;
                            have = true;
                            return;
                        }
                        have = false;
                        const std::size_t lt = w.begin_message(v1::exemplar_labels);
                        w.bytes_field(v1::label_name, symbols[pending]);
                        w.bytes_field(v1::label_value, symbols[ref]);
                        w.end_message(lt);
                    });
                }
                w.end_message(et);
                break;
            }
            case v2::ts_metadata: {
                wire_reader mr(g.bytes);
                wire_field m;
                while (mr.next(m)) {
                    if (m.number == v2::md_type) md_type = m.value;
                    if (m.number == v2::md_help_ref) md_help = symbols[m.value];
                    if (m.number == v2::md_unit_ref) md_unit = symbols[m.value];
                }
                have_md = md_type != 0 || !md_help.empty() || !md_unit.empty();
                break;
            }
            default:
                break;  // labels were written above; created_timestamp has no 1.0 field
        }
    }
    w.end_message(t);
    // 1.0 carries metadata per request, not per series; one entry per family is enough.
    if (have_md && !e.metric_name.empty() && md_families_.insert(e.metric_name).second) {
        write_v1_metadata(w, md_type, e.metric_name, md_help, md_unit);
    }
    ++series_;
    return decode_status::success();
}

void remote_write_v1_writer::add_metadata(const series_batch& batch) {
    if (batch.protocol() != source_protocol::remote_write_v1) return;
    wire_reader r(batch.body());
    wire_field f;
    while (r.next(f)) {
        if (f.number == v1::req_metadata) out_.append(f.raw);
    }
}

decode_status encode_remote_write_v1_subset(const series_batch& batch,
                                            std::span<const std::uint8_t> keep, std::string& out) {
    return encode_remote_write_v1_subset(batch, keep, {}, out);  // no masks: every series raw
}

decode_status encode_remote_write_v1_subset(const series_batch& batch,
                                            std::span<const std::uint8_t> keep,
                                            std::span<const std::uint64_t> strip_masks,
                                            std::string& out) {
    if (keep.size() != batch.size()) {
        return decode_status::malformed("remote write: keep mask size does not match the batch");
    }
    bool any = false;
    if (auto s = check_strip_masks(batch, keep, strip_masks, any); !s) return s;
    remote_write_v1_writer w(out);
    for (std::size_t i = 0; i < keep.size(); ++i) {
        if (keep[i] == 0) continue;
        if (auto s = w.add_series(batch, i, any ? strip_masks[i] : 0); !s) return s;
    }
    w.add_metadata(batch);
    return decode_status::success();
}

// ---- remote_write_v2_writer ----

remote_write_v2_writer::remote_write_v2_writer() {
    intern({});
}

std::uint32_t remote_write_v2_writer::intern(std::string_view s) {
    auto [it, inserted] = refs_.try_emplace(s, static_cast<std::uint32_t>(symbols_.size()));
    if (inserted) symbols_.push_back(s);
    return it->second;
}

decode_status remote_write_v2_writer::add_series(const series_batch& batch, std::size_t i,
                                                 std::uint64_t strip_mask) {
    if (batch.protocol() != source_protocol::remote_write_v2) {
        return decode_status::malformed("remote write 2.0 writer: source is not remote write 2.0");
    }
    if (strip_mask != 0) {
        if (auto s = check_strip_mask(batch, i, strip_mask); !s) return s;
    }
    const series_entry& e = batch.entry(i);
    const std::span<const std::string_view> symbols = batch.symbols();
    wire_field f;
    if (!reopen(e.raw, f)) return changed_body();
    wire_writer w(timeseries_);
    const std::size_t t = w.begin_message(v2::req_timeseries);
    // labels_refs, packed, in sorted order with __name__ at its place.
    scratch_refs_.clear();
    bool name_done = e.metric_name.empty();
    const std::span<const label_view> labels = batch[i].labels;
    for (std::size_t j = 0; j < labels.size(); ++j) {
        const label_view& l = labels[j];
        if (!name_done && k_name_label < l.name) {
            scratch_refs_.push_back(intern(k_name_label));
            scratch_refs_.push_back(intern(e.metric_name));
            name_done = true;
        }
        if (j < 64 && ((strip_mask >> j) & 1U) != 0) continue;  // removed: not interned
        scratch_refs_.push_back(intern(l.name));
        scratch_refs_.push_back(intern(l.value));
    }
    if (!name_done) {
        scratch_refs_.push_back(intern(k_name_label));
        scratch_refs_.push_back(intern(e.metric_name));
    }
    if (!scratch_refs_.empty()) {
        const std::size_t lt = w.begin_message(v2::ts_labels_refs);
        for (std::uint32_t ref : scratch_refs_) wire_writer::put_varint(timeseries_, ref);
        w.end_message(lt);
    }
    wire_reader r(f.bytes);
    wire_field g;
    while (r.next(g)) {
        switch (g.number) {
            case v2::ts_labels_refs:
                break;
            case v2::ts_exemplars: {
                scratch_refs_.clear();
                wire_reader er(g.bytes);
                wire_field x;
                const std::size_t et = w.begin_message(v2::ts_exemplars);
                while (er.next(x)) {
                    if (x.number == v2::exemplar_labels_refs) {
                        for_each_ref(x, [&](std::uint32_t ref) {
                            scratch_refs_.push_back(intern(symbols[ref]));
                        });
                    } else {
                        w.raw(x.raw);
                    }
                }
                if (!scratch_refs_.empty()) {
                    const std::size_t lt = w.begin_message(v2::exemplar_labels_refs);
                    for (std::uint32_t ref : scratch_refs_) {
                        wire_writer::put_varint(timeseries_, ref);
                    }
                    w.end_message(lt);
                }
                w.end_message(et);
                break;
            }
            case v2::ts_metadata: {
                wire_reader mr(g.bytes);
                wire_field m;
                const std::size_t mt = w.begin_message(v2::ts_metadata);
                while (mr.next(m)) {
                    if (m.number == v2::md_help_ref || m.number == v2::md_unit_ref) {
                        w.varint_field(m.number, intern(symbols[m.value]));
                    } else {
                        w.raw(m.raw);
                    }
                }
                w.end_message(mt);
                break;
            }
            default:
                w.raw(g.raw);
                break;  // samples, histograms, created_timestamp, unknown
        }
    }
    w.end_message(t);
    ++series_;
    return decode_status::success();
}

void remote_write_v2_writer::finish(std::string& out) {
    out.clear();
    wire_writer w(out);
    for (std::string_view s : symbols_) w.bytes_field(v2::req_symbols, s);
    out.append(timeseries_);
    refs_.clear();
    symbols_.clear();
    timeseries_.clear();
    series_ = 0;
    intern({});
}

decode_status encode_remote_write_v2_subset(const series_batch& batch,
                                            std::span<const std::uint8_t> keep, std::string& out) {
    return encode_remote_write_v2_subset(batch, keep, {}, out);
}

decode_status encode_remote_write_v2_subset(const series_batch& batch,
                                            std::span<const std::uint8_t> keep,
                                            std::span<const std::uint64_t> strip_masks,
                                            std::string& out) {
    if (keep.size() != batch.size()) {
        return decode_status::malformed("remote write: keep mask size does not match the batch");
    }
    bool any = false;
    if (auto s = check_strip_masks(batch, keep, strip_masks, any); !s) return s;
    remote_write_v2_writer w;
    for (std::size_t i = 0; i < keep.size(); ++i) {
        if (keep[i] == 0) continue;
        if (auto s = w.add_series(batch, i, any ? strip_masks[i] : 0); !s) return s;
    }
    w.finish(out);
    return decode_status::success();
}

// ---- Owned data ----

namespace {

void write_owned_sample(wire_writer& w, std::uint32_t field, const owned_sample& s) {
    const std::size_t t = w.begin_message(field);
    w.double_field(v1::sample_value, s.value);
    if (s.timestamp_ms != 0) w.int64_field(v1::sample_timestamp, s.timestamp_ms);
    w.end_message(t);
}

void write_owned_histogram(wire_writer& w, std::uint32_t field, const owned_histogram& h) {
    // count_int = 1, sum = 3, schema = 4 (sint32), timestamp = 15: same in 1.0 and 2.0.
    const std::size_t t = w.begin_message(field);
    w.varint_field(1, h.count);
    w.double_field(3, h.sum);
    w.sint64_field(4, h.schema);
    w.int64_field(15, h.timestamp_ms);
    w.end_message(t);
}

}  // namespace

void encode_remote_write_v1(std::span<const owned_timeseries> series,
                            std::span<const owned_metadata> metadata, std::string& out) {
    out.clear();
    wire_writer w(out);
    for (const owned_timeseries& ts : series) {
        const std::size_t t = w.begin_message(v1::req_timeseries);
        for (const owned_label& l : ts.labels) {
            const std::size_t lt = w.begin_message(v1::ts_labels);
            w.bytes_field(v1::label_name, l.name);
            w.bytes_field(v1::label_value, l.value);
            w.end_message(lt);
        }
        for (const owned_sample& s : ts.samples) write_owned_sample(w, v1::ts_samples, s);
        for (const owned_exemplar& x : ts.exemplars) {
            const std::size_t xt = w.begin_message(v1::ts_exemplars);
            for (const owned_label& l : x.labels) {
                const std::size_t lt = w.begin_message(v1::exemplar_labels);
                w.bytes_field(v1::label_name, l.name);
                w.bytes_field(v1::label_value, l.value);
                w.end_message(lt);
            }
            w.double_field(2, x.value);
            w.int64_field(3, x.timestamp_ms);
            w.end_message(xt);
        }
        for (const owned_histogram& h : ts.histograms) {
            write_owned_histogram(w, v1::ts_histograms, h);
        }
        w.end_message(t);
    }
    for (const owned_metadata& m : metadata) {
        write_v1_metadata(w, m.type, m.metric_family_name, m.help, m.unit);
    }
}

void encode_remote_write_v2(std::span<const owned_timeseries> series, std::string& out) {
    out.clear();
    std::unordered_map<std::string_view, std::uint32_t> refs;
    std::vector<std::string_view> symbols;
    auto intern = [&](std::string_view s) {
        auto [it, inserted] = refs.try_emplace(s, static_cast<std::uint32_t>(symbols.size()));
        if (inserted) symbols.push_back(s);
        return it->second;
    };
    intern({});
    std::string body;
    wire_writer w(body);
    for (const owned_timeseries& ts : series) {
        const std::size_t t = w.begin_message(v2::req_timeseries);
        if (!ts.labels.empty()) {
            const std::size_t lt = w.begin_message(v2::ts_labels_refs);
            for (const owned_label& l : ts.labels) {
                wire_writer::put_varint(body, intern(l.name));
                wire_writer::put_varint(body, intern(l.value));
            }
            w.end_message(lt);
        }
        for (const owned_sample& s : ts.samples) write_owned_sample(w, v2::ts_samples, s);
        for (const owned_histogram& h : ts.histograms) {
            write_owned_histogram(w, v2::ts_histograms, h);
        }
        for (const owned_exemplar& x : ts.exemplars) {
            const std::size_t xt = w.begin_message(v2::ts_exemplars);
            if (!x.labels.empty()) {
                const std::size_t lt = w.begin_message(v2::exemplar_labels_refs);
                for (const owned_label& l : x.labels) {
                    wire_writer::put_varint(body, intern(l.name));
                    wire_writer::put_varint(body, intern(l.value));
                }
                w.end_message(lt);
            }
            w.double_field(2, x.value);
            w.int64_field(3, x.timestamp_ms);
            w.end_message(xt);
        }
        if (ts.metadata_type != 0 || !ts.help.empty() || !ts.unit.empty()) {
            const std::size_t mt = w.begin_message(v2::ts_metadata);
            if (ts.metadata_type != 0) w.varint_field(v2::md_type, ts.metadata_type);
            if (!ts.help.empty()) w.varint_field(v2::md_help_ref, intern(ts.help));
            if (!ts.unit.empty()) w.varint_field(v2::md_unit_ref, intern(ts.unit));
            w.end_message(mt);
        }
        w.end_message(t);
    }
    wire_writer ow(out);
    for (std::string_view s : symbols) ow.bytes_field(v2::req_symbols, s);
    out.append(body);
}

}  // namespace mg::protocol
