#include "ui/cardinality_history.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "limits/tenant_escape.h"

namespace mg::ui {

namespace {

std::uint32_t saturate(std::uint64_t v) {
    return static_cast<std::uint32_t>(
        std::min<std::uint64_t>(v, std::numeric_limits<std::uint32_t>::max()));
}

// Per second over the interval; a counter that went backwards (a restart of its source) counts 0.
double rate(std::uint64_t now, std::uint64_t before, double seconds) {
    return now >= before && seconds > 0 ? static_cast<double>(now - before) / seconds : 0;
}

}  // namespace

cardinality_history::cardinality_history(history_options options) : options_(options) {
    if (options_.slots == 0 || options_.top_n == 0 || options_.top_tenants == 0 ||
        options_.interval.count() <= 0)
        throw std::invalid_argument("cardinality_history: slots, top_n and interval must be > 0");
    ring_.resize(options_.slots);
}

std::string cardinality_history::key_of(std::string_view tenant, std::string_view metric) {
    // Escaped, so a tenant is never spelled with a NUL whatever bytes the governor was handed.
    std::string key = limits::escape_tenant(tenant);
    key.push_back('\0');
    key.append(metric);
    return key;
}

std::string cardinality_history::tenant_key_of(std::string_view tenant) {
    return '\x01' + limits::escape_tenant(tenant);
}

std::uint32_t cardinality_history::acquire(const std::string& name) {
    auto [it, inserted] = names_.try_emplace(name);
    if (inserted) {
        if (!free_ids_.empty()) {
            it->second.id = free_ids_.back();
            free_ids_.pop_back();
            by_id_[it->second.id] = &it->first;
        } else {
            it->second.id = static_cast<std::uint32_t>(by_id_.size());
            by_id_.push_back(&it->first);
        }
    }
    ++it->second.refs;
    return it->second.id;
}

void cardinality_history::release(std::uint32_t id) {
    auto it = names_.find(*by_id_[id]);
    if (--it->second.refs != 0) return;
    by_id_[id] = nullptr;
    free_ids_.push_back(id);
    names_.erase(it);
}

void cardinality_history::record(const history_input& in) {
    std::lock_guard lock(mu_);
    slot fresh;
    auto& t = fresh.totals;
    t.unix_ms = in.unix_ms;
    t.total_series = in.total_series;
    t.max_series = in.max_series;
    if (have_previous_) {
        const double seconds = static_cast<double>(in.unix_ms - previous_ms_) / 1000.0;
        t.kept_per_second = rate(in.kept_total, previous_kept_, seconds);
        for (std::size_t r = 0; r < limits::k_drop_reasons; ++r)
            t.dropped_per_second[r] = rate(in.dropped_total[r], previous_dropped_[r], seconds);
    }
    have_previous_ = true;
    previous_ms_ = in.unix_ms;
    previous_kept_ = in.kept_total;
    previous_dropped_ = in.dropped_total;

    // Every tenant's metrics ranked together, largest first; ties keep the default tenant's
    // first, then the input's order.
    struct ranked {
        std::string_view tenant;
        const limits::metric_summary* m;
    };
    std::vector<ranked> all;
    all.reserve(in.metrics.size() + in.tenant_metrics.size());
    for (const auto& m : in.metrics) all.push_back({{}, &m});
    for (const auto& [tenant, m] : in.tenant_metrics) all.push_back({tenant, &m});
    std::stable_sort(all.begin(), all.end(), [](const ranked& a, const ranked& b) {
        return a.m->active_series > b.m->active_series;
    });
    const auto n = std::min(options_.top_n, all.size());
    fresh.points.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        const auto& m = *all[i].m;
        const auto key = key_of(all[i].tenant, m.name);
        point p;
        const bool known = names_.contains(key);
        p.id = acquire(key);
        auto& entry = names_.find(key)->second;
        for (std::size_t r = 0; r < k_metric_reasons.size(); ++r) {
            const auto now = m.dropped_by_reason[static_cast<std::size_t>(k_metric_reasons[r])];
            // A metric new to the ring: its drops so far are attributed to this interval, the
            // best that is known of them.
            const auto before = known && entry.last_dropped[r] <= now ? entry.last_dropped[r] : 0;
            p.dropped[r] = saturate(now - before);
            entry.last_dropped[r] = now;
        }
        p.active = saturate(m.active_series);
        fresh.points.push_back(p);
    }
    std::vector<const std::pair<std::string, std::uint64_t>*> tenants;
    tenants.reserve(in.tenant_series.size());
    for (const auto& ts : in.tenant_series) tenants.push_back(&ts);
    std::stable_sort(tenants.begin(), tenants.end(),
                     [](const auto* a, const auto* b) { return a->second > b->second; });
    tenants.resize(std::min(tenants.size(), options_.top_tenants));
    fresh.tenants.reserve(tenants.size());
    for (const auto* ts : tenants)
        fresh.tenants.push_back({acquire(tenant_key_of(ts->first)), saturate(ts->second)});
    // The names of the new sample are held before the old one lets go of its own, so a metric
    // present in both keeps its entry (and its last drop counts).
    auto& old = ring_[next_];
    for (const auto& p : old.points) release(p.id);
    for (const auto& p : old.tenants) release(p.id);
    old = std::move(fresh);
    next_ = (next_ + 1) % ring_.size();
    count_ = std::min(count_ + 1, ring_.size());
}

