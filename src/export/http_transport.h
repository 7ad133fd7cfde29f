// http_transport: the transport (transport.h) of remote write and OTLP/HTTP: each payload becomes
// a POST built from the upstream's request template (upstream.h) and goes out on the keep-alive
// HTTP client (http_client.h); the status code decides the verdict: 2xx delivered, 413
// too_large, 429 and 5xx retry (with Retry-After), another 4xx rejected, a transport failure
// retry. An OTLP backend's 2xx body may carry partial_success (points it refused): read from the
// response in the request's encoding, so delivery counts and logs it as for gRPC. A payload's
// tenant goes in the tenant header (replacing one of the same name the template has from
// -exporter-headers).
//
// Threading and ownership: as transport.h; owns the HTTP client. The clock reads Retry-After
// dates and must outlive the transport.
#pragma once

#include <memory>
#include <string>

#include "common/clock.h"
#include "export/http_client.h"
#include "export/payload.h"
#include "export/transport.h"

namespace mg::exporter {

class http_transport final : public transport {
  public:
    // tenant_header: the header each payload's tenant is sent in (empty: none).
    http_transport(std::unique_ptr<http_client> client, http_client::request request_template,
                   mg::clock& clock, std::string tenant_header = {});

    void async_send(payload& p, callback done) override;
    void close_all() override { client_->close_all(); }
    std::uint64_t connections_opened() const override { return client_->connections_opened(); }

  private:
    std::unique_ptr<http_client> client_;
    const http_client::request request_template_;
    mg::clock& clock_;
    const std::string tenant_header_;
};

// What delivery does with one HTTP answer (now: the wall time, for a Retry-After date).
send_outcome classify_http(http_outcome out, std::chrono::system_clock::time_point now);
// The partial_success of an OTLP/HTTP 2xx answer into `r` (rejected_points, rejected_message);
// nothing for remote write or a body that does not decode (the points stay delivered).
void read_partial_success(payload_format f, send_outcome& r);

}  // namespace mg::exporter
