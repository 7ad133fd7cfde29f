// govern_export: the part of an ingest request after decoding, shared by every protocol: the
// per-series complexity limits, the governor's decisions, then the exporter (receiver.h says
// what each answer means). It runs in two halves around the governor's decision, which in
// cluster mode completes later on another thread: govern_begin() before it, govern_end() after.
//
// request_work holds everything one request needs from decoding to its answer. In one process
// it is the I/O thread's own, reused request after request; in cluster mode each request in
// flight has one from a pool (receiver.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/types.h"
#include "ingest/ports.h"
#include "ingest/receiver.h"
#include "ingest/tenant.h"
#include "protocol/otlp_json.h"
#include "protocol/series_batch.h"

namespace mg::ingest {

namespace bhttp = http::bhttp;

// What a decoded request turned into: the HTTP answer is built from it.
struct outcome {
    bhttp::status status = bhttp::status::ok;
    std::string message;  // error text for 4xx
    std::uint64_t kept_series = 0;
    std::uint64_t dropped_points = 0;
    std::uint64_t kept_samples = 0;
    std::uint64_t kept_histograms = 0;
    std::uint64_t kept_exemplars = 0;
    std::chrono::seconds retry_after{0};
    std::string_view refused_reason;   // why the exporter did not take the kept points
    std::uint64_t refused_points = 0;  // the points of a refused request that were not taken
    // Kept OTLP points the exporter cannot convert for a remote-write backend (reported to the
    // sender in partial_success along with the governor's drops).
    std::uint64_t unconverted_points = 0;
    std::string unconverted_message;
};

struct request_work {
    std::string decompressed;
    std::string joined;  // a body handed over in several pieces (gRPC slices), made contiguous
    protocol::series_batch batch;
    protocol::otlp_json_document json;
    std::vector<limits::series_ref> refs;
    std::vector<std::size_t> ref_index;  // batch index of each ref
    std::vector<limits::decision> decisions;
    std::vector<std::uint8_t> keep;
    std::vector<std::uint64_t> strip;
    request_tenants tenants;  // resolved before govern_begin (tenant.h)
    // The kept series' tenants as the exporter takes them (exporter::tenant_split), by
    // govern_end: the distinct names, and each series' index into them when there are several.
    std::vector<std::string_view> tenant_names;
    std::vector<std::uint32_t> tenant_index;
    std::unordered_map<std::string_view, std::uint32_t> tenant_ids;
    outcome out;
    exporter::reservation room;          // export room held from govern_begin() to govern_end()
    std::optional<http::request> owned;  // cluster mode: the request, kept until its answer
};

http::response text_response(const http::request& req, bhttp::status status, std::string body);

// The answer to a request the exporter could not take (429 with Retry-After, 415, 503).
http::response refusal(const http::request& req, const outcome& out);

// Complexity limits and the exporter's refusals, then the governor's questions in w.refs (its
// answers go to w.decisions), each with its tenant (w.tenants, as tenants.governor_name()).
// False: refused before the governor (w.out says why). `decoded_bytes` is the size of the decoded
// body: the export room reserved before any series is admitted.
bool govern_begin(const receiver_options& options, const tenant_resolver& tenants,
                  governor_port& governor, exporter_port& exp, request_work& w,
                  std::uint64_t decoded_bytes);
// Applies the decisions and hands what is kept to the exporter, one payload per tenant (a
// request's series of several tenants are split); `raw_body` is forwarded as is when nothing
// changed and the kept series have one tenant. The series the governor folded go to `overflow`
// (without one they count as dropped).
void govern_end(exporter_port& exp, request_work& w, std::string_view raw_body,
                exporter::body_encoding raw_encoding, overflow_port* overflow = nullptr);

}  // namespace mg::ingest
