// The /ui page in a real browser: Debian's chromium, headless, driven by puppeteer-core
// (tests/ui/ui_check.mjs, pinned in tests/ui/package-lock.json, installed into <build>/ui-e2e by
// the build). The daemon runs on ports from the OS with a limits file capping one metric; a
// sender thread keeps a cardinality explosion going (a new `user_id` per series, past the cap)
// beside steady metrics and one metric whose name is hostile HTML, while the browser opens /ui.
//
// Asserted from what the page shows: the exploding metric is the top metric with its limit and
// its drops; the dropped rate is not zero; its own view ranks `user_id` first among the labels,
// names the rule, draws the drops by reason and lists sampled dropped series
// (-ui-show-dropped-samples); the hostile name is shown as text on both views, with no element
// injected, no dialog and no script run; nothing is fetched from outside the daemon; the
// overview fits a phone's width. A second case puts the stats listener behind a bearer token and
// TLS: the page asks for the token, is given it through its form, and shows the same; a third
// puts it behind basic auth, whose credentials the browser gives when challenged. A fourth turns
// tenancy on with two tenants (one named as hostile HTML): the selector lists them as text and
// switches the table, its history and the metric view. A fifth runs two replicas sharing the
// limit through a real redis-server: the page shows the cluster's count beside the replica's.
// Screenshots (overview, metric view, phone) land in <build>/ui-e2e/screenshots as artifacts.
//
// A missing chromium, node or puppeteer-core install fails the test with what to do.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "shared/temp_dir.h"
#include "support/daemon.h"
#include "support/http_client.h"
#include "support/peers.h"
#include "support/process.h"
#include "support/redis_server.h"
#include "support/remote_write_client.h"
#include "support/test_pki.h"

using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

const std::string k_exploding = "checkout_requests_total";
const std::string k_hostile =
    "<img src=x onerror=\"window.__pwned=1\"><script>window.__pwned=2;alert(1)</script>";
constexpr int k_limit = 100;
// The tenant case: two tenants besides the default one, each with a metric of its own; the
// second's name is hostile HTML (a tenant may not hold '/' or control characters).
const std::string k_tenant_a = "team-a";
const std::string k_tenant_a_metric = "team_a_requests_total";
const std::string k_tenant_hostile =
    "<img src=x onerror=\"window.__pwned=3\"><svg onload=alert(3)>";
const std::string k_tenant_hostile_metric = "hostile_tenant_jobs";

const std::string k_limits =
    "rules:\n"
    "  - name: checkout-cap\n"
    "    match:\n"
    "      metric_name: " +
    k_exploding +
    "\n"
    "    max_cardinality: 100\n"
    "defaults:\n"
    "  max_cardinality: 10000\n";

// Sends remote-write batches to the ingest port until stopped: each batch brings 20 new
// `user_id` values of the exploding metric, and the steady metrics again. Runs on its own
// thread: no Catch2 macros here; failures are counted for the test thread to check.
class explosion_sender {
  public:
    // `tenants`: also series of two tenants, by the label `tenant` (-tenancy-source=label).
    // `user`: the prefix of the exploding metric's `user_id` values (replicas of a cluster each
    // get their own, so their series differ).
    explicit explosion_sender(unsigned short port, bool tenants = false, std::string user = "u")
        : tenants_(tenants), user_(std::move(user)), thread_([this, port] { run(port); }) {}
    ~explosion_sender() { stop(); }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    int batches() const { return batches_; }
    int failures() const { return failures_; }

  private:
    void run(unsigned short port) {
        int next_user = 0;
        while (!stop_) {
            std::vector<mg::protocol::owned_timeseries> ts;
            const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count();
            auto add = [&ts, now](std::vector<mg::protocol::owned_label> labels, double v) {
                mg::protocol::owned_timeseries t;
                t.labels = std::move(labels);
                t.samples = {{v, now}};
                ts.push_back(std::move(t));
            };
            for (int i = 0; i < 20; ++i, ++next_user) {
                add({{"__name__", k_exploding},
                     {"route", "/checkout/" + std::to_string(next_user % 3)},
                     {"user_id", user_ + std::to_string(next_user)}},
                    1.0);
            }
            for (int i = 0; i < 30; ++i)
                add({{"__name__", "http_requests_total"}, {"path", "/p" + std::to_string(i)}}, 1);
            for (int i = 0; i < 8; ++i)
                add({{"__name__", "queue_depth"}, {"queue", "q" + std::to_string(i)}}, 2);
            for (int i = 0; i < 3; ++i)
                add({{"__name__", k_hostile}, {"id", std::to_string(i)}}, 3);
            for (int i = 0; tenants_ && i < 12; ++i) {
                add({{"__name__", k_tenant_a_metric},
                     {"path", "/a" + std::to_string(i)},
                     {"tenant", k_tenant_a}},
                    4);
            }
            for (int i = 0; tenants_ && i < 5; ++i) {
                add({{"__name__", k_tenant_hostile_metric},
                     {"job", "j" + std::to_string(i)},
                     {"tenant", k_tenant_hostile}},
                    5);
            }
            try {
                mg::test::http_client c("127.0.0.1", port);
                const auto r = c.request(boost::beast::http::verb::post, "/api/v1/write",
                                         mg::test::prw_body(ts), mg::test::k_prw_headers);
                if (r.status != 204) ++failures_;
            } catch (const std::exception&) {
                ++failures_;
            }
            ++batches_;
            // Paced like a scrape-heavy sender; the page's rates come from these intervals.
            std::this_thread::sleep_for(200ms);
        }
    }

