// Export keeps the tenant (issue 19): the queue never batches two tenants' payloads together, a
// 413 split keeps it, the disk queue persists it (and still reads records written before it had
// tenants), and the exporter sends each upstream request with its one tenant in the tenant
// header: a request of several tenants is split, and without a tenant header nothing is added.
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "export/disk_queue.h"
#include "export/payload.h"
#include "export/queue.h"
#include "exporter_fixture.h"
#include "shared/temp_dir.h"

using namespace exporter_fixture;

namespace {

ex::payload tenant_payload(const std::string& tenant, std::uint32_t series = 1) {
    ex::payload p;
    p.tenant = tenant;
    p.series = series;
    p.points = series;
    p.body.assign(10, 'x');
    return p;
}

std::vector<std::string> tenants_of(const ex::taken_batch& b) {
    std::vector<std::string> out;
    for (const auto& p : b.items) out.push_back(p.tenant);
    return out;
}

// Each upstream request's tenant header value and metric names, in arrival order.
std::vector<std::pair<std::string, std::multiset<std::string>>> by_request(
    const ex::test::request_log& log, const std::string& header) {
    std::vector<std::pair<std::string, std::multiset<std::string>>> out;
    for (const auto& req : log.all()) {
        const auto [first, last] = req.base().equal_range(header);
        CHECK(std::distance(first, last) <= 1);  // one tenant header per request
        const std::string tenant = first == last ? std::string() : std::string(first->value());
        out.emplace_back(tenant, as_set(decode_names(req)));
    }
    return out;
}

}  // namespace

TEST_CASE("the queue never batches payloads of different tenants", "[export][tenant]") {
    mg::fake_clock clock;
    ex::export_queue q(clock, 1 << 20);
    for (const char* t : {"a", "a", "b", "b", "a", ""}) {
        auto p = tenant_payload(t);
        REQUIRE(q.try_push(p));
    }
    std::vector<std::vector<std::string>> batches;
    for (int i = 0; i < 4; ++i) {
        ex::taken_batch b;
        REQUIRE(q.next_batch(b, 100, std::chrono::nanoseconds(0), clock.monotonic_now()) ==
                ex::export_queue::wait_result::batch);
        batches.push_back(tenants_of(b));
        q.release(b);
    }
    CHECK(batches == std::vector<std::vector<std::string>>{{"a", "a"}, {"b", "b"}, {"a"}, {""}});
    CHECK(q.queued_payloads() == 0);
}

TEST_CASE("forwarded bodies merged behind a backlog stay with their tenant", "[export][tenant]") {
    mg::fake_clock clock;
    ex::export_queue q(clock, 1 << 20);
    q.set_merge_forwarded(true);  // a long round trip: a backlog merges compressed bodies
    // A backlog of forwarded (compressed) bodies, alternating in runs: a, a, a, b, b, a, ...
    std::vector<std::string> pushed;
    for (int i = 0; i < 12; ++i) {
        const std::string t = (i / 3) % 2 == 0 ? "a" : "b";
        auto p = tenant_payload(t);
        p.compressed = true;
        REQUIRE(q.try_push(p));
        pushed.push_back(t);
    }
    std::vector<std::string> seen;
    while (q.queued_payloads() != 0) {
        ex::taken_batch b;
        REQUIRE(q.next_batch(b, 100, std::chrono::nanoseconds(0), clock.monotonic_now()) ==
                ex::export_queue::wait_result::batch);
        const auto ts = tenants_of(b);
        CHECK(std::set<std::string>(ts.begin(), ts.end()).size() == 1);
        seen.insert(seen.end(), ts.begin(), ts.end());
        q.release(b);
    }
    CHECK(seen == pushed);  // in order, nothing lost
}

TEST_CASE("a 413 split keeps the payload's tenant", "[export][tenant]") {
    const auto r = make_rw({"a", "b", "c"});
    ex::payload p;
    p.body = r->body;
    p.series = 3;
    p.points = 6;
    p.tenant = "team-a";
    ex::payload first, second;
    REQUIRE(ex::split_in_half(p, first, second).ok());
    CHECK(first.tenant == "team-a");
    CHECK(second.tenant == "team-a");
}

