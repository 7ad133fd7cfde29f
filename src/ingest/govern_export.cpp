// The shared half of every ingest request (govern_export.h).
#include "ingest/govern_export.h"

#include <array>

namespace mg::ingest {

http::response text_response(const http::request& req, bhttp::status status, std::string body) {
    if (!body.empty() && body.back() != '\n') body += '\n';
    return http::make_response(req, status, std::move(body));
}

http::response refusal(const http::request& req, const outcome& out) {
    auto res = text_response(req, out.status, out.message);
    if (out.retry_after.count() > 0)
        res.set(bhttp::field::retry_after, std::to_string(out.retry_after.count()));
    return res;
}

namespace {

// Fills `out` for an exporter answer other than accepted (429, 415, 503).
void refused_by_exporter(exporter::submit_status st, const exporter_port& exp,
                         protocol::source_protocol proto, outcome& out) {
    switch (st) {
        case exporter::submit_status::accepted:
        case exporter::submit_status::not_raw:
            break;
        case exporter::submit_status::queue_full:
            out.status = bhttp::status::too_many_requests;
            out.refused_reason = "queue_full";
            out.message = "export queue is full; retry later";
            out.retry_after = exp.retry_after_hint();
            break;
        case exporter::submit_status::unsupported: {
            out.status = bhttp::status::unsupported_media_type;
            out.refused_reason = "unsupported";
            const auto why = exp.check_source(proto);
            out.message =
                why.ok() ? "this input cannot be exported with the configured -exporter-protocol"
                         : why.error_message();
            break;
        }
        case exporter::submit_status::closed:
            out.status = bhttp::status::service_unavailable;
            out.refused_reason = "shutting_down";
            out.message = "shutting down";
            break;
    }
}

constexpr std::uint64_t k_reservation_overhead = 64 * 1024;

// The kept series' tenants for the exporter: none with tenancy off, one for a request of one
// tenant (header, fixed, or labels that all name the same tenant), else the distinct tenants and
// each series' index into them.
exporter::tenant_split kept_tenants(request_work& w) {
    w.tenant_names.clear();
    w.tenant_index.clear();
    const auto& t = w.tenants;
    if (t.of.empty()) {
        if (!t.single.empty()) w.tenant_names.push_back(t.single);
        return {w.tenant_names, {}};
    }
    w.tenant_ids.clear();
    w.tenant_index.assign(w.keep.size(), 0);
    for (std::size_t i = 0; i < w.keep.size(); ++i) {
        if (w.keep[i] == 0) continue;
        const auto [it, added] =
            w.tenant_ids.try_emplace(t.of[i], static_cast<std::uint32_t>(w.tenant_names.size()));
        if (added) w.tenant_names.push_back(t.of[i]);
        w.tenant_index[i] = it->second;
    }
    if (w.tenant_names.size() <= 1) return {w.tenant_names, {}};
    return {w.tenant_names, w.tenant_index};
}

}  // namespace

bool govern_begin(const receiver_options& options, const tenant_resolver& tenants,
                  governor_port& governor, exporter_port& exp, request_work& w,
                  std::uint64_t decoded_bytes) {
    auto& out = w.out;
    auto& room = w.room;
    out = outcome{};
    const auto& batch = w.batch;
    // Refusals come before the governor, so a refused request admits no series: what the sender
    // retries is then decided as it was the first time, and the limit is never spent on data the
    // backend never got.
    if (auto why = exp.check_source(batch.protocol()); !why) {
        refused_by_exporter(exporter::submit_status::unsupported, exp, batch.protocol(), out);
        out.refused_points = batch.total_points();
        return false;
    }
    if (const auto st = exp.reserve(decoded_bytes + k_reservation_overhead, room);
        st != exporter::submit_status::accepted) {
        refused_by_exporter(st, exp, batch.protocol(), out);
        out.refused_points = batch.total_points();
        return false;
    }
    const std::size_t n = batch.size();
    w.keep.assign(n, 0);
    w.strip.assign(n, 0);

    w.refs.clear();
    w.ref_index.clear();
    std::array<std::uint64_t, 7> rejected_series{}, rejected_points{};
    for (std::size_t i = 0; i < n; ++i) {
        const auto v = batch[i];
        limits::drop_reason reason = limits::drop_reason::none;
        if (v.labels.size() > options.max_labels_per_series) {
            reason = limits::drop_reason::too_many_labels;
        } else if (v.metric_name.size() > options.max_label_value_len) {
            reason = limits::drop_reason::label_value_too_long;
        } else {
            for (const auto& l : v.labels) {
                if (l.name.size() > options.max_label_name_len) {
                    reason = limits::drop_reason::label_name_too_long;
                    break;
                }
                if (l.value.size() > options.max_label_value_len) {
                    reason = limits::drop_reason::label_value_too_long;
                    break;
                }
            }
        }
        if (reason != limits::drop_reason::none) {
            ++rejected_series[static_cast<std::size_t>(reason)];
            rejected_points[static_cast<std::size_t>(reason)] += v.points();
            out.dropped_points += v.points();
            continue;
        }
        w.refs.push_back({v.metric_name, tenants.governor_name(w.tenants.of_series(i)), v.labels,
                          v.points(), v.has_identity, v.identity});  // views, not copies
        w.ref_index.push_back(i);
    }
    for (std::size_t r = 0; r < rejected_series.size(); ++r) {
        governor.note_rejected(static_cast<limits::drop_reason>(r), rejected_series[r],
                               rejected_points[r]);
    }
    w.decisions.resize(w.refs.size());
    return true;
}

void govern_end(exporter_port& exp, request_work& w, std::string_view raw_body,
                exporter::body_encoding raw_encoding, overflow_port* overflow) {
    auto& out = w.out;
    auto& room = w.room;
    const auto& batch = w.batch;
    bool any_strip = false;
    bool any_fold = false;
    for (std::size_t k = 0; k < w.refs.size(); ++k) {
        const auto i = w.ref_index[k];
        const auto& d = w.decisions[k];
        const auto v = batch[i];
        if (!d.keep) {
            // A folded series is not lost: its samples are in the overflow series.
            if (d.overflow && overflow != nullptr) {
                any_fold = true;
            } else {
                out.dropped_points += v.points();
            }
            continue;
        }
        w.keep[i] = 1;
        w.strip[i] = d.strip_mask;
        any_strip = any_strip || d.strip_mask != 0;
        ++out.kept_series;
        out.kept_samples += v.samples;
        out.kept_histograms += v.histograms;
        out.kept_exemplars += v.exemplars;
    }

    if (any_fold) {
        overflow->fold(batch, w.refs, w.ref_index, w.decisions,
                       [&w](std::size_t i) { return w.tenants.of_series(i); });
    }
    if (out.kept_series == 0) {
        room = exporter::reservation{};  // nothing to forward; the drops are counted
        return;
    }
    const auto split = kept_tenants(w);
    exporter::submit_details details;
    auto st = exporter::submit_status::not_raw;
    // One tenant (or none): the request may go as it came. Several: it is split per tenant.
    if (split.names.size() <= 1 && exp.can_forward_raw(batch, w.keep, w.strip)) {
        // Fast path: nothing changed, forward the sender's own bytes (not_raw: its series travel
        // several lanes, so they go to their lanes below).
        st = exp.submit_raw(std::string(raw_body), batch, raw_encoding,
                            static_cast<std::uint32_t>(out.kept_series),
                            out.kept_samples + out.kept_histograms, &room,
                            split.names.empty() ? std::string_view{} : split.names.front());
    }
    if (st == exporter::submit_status::not_raw) {
        st = exp.submit(
            batch, w.keep,
            any_strip ? std::span<const std::uint64_t>(w.strip) : std::span<const std::uint64_t>(),
            details, &room, split);
    }
    if (st == exporter::submit_status::accepted) {
        out.unconverted_points = details.unconverted_points;
        out.unconverted_message = std::move(details.message);
    } else {
        refused_by_exporter(st, exp, batch.protocol(), out);
        out.refused_points = out.kept_samples + out.kept_histograms;
    }
    room = exporter::reservation{};  // what the submit did not use goes back to the queue
}
}  // namespace mg::ingest
