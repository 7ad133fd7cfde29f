// otlp.h and otlp_json.h: the ExportMetricsServiceResponse, with partial_success when points were
// rejected, in both encodings; and its decoders, for the exporter.
#include <charconv>
#include <nlohmann/json.hpp>

#include "protocol/otlp.h"
#include "protocol/otlp_internal.h"
#include "protocol/otlp_json.h"
#include "protocol/otlp_schema.h"
#include "protocol/wire.h"

namespace mg::protocol {

using json = nlohmann::json;
using otlp_detail::fail_type;
using otlp_detail::fail_wire;
using namespace otlp_schema;  // field numbers

void encode_otlp_response_protobuf(std::int64_t rejected, std::string_view error_message,
                                   std::string& out) {
    out.clear();
    if (rejected == 0 && error_message.empty()) return;
    wire_writer w(out);
    const std::size_t t = w.begin_message(resp_partial_success);
    if (rejected != 0) w.int64_field(ps_rejected, rejected);
    if (!error_message.empty()) w.bytes_field(ps_message, error_message);
    w.end_message(t);
}

decode_status decode_otlp_response_protobuf(bytes_view body, otlp_partial_success& out) {
    out = {};
    wire_reader r(body);
    wire_field f;
    while (r.next(f)) {
        if (f.number != resp_partial_success) continue;
        if (f.type != wire_type::len) return fail_type(f, "partial_success", wire_type::len);
        wire_reader pr(f.bytes);
        wire_field g;
        while (pr.next(g)) {
            if (g.number == ps_rejected && g.type == wire_type::varint) {
                out.rejected_data_points = g.as_int64();
            } else if (g.number == ps_message && g.type == wire_type::len) {
                out.error_message.assign(g.bytes);
            }
        }
        if (pr.error() != nullptr) return fail_wire(pr, "ExportMetricsPartialSuccess");
    }
    if (r.error() != nullptr) return fail_wire(r, "ExportMetricsServiceResponse");
    return decode_status::success();
}

std::string encode_otlp_response_json(std::int64_t rejected, std::string_view error_message) {
    if (rejected == 0 && error_message.empty()) return "{}";
    json ps = json::object();
    if (rejected != 0) ps["rejectedDataPoints"] = std::to_string(rejected);
    if (!error_message.empty()) ps["errorMessage"] = std::string(error_message);
    json r = json::object();
    r["partialSuccess"] = std::move(ps);
    return r.dump(-1, ' ', false, json::error_handler_t::replace);
}

decode_status decode_otlp_response_json(std::string_view body, otlp_partial_success& out) {
    out = {};
    // A body that is not JSON is refused, not an exception: it comes from the network.
    const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return decode_status::malformed("response is not JSON");
    if (!doc.is_object()) return decode_status::malformed("response is not a JSON object");
    const auto ps = doc.find("partialSuccess");
    if (ps == doc.end() || ps->is_null()) return decode_status::success();
    if (!ps->is_object()) return decode_status::malformed("partialSuccess is not an object");
    // proto3 JSON writes int64 as a string; a number is accepted too.
    if (const auto n = ps->find("rejectedDataPoints"); n != ps->end()) {
        if (n->is_number_integer()) {
            out.rejected_data_points = n->get<std::int64_t>();
        } else if (n->is_string()) {
            const auto& text = n->get_ref<const std::string&>();
            std::int64_t v = 0;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (ec != std::errc{} || end != text.data() + text.size())
                return decode_status::malformed("rejectedDataPoints is not an integer");
            out.rejected_data_points = v;
        } else {
            return decode_status::malformed("rejectedDataPoints is not an integer");
        }
    }
    if (const auto m = ps->find("errorMessage"); m != ps->end() && m->is_string())
        out.error_message = m->get<std::string>();
    return decode_status::success();
}

}  // namespace mg::protocol
