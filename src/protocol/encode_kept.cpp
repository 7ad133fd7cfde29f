// The dispatch of encode_kept.h: one per-protocol subset encoder for each source protocol.
#include "protocol/encode_kept.h"

#include "protocol/otlp.h"
#include "protocol/otlp_json.h"
#include "protocol/remote_write.h"

namespace mg::protocol {

decode_status encode_kept(const series_batch& batch, std::span<const std::uint8_t> keep,
                          std::string& out) {
    if (keep.size() != batch.size()) {
        return decode_status::malformed("encode_kept: keep mask has " +
                                        std::to_string(keep.size()) + " entries for " +
                                        std::to_string(batch.size()) + " series");
    }
    switch (batch.protocol()) {
        case source_protocol::remote_write_v1:
            out.clear();
            return encode_remote_write_v1_subset(batch, keep, out);
        case source_protocol::remote_write_v2:
            out.clear();
            return encode_remote_write_v2_subset(batch, keep, out);
        case source_protocol::otlp_protobuf:
            out.clear();
            return encode_otlp_protobuf_subset(batch, keep, out);
        case source_protocol::otlp_json:
            if (batch.json_document() == nullptr) {
                return decode_status::malformed("encode_kept: OTLP/JSON batch has no document");
            }
            return encode_otlp_json_subset(*batch.json_document(), keep, out);
        case source_protocol::none:
            break;
    }
    out.clear();
    return decode_status::malformed("encode_kept: empty batch has no protocol");
}

decode_status encode_kept(const series_batch& batch, std::span<const std::uint8_t> keep,
                          std::span<const std::uint64_t> strip_masks, std::string& out) {
    if (keep.size() != batch.size()) return encode_kept(batch, keep, out);  // reports the size
    bool any = false;
    if (auto s = check_strip_masks(batch, keep, strip_masks, any); !s) {
        out.clear();
        return s;
    }
    if (!any) return encode_kept(batch, keep, out);
    out.clear();
    switch (batch.protocol()) {
        case source_protocol::remote_write_v1:
            return encode_remote_write_v1_subset(batch, keep, strip_masks, out);
        case source_protocol::remote_write_v2:
            return encode_remote_write_v2_subset(batch, keep, strip_masks, out);
        case source_protocol::otlp_protobuf:
            return encode_otlp_protobuf_subset(batch, keep, strip_masks, out);
        case source_protocol::otlp_json:
            return encode_otlp_json_subset(batch, keep, strip_masks, out);
        case source_protocol::none:
            break;
    }
    return decode_status::malformed("encode_kept: empty batch has no protocol");
}

}  // namespace mg::protocol