const cardinality_history::slot& cardinality_history::at(std::size_t i) const {
    return ring_[(next_ + ring_.size() - count_ + i) % ring_.size()];
}

std::vector<history_totals> cardinality_history::totals() const {
    std::lock_guard lock(mu_);
    std::vector<history_totals> out;
    out.reserve(count_);
    for (std::size_t i = 0; i < count_; ++i) out.push_back(at(i).totals);
    return out;
}

std::vector<metric_history> cardinality_history::rows(const std::vector<std::uint32_t>& ids) const {
    std::vector<metric_history> out(ids.size());
    std::unordered_map<std::uint32_t, std::size_t> row_of;
    for (std::size_t r = 0; r < ids.size(); ++r) {
        row_of[ids[r]] = r;
        const auto& key = *by_id_[ids[r]];
        const auto cut = key.find('\0');
        out[r].tenant = limits::unescape_tenant(key.substr(0, cut)).value_or(std::string());
        out[r].name = key.substr(cut + 1);
        out[r].active_series.assign(count_, -1);
        for (auto& d : out[r].dropped) d.assign(count_, 0);
    }
    // One pass over every point of the ring, whatever the number of rows.
    for (std::size_t i = 0; i < count_; ++i) {
        for (const auto& p : at(i).points) {
            auto it = row_of.find(p.id);
            if (it == row_of.end()) continue;
            auto& row = out[it->second];
            row.active_series[i] = p.active;
            for (std::size_t r = 0; r < p.dropped.size(); ++r) row.dropped[r][i] = p.dropped[r];
        }
    }
    return out;
}

std::vector<metric_history> cardinality_history::top(std::size_t limit,
                                                     std::string_view tenant) const {
    std::lock_guard lock(mu_);
    if (count_ == 0) return {};
    const auto prefix = key_of(tenant, {});
    std::vector<std::uint32_t> ids;
    for (const auto& p : at(count_ - 1).points) {
        if (ids.size() == limit) break;
        if (by_id_[p.id]->starts_with(prefix)) ids.push_back(p.id);
    }
    return rows(ids);
}

std::vector<std::int64_t> cardinality_history::tenant_series(std::string_view tenant) const {
    std::lock_guard lock(mu_);
    auto it = names_.find(tenant_key_of(tenant));
    if (it == names_.end()) return {};
    std::vector<std::int64_t> out(count_, -1);
    for (std::size_t i = 0; i < count_; ++i) {
        for (const auto& p : at(i).tenants) {
            if (p.id == it->second.id) out[i] = p.active;
        }
    }
    return out;
}

std::optional<metric_history> cardinality_history::metric(std::string_view name,
                                                          std::string_view tenant) const {
    std::lock_guard lock(mu_);
    auto it = names_.find(key_of(tenant, name));
    if (it == names_.end()) return std::nullopt;
    return rows({it->second.id}).front();
}

std::size_t cardinality_history::samples() const {
    std::lock_guard lock(mu_);
    return count_;
}

std::size_t cardinality_history::memory_bytes() const {
    std::lock_guard lock(mu_);
    std::size_t bytes = sizeof(*this) + ring_.capacity() * sizeof(slot);
    for (const auto& s : ring_) {
        bytes += s.points.capacity() * sizeof(point) + s.tenants.capacity() * sizeof(tenant_point);
    }
    // A node of the name map: the pair, the hash and next pointer, and the bucket pointer; the
    // name's own heap block when it is too long for the small-string buffer.
    for (const auto& [name, entry] : names_) {
        bytes += sizeof(std::pair<const std::string, name_entry>) + 2 * sizeof(void*) +
                 sizeof(std::size_t);
        if (name.capacity() > 15) bytes += name.capacity() + 1;
    }
    bytes += names_.bucket_count() * sizeof(void*);
    bytes += by_id_.capacity() * sizeof(const std::string*) +
             free_ids_.capacity() * sizeof(std::uint32_t);
    return bytes;
}

}  // namespace mg::ui
