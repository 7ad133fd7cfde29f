#include "export/payload.h"

#include <vector>

#include "protocol/compression.h"
#include "protocol/encode_kept.h"
#include "protocol/otlp.h"
#include "protocol/otlp_json.h"
#include "protocol/remote_write.h"
#include "protocol/series_batch.h"

namespace mg::exporter {

namespace {

// decompress()'s bound: a payload we built or accepted ourselves; it only protects against a
// corrupt body.
constexpr std::size_t k_max_decompressed = std::size_t{1} << 31;

protocol::bytes_view view(const std::string& s) {
    return protocol::bytes_view(s.data(), s.size());
}

}  // namespace

std::string_view content_type(payload_format f) {
    return f == payload_format::otlp_json ? "application/json" : "application/x-protobuf";
}

std::string_view content_encoding(payload_format f) {
    return f == payload_format::prw_v1 ? "snappy" : "gzip";
}

protocol::decode_status to_wire(payload& p) {
    if (p.compressed) return protocol::decode_status::success();
    std::string out;
    if (p.format == payload_format::prw_v1) {
        protocol::snappy_encode(view(p.body), out);
    } else if (auto s = protocol::gzip_encode(view(p.body), 1, out); !s) {
        return s;
    }
    p.body = std::move(out);
    p.compressed = true;
    return protocol::decode_status::success();
}

protocol::decode_status decompress(payload_format f, std::string_view body, std::string& plain) {
    return f == payload_format::prw_v1 ? protocol::snappy_decode(body, k_max_decompressed, plain)
                                       : protocol::gzip_decode(body, k_max_decompressed, plain);
}

protocol::decode_status split_in_half(const payload& p, payload& first, payload& second) {
    if (p.series < 2) return protocol::decode_status::malformed("a single series cannot be split");
    std::string plain;
    if (p.compressed) {
        if (auto s = decompress(p.format, p.body, plain); !s) return s;
    } else {
        plain = p.body;
    }
    protocol::series_batch batch;
    protocol::otlp_json_document doc;
    protocol::decode_status st;
    switch (p.format) {
        case payload_format::prw_v1:
            st = protocol::decode_remote_write_v1(view(plain), batch);
            break;
        case payload_format::otlp_protobuf:
            st = protocol::decode_otlp_protobuf(view(plain), batch);
            break;
        case payload_format::otlp_json:
            st = protocol::decode_otlp_json(view(plain), doc, batch);
            break;
    }
    if (!st) return st;
    if (batch.size() < 2)
        return protocol::decode_status::malformed("a single series cannot be split");

    const std::size_t half = batch.size() / 2;
    payload* parts[2] = {&first, &second};
    for (int k = 0; k < 2; ++k) {
        payload& out = *parts[k];
        out = payload{};
        out.format = p.format;
        out.tenant = p.tenant;
        const std::size_t lo = k == 0 ? 0 : half;
        const std::size_t hi = k == 0 ? half : batch.size();
        for (std::size_t i = lo; i < hi; ++i) out.points += batch[i].points();
        out.series = static_cast<std::uint32_t>(hi - lo);
        if (p.format == payload_format::prw_v1) {
            protocol::remote_write_v1_writer w(out.body);
            for (std::size_t i = lo; i < hi; ++i) {
                if (auto s = w.add_series(batch, i); !s) return s;
            }
            if (k == 0) w.add_metadata(batch);
        } else {
            std::vector<std::uint8_t> keep(batch.size(), 0);
            for (std::size_t i = lo; i < hi; ++i) keep[i] = 1;
            auto s = protocol::encode_kept(batch, keep, out.body);
            if (!s) return s;
        }
        if (auto s = to_wire(out); !s) return s;
    }
    return protocol::decode_status::success();
}

}  // namespace mg::exporter
