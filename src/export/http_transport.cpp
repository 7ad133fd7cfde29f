#include "export/http_transport.h"

#include <algorithm>
#include <string>

#include "export/retry.h"
#include "protocol/otlp.h"
#include "protocol/otlp_json.h"

namespace mg::exporter {

namespace bhttp = boost::beast::http;

http_transport::http_transport(std::unique_ptr<http_client> client,
                               http_client::request request_template, mg::clock& clock,
                               std::string tenant_header)
    : client_(std::move(client)),
      request_template_(std::move(request_template)),
      clock_(clock),
      tenant_header_(std::move(tenant_header)) {}

void http_transport::async_send(payload& p, callback done) {
    // The client needs the request until its callback; the body is lent to it and given back.
    auto req = std::make_shared<http_client::request>(request_template_);
    req->set(bhttp::field::content_type, content_type(p.format));
    req->set(bhttp::field::content_encoding, content_encoding(p.format));
    if (!tenant_header_.empty() && !p.tenant.empty()) req->set(tenant_header_, p.tenant);
    req->body() = std::move(p.body);
    req->prepare_payload();
    client_->async_send(*req, [this, &p, req, done = std::move(done)](http_outcome out) {
        p.body = std::move(req->body());
        auto r = classify_http(std::move(out), clock_.wall_now());
        if (r.what == send_outcome::verdict::delivered) read_partial_success(p.format, r);
        done(std::move(r));
    });
}

send_outcome classify_http(http_outcome out, std::chrono::system_clock::time_point now) {
    send_outcome r;
    r.message = std::move(out.error_message);
    r.body = std::move(out.body);
    if (out.transport_failed()) {
        r.what = send_outcome::verdict::retry;
        r.error_reason = std::move(out.error_reason);
        return r;
    }
    r.code = std::to_string(out.status);
    if (out.status >= 200 && out.status < 300) {
        r.what = send_outcome::verdict::delivered;
    } else if (out.status == 413) {
        r.what = send_outcome::verdict::too_large;
        r.error_reason = "http_413";
    } else if (out.status == 429 || out.status >= 500) {
        r.what = send_outcome::verdict::retry;
        r.error_reason = out.status == 429 ? "http_429" : "http_5xx";
        if (!out.retry_after.empty()) r.retry_after = parse_retry_after(out.retry_after, now);
    } else {
        r.what = send_outcome::verdict::rejected;
        r.error_reason = "http_4xx";
    }
    return r;
}

void read_partial_success(payload_format f, send_outcome& r) {
    if (r.body.empty() || f == payload_format::prw_v1) return;
    protocol::otlp_partial_success partial;
    const auto ok = f == payload_format::otlp_json
                        ? protocol::decode_otlp_response_json(r.body, partial).ok()
                        : protocol::decode_otlp_response_protobuf(r.body, partial).ok();
    if (!ok) return;
    // A negative count (a broken backend) would run the logged total backwards.
    r.rejected_points = std::max<std::int64_t>(0, partial.rejected_data_points);
    r.rejected_message = std::move(partial.error_message);
}

}  // namespace mg::exporter
