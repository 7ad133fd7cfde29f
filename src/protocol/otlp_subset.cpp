// otlp.h: the protobuf subset encoders, which copy the kept points of a decoded request.
#include "protocol/otlp.h"
#include "protocol/otlp_schema.h"
#include "protocol/otlp_strip.h"

namespace mg::protocol {

using namespace otlp_schema;  // field numbers, kind_of

namespace {

// Walks the validated request in decode order and copies kept points; counts with `next`.
struct subset_encoder {
    std::span<const std::uint8_t> keep;
    std::size_t next = 0;
    wire_writer w;

    // Returns the number of points kept below this level.
    std::size_t metric(bytes_view payload) {
        std::size_t kept = 0;
        wire_reader r(payload);
        wire_field f;
        while (r.next(f)) {
            const metric_kind k = kind_of(f.number);
            if (k == metric_kind::unknown) {
                w.raw(f.raw);
                continue;
            }
            const std::size_t t = w.begin_message(f.number);
            std::size_t here = 0;
            wire_reader dr(f.bytes);
            wire_field g;
            while (dr.next(g)) {
                if (g.number != data_points) {
                    w.raw(g.raw);
                    continue;
                }
                if (next < keep.size() && keep[next] != 0) {
                    w.raw(g.raw);
                    ++here;
                }
                ++next;
            }
            w.end_message(t);
            kept += here;
        }
        return kept;
    }

    std::size_t level(bytes_view payload, std::uint32_t child_field, int depth) {
        std::size_t kept = 0;
        wire_reader r(payload);
        wire_field f;
        while (r.next(f)) {
            if (f.number != child_field) {
                w.raw(f.raw);
                continue;
            }
            const std::size_t t = w.begin_message(child_field);
            const std::size_t here = depth == 0 ? level(f.bytes, sm_metrics, 1) : metric(f.bytes);
            if (here == 0) {
                w.cancel_message(t, child_field);
            } else {
                w.end_message(t);
            }
            kept += here;
        }
        return kept;
    }
};

}  // namespace

decode_status encode_otlp_protobuf_subset(const series_batch& batch,
                                          std::span<const std::uint8_t> keep, std::string& out) {
    if (batch.protocol() != source_protocol::otlp_protobuf) {
        return decode_status::malformed("OTLP: subset source is not an OTLP protobuf batch");
    }
    if (keep.size() != batch.size()) {
        return decode_status::malformed("OTLP: keep mask size does not match the batch");
    }
    subset_encoder enc{keep, 0, wire_writer(out)};
    wire_reader r(batch.body());
    wire_field f;
    while (r.next(f)) {
        if (f.number != req_resource_metrics) {
            enc.w.raw(f.raw);
            continue;
        }
        const std::size_t t = enc.w.begin_message(req_resource_metrics);
        if (enc.level(f.bytes, rm_scope_metrics, 0) == 0) {
            enc.w.cancel_message(t, req_resource_metrics);
        } else {
            enc.w.end_message(t);
        }
    }
    if (enc.next != batch.size()) {
        return decode_status::malformed("OTLP: batch source changed since decoding");
    }
    return decode_status::success();
}

decode_status encode_otlp_protobuf_subset(const series_batch& batch,
                                          std::span<const std::uint8_t> keep,
                                          std::span<const std::uint64_t> strip_masks,
                                          std::string& out) {
    if (batch.protocol() != source_protocol::otlp_protobuf) {
        return decode_status::malformed("OTLP: subset source is not an OTLP protobuf batch");
    }
    if (keep.size() != batch.size()) {
        return decode_status::malformed("OTLP: keep mask size does not match the batch");
    }
    bool any = false;
    if (auto s = check_strip_masks(batch, keep, strip_masks, any); !s) return s;
    if (!any) return encode_otlp_protobuf_subset(batch, keep, out);
    return otlp_detail::encode_otlp_protobuf_stripped(batch, keep, strip_masks, out);
}

}  // namespace mg::protocol
