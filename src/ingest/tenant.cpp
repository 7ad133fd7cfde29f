// Tenant resolution of ingest requests (tenant.h).
#include "ingest/tenant.h"

#include <algorithm>
#include <utility>

#include "common/strings.h"
#include "common/tenant_name.h"

namespace mg::ingest {

namespace {

// A name from a request, shown in a 400 body: bounded, since it may be hostile.
std::string shown(std::string_view s) {
    constexpr std::size_t k_max = 200;
    return s.size() <= k_max ? std::string(s) : std::string(s.substr(0, k_max)) + "...";
}

tenant_outcome bad(std::string message) {
    return {.k = tenant_outcome::kind::bad, .message = std::move(message)};
}

}  // namespace

tenant_resolver::tenant_resolver(tenancy_options options) : o_(std::move(options)) {
    if (o_.source == tenant_source::header) metadata_key_ = lower(o_.header);
}

tenant_outcome tenant_resolver::resolve(std::span<const std::string_view> header_values,
                                        const protocol::series_batch& batch,
                                        request_tenants& out) const {
    out.single.clear();
    out.of.clear();
    switch (o_.source) {
        case tenant_source::none:
            return {};
        case tenant_source::fixed:
            out.single = o_.default_tenant;
            return {};
        case tenant_source::header:
            return from_header(header_values, out.single);
        case tenant_source::label:
            return from_labels(batch, out.of);
    }
    return {};
}

tenant_outcome tenant_resolver::from_header(std::span<const std::string_view> values,
                                            std::string& out) const {
    // Several values cannot be one tenant, and picking one would let a sender pass a tenant
    // past a proxy in front of us that checked the other: refused.
    if (values.size() > 1) {
        return bad("the tenant header " + o_.header + " was given " +
                   std::to_string(values.size()) + " times; want exactly one tenant");
    }
    const std::string_view v = values.empty() ? std::string_view{} : trim(values.front(), " \t");
    if (v.empty()) {
        if (o_.require_tenant) {
            return {.k = tenant_outcome::kind::missing,
                    .header = true,
                    .message = "no tenant: the request has no " + o_.header +
                               " header and tenancy.require_tenant is set"};
        }
        out = o_.default_tenant;
        return {};
    }
    if (v.find(',') != std::string_view::npos) {
        return bad("the tenant header " + o_.header +
                   " has several comma-separated values; want exactly one tenant");
    }
    if (auto why = tenant_problem(v, o_.max_tenant_length); !why.empty())
        return bad("bad tenant in the " + o_.header + " header: " + why);
    out.assign(v);
    return {};
}

tenant_outcome tenant_resolver::from_labels(const protocol::series_batch& batch,
                                            std::vector<std::string_view>& out) const {
    const std::size_t n = batch.size();
    out.resize(n);
    const std::string_view name = o_.label;
    for (std::size_t i = 0; i < n; ++i) {
        const auto v = batch[i];
        // The labels are sorted by name and unique (series_view).
        const auto it = std::lower_bound(
            v.labels.begin(), v.labels.end(), name,
            [](const label_view& l, std::string_view want) { return l.name < want; });
        const std::string_view value =
            it != v.labels.end() && it->name == name ? it->value : std::string_view{};
        if (value.empty()) {
            // Prometheus' rule: an empty label value is no label.
            if (o_.require_tenant) {
                return {.k = tenant_outcome::kind::missing,
                        .message = "no tenant: a series of " + shown(v.metric_name) +
                                   " has no label " + o_.label +
                                   " and tenancy.require_tenant is set"};
            }
            out[i] = o_.default_tenant;
            continue;
        }
        if (auto why = tenant_problem(value, o_.max_tenant_length); !why.empty()) {
            return bad("bad tenant in the label " + o_.label + " of a series of " +
                       shown(v.metric_name) + ": " + why);
        }
        out[i] = value;
    }
    return {};
}

}  // namespace mg::ingest