    const bool tenants_;
    const std::string user_;
    std::atomic<bool> stop_{false};
    std::atomic<int> batches_{0};
    std::atomic<int> failures_{0};
    std::thread thread_;
};

json run_browser(const std::string& base, const std::string& token, const std::string& name,
                 const mg::test::temp_dir& dir, const json& basic = nullptr,
                 const json& tenants = nullptr) {
    const std::string ui_dir = MG_UI_E2E_DIR;
    if (!std::filesystem::exists(ui_dir + "/node_modules/puppeteer-core")) {
        FAIL("puppeteer-core is not installed in "
             << ui_dir << ": build the target ui_e2e_npm (npm ci from tests/ui/package-lock.json;"
             << " needs node and npm, scripts/install-deps.sh --e2e)");
    }
    const auto node = mg::test::require_program("node", "nodejs");
    const auto chromium = mg::test::require_program("chromium", "chromium");
    const auto shots = ui_dir + "/screenshots";
    std::filesystem::create_directories(shots);
    json spec = {{"base", base},
                 {"token", token},
                 {"metric", k_exploding},
                 {"hostile", k_hostile},
                 {"chromium", chromium},
                 {"screenshots",
                  {{"overview", shots + "/" + name + "-overview.png"},
                   {"metric", shots + "/" + name + "-metric.png"},
                   {"phone", shots + "/" + name + "-phone.png"}}}};
    if (!basic.is_null()) spec["basic"] = basic;
    if (!tenants.is_null()) spec["tenants"] = tenants;
    const auto spec_file = dir.write("spec.json", spec.dump());
    mg::test::child_process p(mg::test::peer_command(node, {ui_dir + "/ui_check.mjs", spec_file}));
    const auto code = p.wait_exit(180s);
    INFO("ui_check.mjs output:\n" << p.output());
    REQUIRE(code.has_value());
    json result;
    const auto& out = p.output();
    for (std::size_t start = 0; start < out.size();) {
        auto end = out.find('\n', start);
        if (end == std::string::npos) end = out.size();
        auto j = json::parse(out.substr(start, end - start), nullptr, false);
        if (!j.is_discarded() && j.is_object() &&
            (j.contains("topMetric") || j.contains("tenantOptions") || j.contains("error")))
            result = std::move(j);
        start = end + 1;
    }
    REQUIRE(*code == 0);
    REQUIRE(result.is_object());
    for (const char* shot : {"-overview.png", "-metric.png", "-phone.png"})
        CHECK(std::filesystem::file_size(shots + "/" + name + shot) > 10000);
    return result;
}

void check_page(const json& r) {
    INFO(r.dump(2));
    // The overview: the exploding metric on top, at its limit, with its drops.
    CHECK(r["topMetric"] == k_exploding);
    CHECK(r["limitOfTop"] == std::to_string(k_limit));
    CHECK(r["droppedOfTop"] != "0");
    CHECK(r["droppedRate"] != "0");
    CHECK(r["droppedRate"] != "–");
    // The hostile name is there, as text; nothing it holds became an element or ran.
    CHECK(r["hostileText"] == k_hostile);
    CHECK(r["injected"] == 0);
    CHECK(r["scripts"] == 1);  // the page's own app.js
    CHECK(r["pwned"].is_null());
    CHECK(r["dialogs"].empty());
    CHECK(r["pageErrors"].empty());
    CHECK(r["outside"] == 0);
    // The filter keeps the matching metrics, the name column sorts.
    CHECK(r["filtered"] == json::array({k_exploding}));
    const auto sorted = r["sortedByName"].get<std::vector<std::string>>();
    CHECK(std::is_sorted(sorted.begin(), sorted.end()));
    // The metric's view: the exploding label first, its rule and limit, the drops and samples.
    CHECK(r["metricName"] == k_exploding);
    REQUIRE(!r["labels"].empty());
    CHECK(r["labels"][0] == "user_id");
    CHECK(r["rule"] == "rule: checkout-cap");
    CHECK(r["limit"] == std::to_string(k_limit));
    CHECK(r["metricDropped"] != "0");
    CHECK(r["dropLines"].get<int>() >= 1);
    REQUIRE(!r["samples"].empty());
    CHECK(r["samples"][0].get<std::string>().find("user_id=\"u") != std::string::npos);
    CHECK(r["hostileView"]["name"] == k_hostile);
    CHECK(r["hostileView"]["injected"] == 0);
    CHECK(r["hostileView"]["pwned"].is_null());
    // A phone: nothing wider than the screen.
    CHECK(r["phoneOverflow"].get<int>() <= 0);
}

}  // namespace

