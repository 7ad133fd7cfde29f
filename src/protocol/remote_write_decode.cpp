// remote_write.h: the decoders of remote write 1.0 (with the fast path for the shape every known
// sender writes, and the series identity taken from the wire bytes) and 2.0.
#include <algorithm>
#include <cstring>

#include "cardinality/series_hash.h"
#include "protocol/remote_write.h"
#include "protocol/remote_write_internal.h"
#include "protocol/remote_write_schema.h"

namespace mg::protocol {

using namespace rw_detail;  // field numbers, the shared Label/refs/metadata pieces

namespace {

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
        e.identity = cardinality::series_hash_canonical(
            run_begin, static_cast<std::size_t>(run_end - run_begin));
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

}  // namespace mg::protocol
