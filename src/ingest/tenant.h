// tenant: which tenant each series of an ingest request belongs to (issue 19, docs/architecture.md
// "Tenants"). The receivers (remote write, OTLP/HTTP, OTLP/gRPC through the same core) ask this
// once per decoded request; nothing else here knows about HTTP or gRPC: the transport hands over
// the tenant header's values as it received them (HTTP header fields, gRPC metadata).
//
// Sources (tenancy.source): none (tenancy off: no tenant anywhere, nothing changes), header (one
// tenant per request from tenancy.header), label (each series' value of tenancy.label: a request
// may carry several tenants) and fixed (tenancy.default_tenant for everything). What carries no
// tenant gets the default tenant, or is refused with require_tenant (missing: 401 for a header,
// 400 for a series without the label). A tenant must pass tenant_problem() (common/tenant_name.h);
// a header given several times (or as a comma-separated list) is refused too (bad: 400).
//
// The resolved tenant is the name the backend gets (export keeps it per payload); the governor
// gets governor_name(): "" for the default tenant (the shared contract of series_ref::tenant).
//
// Immutable after construction: safe from every I/O thread at once.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/series_batch.h"

namespace mg::ingest {

enum class tenant_source : std::uint8_t { none, header, label, fixed };

struct tenancy_options {
    tenant_source source = tenant_source::none;
    std::string header = "X-Scope-OrgID";  // source header; gRPC: its lower-case metadata key
    std::string label;                     // source label
    std::string default_tenant = "default";
    bool require_tenant = false;
    std::size_t max_tenant_length = 128;

    bool operator==(const tenancy_options&) const = default;
};

// How a request's tenants were resolved.
struct tenant_outcome {
    enum class kind : std::uint8_t {
        ok,
        missing,  // require_tenant and none given: 401 (header) or 400 (label)
        bad,      // a tenant that is not acceptable, or the header given several times: 400
    };
    kind k = kind::ok;
    bool header = false;  // missing: the header was missing (401), not a series' label (400)
    std::string message;  // missing, bad: the answer's body
    bool ok() const { return k == kind::ok; }
    // The counter's reason: bad_tenant or missing_tenant.
    std::string_view reason() const { return k == kind::bad ? "bad_tenant" : "missing_tenant"; }
};

// A request's tenants: one for the whole request (`single`; header, fixed) or one per series of
// the batch (`of`; label: views into the batch or the options, valid while both are).
struct request_tenants {
    std::string single;
    std::vector<std::string_view> of;
    std::string_view of_series(std::size_t i) const { return of.empty() ? single : of[i]; }
};

class tenant_resolver {
  public:
    explicit tenant_resolver(tenancy_options options);

    const tenancy_options& options() const { return o_; }
    bool enabled() const { return o_.source != tenant_source::none; }
    // The header's name in lower case: the gRPC metadata key. Empty unless source header.
    const std::string& metadata_key() const { return metadata_key_; }

    // Resolves a decoded request into `out` (cleared first). `header_values`: every value of the
    // tenant header the request came with, one per occurrence (source header; else unused).
    // With tenancy off `out` is one empty tenant.
    tenant_outcome resolve(std::span<const std::string_view> header_values,
                           const protocol::series_batch& batch, request_tenants& out) const;

    // series_ref::tenant for a resolved tenant: "" for the default tenant, else the tenant.
    std::string_view governor_name(std::string_view tenant) const {
        return tenant == o_.default_tenant ? std::string_view{} : tenant;
    }

  private:
    tenant_outcome from_header(std::span<const std::string_view> values, std::string& out) const;
    tenant_outcome from_labels(const protocol::series_batch& batch,
                               std::vector<std::string_view>& out) const;

    tenancy_options o_;
    std::string metadata_key_;
};

}  // namespace mg::ingest