TEST_CASE("ui: the page shows an explosion, its label and drops, and hostile names as text",
          "[e2e][ui]") {
    mg::test::temp_dir dir;
    const auto limits = dir.write("limits.yaml", k_limits);
    mg::test::running_daemon d({"-limits-config=" + limits, "-ui-history-interval=1s",
                                "-ui-show-dropped-samples", "-log-level=info"});
    explosion_sender sender(d.ingest_port());
    const auto result =
        run_browser("http://127.0.0.1:" + std::to_string(d.stats_port()), "", "plain", dir);
    sender.stop();
    CHECK(sender.failures() == 0);
    CHECK(sender.batches() > 0);
    check_page(result);
    CHECK_FALSE(result.contains("askedForToken"));
    CHECK(result["clusterHead"] == false);
    CHECK(result["clusterOfTop"].is_null());
    CHECK(result["metricClusterShown"] == false);
}

TEST_CASE("ui: behind a bearer token and TLS the page asks for the token and shows the same",
          "[e2e][ui][tls]") {
    mg::test::test_pki pki;
    mg::test::temp_dir dir;
    const auto limits = dir.write("limits.yaml", k_limits);
    mg::test::running_daemon d(
        {"-limits-config=" + limits, "-ui-history-interval=1s", "-ui-show-dropped-samples",
         "-log-level=info", "-stats-bearer-token=ui-TOKEN-7f3a",
         "-stats-tls-cert-file=" + pki.server_cert, "-stats-tls-key-file=" + pki.server_key});
    explosion_sender sender(d.ingest_port());
    const auto result = run_browser("https://127.0.0.1:" + std::to_string(d.stats_port()),
                                    "ui-TOKEN-7f3a", "bearer-tls", dir);
    sender.stop();
    CHECK(sender.failures() == 0);
    check_page(result);
    CHECK(result["askedForToken"] == true);
}

TEST_CASE("ui: behind basic auth the browser's credentials open the page", "[e2e][ui]") {
    mg::test::temp_dir dir;
    const auto limits = dir.write("limits.yaml", k_limits);
    mg::test::running_daemon d({"-limits-config=" + limits, "-ui-history-interval=1s",
                                "-ui-show-dropped-samples", "-log-level=info",
                                "-stats-basic-auth-username=ops",
                                "-stats-basic-auth-password=ui-basic-5e1d"});
    // Without them the data APIs refuse, so the page alone shows nothing.
    mg::test::http_client c("127.0.0.1", d.stats_port());
    CHECK(c.get("/api/v1/cardinality/history").status == 401);
    CHECK(mg::test::http_client("127.0.0.1", d.stats_port()).get("/ui").status == 200);
    explosion_sender sender(d.ingest_port());
    const auto result =
        run_browser("http://127.0.0.1:" + std::to_string(d.stats_port()), "", "basic", dir,
                    {{"username", "ops"}, {"password", "ui-basic-5e1d"}});
    sender.stop();
    CHECK(sender.failures() == 0);
    check_page(result);
    CHECK_FALSE(result.contains("askedForToken"));
}