TEST_CASE("the disk queue persists each record's tenant", "[export][tenant][disk]") {
    mg::test::temp_dir d;
    const std::string hostile("a\0b/..", 6);  // never on disk in practice; bytes are bytes
    {
        auto q = ex::disk_queue::open(d.path(), 64 << 20);
        REQUIRE(q.ok());
        for (const auto& t :
             {std::string("team-a"), std::string(), hostile, std::string(4096, 't')}) {
            auto p = tenant_payload(t);
            p.body = "body-" + std::to_string(t.size());
            REQUIRE((*q)->append(p) == ex::disk_queue::append_status::ok);
        }
    }
    auto q = ex::disk_queue::open(d.path(), 64 << 20);
    REQUIRE(q.ok());
    const auto got = (*q)->take_recovered();
    REQUIRE(got.size() == 4);
    CHECK(got[0].tenant == "team-a");
    CHECK(got[0].body == "body-6");
    CHECK(got[1].tenant.empty());
    CHECK(got[1].body == "body-0");
    CHECK(got[2].tenant == hostile);
    CHECK(got[3].tenant == std::string(4096, 't'));
    CHECK(got[3].body == "body-4096");
    CHECK((*q)->corrupt() == 0);
}

TEST_CASE("the disk queue reads segments written before tenants (version 1)",
          "[export][tenant][disk]") {
    mg::test::temp_dir d;
    // A version 1 segment as the previous release wrote it: header, then one record whose meta
    // has two zero bytes where version 2 keeps the tenant's length.
    const auto put = [](std::string& s, std::uint64_t v, int n) {
        for (int i = 0; i < n; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    };
    const std::string body = "old-body";
    std::string meta;
    put(meta, 1, 8);    // id
    meta.push_back(0);  // prw_v1
    meta.push_back(1);  // compressed
    put(meta, 0, 2);
    put(meta, 3, 4);  // series
    put(meta, 9, 8);  // points
    std::string seg = "MGDQ";
    put(seg, 1, 4);
    put(seg, meta.size() + body.size(), 4);
    const auto crc = [&] {
        const std::string all = meta + body;
        std::uint32_t c = 0xFFFFFFFFu;  // zlib's CRC-32, bit by bit
        for (const char ch : all) {
            c ^= static_cast<unsigned char>(ch);
            for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
        }
        return ~c;
    }();
    put(seg, crc, 4);
    seg += meta + body;
    {
        std::ofstream f(d.path() + "/seg-00000000000000000001.mgq", std::ios::binary);
        f << seg;
    }
    auto q = ex::disk_queue::open(d.path(), 64 << 20);
    REQUIRE(q.ok());
    const auto got = (*q)->take_recovered();
    CHECK((*q)->corrupt() == 0);
    REQUIRE(got.size() == 1);
    CHECK(got[0].tenant.empty());
    CHECK(got[0].body == body);
    CHECK(got[0].series == 3);
    CHECK(got[0].points == 9);
    CHECK(got[0].compressed);
    // New records go to a new (version 2) segment, after the old one's ids.
    auto p = tenant_payload("team-b");
    REQUIRE((*q)->append(p) == ex::disk_queue::append_status::ok);
    CHECK(p.disk_id == 2);
    q->reset();
    auto again = ex::disk_queue::open(d.path(), 64 << 20);
    REQUIRE(again.ok());
    const auto both = (*again)->take_recovered();
    REQUIRE(both.size() == 2);
    CHECK(both[0].body == body);
    CHECK(both[1].tenant == "team-b");
}

TEST_CASE("each upstream request carries one tenant, in the tenant header", "[export][tenant]") {
    fake_backend backend;
    prometheus::Registry reg;
    auto c = config_for(backend.url());
    c.tenant_header = "X-Scope-OrgID";
    c.batch_size = 100;
    c.flush_interval = 1h;  // everything waits for the drain: merged where it may be
    auto e = make_exporter(c, reg);
    // One request of three tenants, then single-tenant ones (submit and the raw path).
    const auto mixed = make_rw({"a1", "b1", "a2", "c1"});
    const std::vector<std::string_view> tenants = {"team-a", "team-b", "team-c"};
    const std::vector<std::uint32_t> of = {0, 1, 0, 2};
    ex::submit_details details;
    REQUIRE(e->submit(mixed->batch, mixed->keep_all(), {}, details, nullptr, {tenants, of}) ==
            ex::submit_status::accepted);
    const auto more_a = make_rw({"a3"});
    const std::vector<std::string_view> only_a = {"team-a"};
    REQUIRE(e->submit(more_a->batch, more_a->keep_all(), {}, details, nullptr, {only_a, {}}) ==
            ex::submit_status::accepted);
    const auto raw_b = make_rw({"b2"});
    std::string snappy_body = raw_b->snappy();
    REQUIRE(e->submit_raw(snappy_body, pr::source_protocol::remote_write_v1,
                          ex::body_encoding::snappy, 1, 2, nullptr,
                          "team-b") == ex::submit_status::accepted);
    REQUIRE(drain_for(*e).complete);

    std::map<std::string, std::multiset<std::string>> got;
    for (const auto& [tenant, names] : by_request(backend.log(), "X-Scope-OrgID")) {
        INFO(tenant);
        // Every series of a request is its tenant's (names start with the tenant's letter).
        for (const auto& n : names) CHECK(n[0] == tenant.back());
        got[tenant].insert(names.begin(), names.end());
    }
    CHECK(got == std::map<std::string, std::multiset<std::string>>{
                     {"team-a", {"a1", "a2", "a3"}}, {"team-b", {"b1", "b2"}}, {"team-c", {"c1"}}});
    check_accounting(e->stats());
}

TEST_CASE(
    "a request of two tenants over several shards: one tenant per upstream request, none "
    "empty",
    "[export][tenant][shards]") {
    fake_backend backend;
    prometheus::Registry reg;
    auto c = config_for(backend.url());
    c.tenant_header = "X-Scope-OrgID";
    c.min_shards = 4;
    c.max_shards = 4;
    // A lane map of one series: the others travel hash % shards, so the request's series spread
    // over the lanes (a new request's series would otherwise all take one lane, lane_affinity.h).
    ex::exporter_deps deps;
    deps.lane_map_max_series = 1;
    auto e = make_exporter(c, reg, queue_of(), std::move(deps));
    // 39 series of team-a over every lane, 1 of team-b: team-b's part of the request has
    // nothing for most of the lanes the request uses.
    std::vector<std::string> names;
    std::vector<std::uint32_t> of;
    for (int i = 0; i < 40; ++i) {
        names.push_back((i != 20 ? "a" : "b") + std::to_string(i));
        of.push_back(i != 20 ? 0 : 1);
    }
    const auto r = make_rw(names);
    const std::vector<std::string_view> tenants = {"team-a", "team-b"};
    ex::submit_details details;
    REQUIRE(e->submit(r->batch, r->keep_all(), {}, details, nullptr, {tenants, of}) ==
            ex::submit_status::accepted);
    REQUIRE(drain_for(*e).complete);

    std::map<std::string, std::multiset<std::string>> got;
    const auto requests = by_request(backend.log(), "X-Scope-OrgID");
    CHECK(requests.size() > 2);  // team-a split over lanes
    for (const auto& [tenant, got_names] : requests) {
        INFO(tenant);
        CHECK_FALSE(got_names.empty());
        for (const auto& n : got_names) CHECK(n[0] == tenant.back());
        got[tenant].insert(got_names.begin(), got_names.end());
    }
    CHECK(got["team-a"].size() == 39);
    CHECK(got["team-b"].size() == 1);
    check_accounting(e->stats());
}

TEST_CASE("a restart with the backend down replays each payload to its tenant",
          "[export][tenant][disk]") {
    mg::test::temp_dir d;
    const auto port = free_port();
    auto c = config_for("http://127.0.0.1:" + std::to_string(port) + "/api/v1/write");
    c.tenant_header = "X-Scope-OrgID";
    auto q = queue_of();
    q.path = d.path();
    {
        prometheus::Registry reg;
        auto e = make_exporter(c, reg, q);
        const auto r = make_rw({"a1", "b1", "a2"});
        const std::vector<std::string_view> tenants = {"team-a", "team-b"};
        const std::vector<std::uint32_t> of = {0, 1, 0};
        ex::submit_details details;
        REQUIRE(e->submit(r->batch, r->keep_all(), {}, details, nullptr, {tenants, of}) ==
                ex::submit_status::accepted);
        REQUIRE(eventually([&] {
            return metric(reg, "metrics_governor_export_errors_total", {{"reason", "connect"}}) >=
                   1;
        }));
        REQUIRE(drain_for(*e, 50ms).complete);  // on disk
    }
    fake_backend backend(ex::test::always(204), port);
    prometheus::Registry reg;
    auto e = make_exporter(c, reg, q);
    REQUIRE(eventually([&] { return e->stats().sent_series == 3; }));
    REQUIRE(drain_for(*e).complete);
    std::map<std::string, std::multiset<std::string>> got;
    for (const auto& [tenant, names] : by_request(backend.log(), "X-Scope-OrgID"))
        got[tenant].insert(names.begin(), names.end());
    CHECK(got == std::map<std::string, std::multiset<std::string>>{{"team-a", {"a1", "a2"}},
                                                                   {"team-b", {"b1"}}});
}

TEST_CASE("without a tenant header no header is added, whatever the payload says",
          "[export][tenant]") {
    fake_backend backend;
    prometheus::Registry reg;
    auto e = make_exporter(config_for(backend.url()), reg);
    const auto r = make_rw({"x"});
    const std::vector<std::string_view> t = {"team-a"};
    ex::submit_details details;
    REQUIRE(e->submit(r->batch, r->keep_all(), {}, details, nullptr, {t, {}}) ==
            ex::submit_status::accepted);
    REQUIRE(backend.log().wait(1));
    CHECK(backend.log().all()[0].base().count("X-Scope-OrgID") == 0);
    drain_for(*e);
}

TEST_CASE("payloads merged behind a slow request keep their tenant header", "[export][tenant]") {
    // The first request is held at the backend, so the payloads submitted meanwhile queue behind
    // it on the one lane and go out merged, as remote write in wire encoding (merge_snappy).
    std::promise<void> release;
    std::shared_future<void> gate = release.get_future().share();
    std::atomic<bool> first_in{false};
    fake_backend backend([gate, &first_in](const mg::http::request& req, std::size_t n) {
        if (n == 0) {
            first_in = true;
            gate.wait();
        }
        return ex::test::reply(req, 204);
    });
    prometheus::Registry reg;
    auto c = config_for(backend.url());
    c.tenant_header = "X-Scope-OrgID";
    c.max_shards = 1;
    c.min_shards = 1;
    auto e = make_exporter(c, reg);
    auto send_raw = [&](const std::string& name, std::string_view tenant) {
        const auto r = make_rw({name});
        const std::vector<std::string_view> t = {tenant};
        ex::submit_details details;
        REQUIRE(e->submit(r->batch, r->keep_all(), {}, details, nullptr, {t, {}}) ==
                ex::submit_status::accepted);
    };
    send_raw("a1", "team-a");
    REQUIRE(eventually([&] { return first_in.load(); }));
    send_raw("b1", "team-b");
    send_raw("b2", "team-b");
    send_raw("b3", "team-b");
    send_raw("a2", "team-a");
    release.set_value();
    REQUIRE(drain_for(*e).complete);
    std::map<std::string, std::multiset<std::string>> got;
    std::size_t requests = 0;
    for (const auto& [tenant, names] : by_request(backend.log(), "X-Scope-OrgID")) {
        INFO("tenant header \"" << tenant << "\"");
        for (const auto& n : names) CHECK(n[0] == tenant.back());
        got[tenant].insert(names.begin(), names.end());
        ++requests;
    }
    CHECK(got == std::map<std::string, std::multiset<std::string>>{{"team-a", {"a1", "a2"}},
                                                                   {"team-b", {"b1", "b2", "b3"}}});
    CHECK(requests < 5);  // team-b's bodies were merged: the path this test is about
    check_accounting(e->stats());
}
