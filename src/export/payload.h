// payload: one unit of export work, the bytes the queue holds and the exporter sends.
//
// A payload is either
//   - mergeable: an uncompressed remote write 1.0 WriteRequest or OTLP ExportMetricsServiceRequest
//     in protobuf. Both messages are only repeated fields, so the concatenation of two of them is
//     one valid message carrying both: the batcher merges payloads by appending bytes and
//     compresses once per upstream request;
//   - standalone: a body already in its wire encoding (the remote-write fast path forwards the
//     sender's snappy body untouched; a gzip OTLP body likewise), or OTLP/JSON (JSON objects do
//     not concatenate). A gzip OTLP body is sent as its own upstream request, unless its lane
//     has a backlog (a distant backend): then the batcher decompresses such bodies and merges
//     them like the others (concatenable()), since one request per round trip would cap the
//     throughput. With long round trips a snappy remote-write body joins whatever waits in its
//     lane: snappy blocks concatenate without decompression (protocol/snappy_concat.h).
// series and points count what the payload carries (for OTLP a series is one data point), for
// the accounting and the batch-size bound. A payload belongs to one tenant (empty: none, tenancy
// off): payloads of different tenants are never merged, and the tenant goes to the backend in the
// tenant header of the upstream request.
//
// Value type; not synchronized.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/status.h"

namespace mg::exporter {

enum class payload_format : std::uint8_t {
    prw_v1,         // remote write 1.0 WriteRequest; wire encoding snappy
    otlp_protobuf,  // ExportMetricsServiceRequest protobuf; wire encoding gzip
    otlp_json,      // ExportMetricsServiceRequest JSON; wire encoding gzip
};

struct payload {
    payload_format format = payload_format::prw_v1;
    bool compressed = false;  // body is already snappy (prw) / gzip (otlp)
    std::string body;
    std::uint32_t series = 0;
    std::uint64_t points = 0;
    std::uint64_t disk_id = 0;  // its record in the disk queue; 0 = none (memory only)
    std::string tenant;         // whose series these are; "" = no tenant (no header sent)
    // A sender's whole request, or its part for one lane, that one shard would have forwarded as
    // it came: sent once its lane is free and the forward linger passed, like a forwarded body,
    // instead of waiting up to the flush interval for a fuller batch (more shards must not add
    // latency to such requests).
    bool prompt = false;

    bool mergeable() const { return !compressed && format != payload_format::otlp_json; }
    // Can be merged after decompression (a compressed remote-write or OTLP protobuf body).
    bool concatenable() const { return format != payload_format::otlp_json; }
    // What the payload costs in the queue's byte budget.
    std::uint64_t cost() const { return body.size() + tenant.size() + sizeof(payload); }
};

std::string_view content_type(payload_format f);
std::string_view content_encoding(payload_format f);  // "snappy" or "gzip"

// Brings `p` to its wire encoding (compresses it unless compressed already).
protocol::decode_status to_wire(payload& p);

// The plain bytes of a compressed body of format `f` (snappy for remote write 1.0, else gzip).
// A body we built or accepted ourselves: the bound (2 GiB) only protects against a corrupt one.
protocol::decode_status decompress(payload_format f, std::string_view body, std::string& plain);

// Splits a payload that the backend refused as too large (413) into two halves by series, each
// in wire encoding and of p's tenant. Fails when it has fewer than two series or cannot be
// decoded again. Remote write 1.0 metadata entries go with the first half.
protocol::decode_status split_in_half(const payload& p, payload& first, payload& second);

}  // namespace mg::exporter
