// Internal to mg_protocol: the pieces of the remote-write codec that its decoders, its encoders
// and the request builders share: failure messages, the Label reader, the walk over 2.0
// labels_refs, and the 1.0 MetricMetadata writer. Small and inline (some are on the hot path of
// decoding). Pure functions over byte views; no state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "protocol/remote_write_schema.h"
#include "protocol/series_batch.h"
#include "protocol/status.h"
#include "protocol/wire.h"

namespace mg::protocol::rw_detail {

// For the codec's files, which take this namespace whole (using namespace rw_detail).
using rw_schema::k_name_label;
namespace v1 = rw_schema::v1;
namespace v2 = rw_schema::v2;

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

// Label { string name = 1; string value = 2; }
inline decode_status read_label(bytes_view payload, label_view& out, const failer& fail) {
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

// Re-reads the single field that `raw` spans.
inline bool reopen(bytes_view raw, wire_field& f) {
    wire_reader r(raw);
    return r.next(f) && r.at_end();
}

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

// Appends one WriteRequest.metadata entry (MetricMetadata); empty help and unit are left out.
inline void write_v1_metadata(wire_writer& w, std::uint64_t type, std::string_view family,
                              std::string_view help, std::string_view unit) {
    const std::size_t t = w.begin_message(v1::req_metadata);
    if (type != 0) w.varint_field(v1::md_type, type);
    w.bytes_field(v1::md_family, family);
    if (!help.empty()) w.bytes_field(v1::md_help, help);
    if (!unit.empty()) w.bytes_field(v1::md_unit, unit);
    w.end_message(t);
}

}  // namespace mg::protocol::rw_detail