TEST_CASE("ui: with tenants the selector lists them as text and switches the table and history",
          "[e2e][ui][tenants]") {
    mg::test::temp_dir dir;
    const auto limits = dir.write("limits.yaml", k_limits);
    mg::test::running_daemon d({"-limits-config=" + limits, "-ui-history-interval=1s",
                                "-log-level=info", "-tenancy-source=label",
                                "-tenancy-label=tenant"});
    explosion_sender sender(d.ingest_port(), true);
    const auto r = run_browser(
        "http://127.0.0.1:" + std::to_string(d.stats_port()), "", "tenants", dir, nullptr,
        json::array({{{"name", k_tenant_a}, {"metric", k_tenant_a_metric}},
                     {{"name", k_tenant_hostile}, {"metric", k_tenant_hostile_metric}}}));
    sender.stop();
    CHECK(sender.failures() == 0);
    INFO(r.dump(2));
    CHECK(r["dialogs"].empty());
    CHECK(r["pageErrors"].empty());
    CHECK(r["outside"] == 0);
    // The default tenant first, then the others, each named as text.
    REQUIRE(r["tenantOptions"].size() == 3);
    CHECK(r["tenantOptions"][0]["value"] == "");
    CHECK(r["tenantOptions"][0]["text"] == "default (default)");
    std::vector<std::string> values;
    for (const auto& o : r["tenantOptions"]) values.push_back(o["value"]);
    CHECK(std::find(values.begin(), values.end(), k_tenant_a) != values.end());
    CHECK(std::find(values.begin(), values.end(), k_tenant_hostile) != values.end());
    // The default tenant's table has none of the tenants' metrics.
    const auto& def = r["defaultMetrics"];
    CHECK(std::find(def.begin(), def.end(), k_exploding) != def.end());
    CHECK(std::find(def.begin(), def.end(), k_tenant_a_metric) == def.end());
    CHECK(std::find(def.begin(), def.end(), k_tenant_hostile_metric) == def.end());
    // Each tenant's table is its own metric alone, with the tenant named as text.
    const auto& a = r["tenantViews"][k_tenant_a];
    CHECK(a["metrics"] == json::array({k_tenant_a_metric}));
    CHECK(a["hasDefaultMetric"] == false);
    CHECK(a["selected"] == k_tenant_a);
    CHECK(a["scope"] == "tenant " + k_tenant_a);
    CHECK(a["totalSeries"] == "12");
    CHECK(a["chartTitle"].get<std::string>().starts_with("Active series of the tenant"));
    const auto& h = r["tenantViews"][k_tenant_hostile];
    CHECK(h["metrics"] == json::array({k_tenant_hostile_metric}));
    CHECK(h["selected"] == k_tenant_hostile);
    CHECK(h["scope"] == "tenant " + k_tenant_hostile);
    CHECK(h["totalSeries"] == "5");
    CHECK(h["injected"] == 0);
    CHECK(h["pwned"].is_null());
    // The tenant's metric view is scoped to it, and leads back to the tenant's overview.
    const auto& m = r["tenantMetricView"];
    CHECK(m["name"] == k_tenant_a_metric);
    CHECK(m["tenant"] == "tenant " + k_tenant_a);
    CHECK(m["active"] == "12");
    CHECK(m["labels"].size() >= 1);
    CHECK(m["back"] == "#/t/" + k_tenant_a);
    CHECK(m["hash"] == "#/t/" + k_tenant_a + "/metric/" + k_tenant_a_metric);
    CHECK(r["backToDefault"]["hash"] == "#/");
    CHECK(r["backToDefault"]["scopeHidden"] == true);
    CHECK(r["phoneOverflow"].get<int>() <= 0);
}

TEST_CASE("ui: in cluster mode the cluster's count of a metric shows beside this replica's",
          "[e2e][ui][cluster]") {
    mg::test::redis_server redis;
    mg::test::temp_dir dir;
    const auto limits = dir.write("limits.yaml", k_limits);
    const std::vector<std::string> args{
        "-limits-config=" + limits,
        "-ui-history-interval=1s",
        "-ui-show-dropped-samples",
        "-log-level=info",
        "-cluster-redis-addr=127.0.0.1:" + std::to_string(redis.port()),
        "-cluster-timeout=2s"};
    mg::test::running_daemon a(args);
    mg::test::running_daemon b(args);
    // Two replicas share the metric's limit; each sees its own users.
    explosion_sender to_a(a.ingest_port());
    explosion_sender to_b(b.ingest_port(), false, "v");
    const auto r =
        run_browser("http://127.0.0.1:" + std::to_string(a.stats_port()), "", "cluster", dir);
    to_a.stop();
    to_b.stop();
    CHECK(to_a.failures() == 0);
    CHECK(to_b.failures() == 0);
    check_page(r);
    INFO(r.dump(2));
    // The table has the cluster's column; the exploding metric's cluster-wide count is the
    // shared limit (as Redis last answered this replica), at least what this replica holds.
    CHECK(r["clusterHead"] == true);
    REQUIRE(r["clusterOfTop"].is_string());
    REQUIRE(r["clusterOfTop"] != "–");
    const auto cluster = std::stoi(r["clusterOfTop"].get<std::string>());
    CHECK(cluster >= k_limit);
    CHECK(cluster <= k_limit + 5);
    CHECK(std::stoi(r["activeOfTop"].get<std::string>()) <= cluster);
    CHECK(r["metricClusterShown"] == true);
    CHECK(std::stoi(r["metricCluster"].get<std::string>()) >= k_limit);
}
