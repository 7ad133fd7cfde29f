// metrics-governor: builds the modules from their options (mapped from the configuration in
// wiring.h), signal handling, startup and graceful shutdown. No logic worth testing lives here;
// the integration tests drive this binary as a whole.
//
// Threads: the main thread waits for a stop signal and then runs the shutdown sequence; N I/O
// threads run the io_context (HTTP sessions, signal handling). Background modules (persistence,
// export) own their threads; the shutdown sequence in run_daemon stops each of them in turn
// (persistence's final save beside the export drain) within -shutdown-timeout.
#include <malloc.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "cluster/cluster_admission.h"
#include "common/units.h"
#include "config/config.h"
#include "export/exporter.h"
#include "grpc_ingest/grpc_listener.h"
#include "grpc_plugin/plugin_loader.h"
#include "healthcheck.h"
#include "http/access.h"
#include "http/byte_budget.h"
#include "http/fd_limit.h"
#include "http/server.h"
#include "ingest/adaptors.h"
#include "ingest/grpc_adaptor.h"
#include "ingest/overflow_emitter.h"
#include "ingest/overflow_metrics.h"
#include "ingest/overflow_sink.h"
#include "ingest/receiver.h"
#include "limits/cardinality_stats.h"
#include "limits/governor.h"
#include "limits/limits_file.h"
#include "listener_access.h"
#include "logging/log.h"
#include "overflow_state.h"
#include "persistence/bloom_persistence.h"
#include "persistence/governor_host.h"
#include "pid_file.h"
#include "state_command.h"
#include "stop_signals.h"
#include "telemetry/health.h"
#include "telemetry/listener_collector.h"
#include "telemetry/process_collector.h"
#include "telemetry/stats_endpoints.h"
#include "ui/cardinality_history.h"
#include "ui/drop_samples.h"
#include "ui/history_sampler.h"
#include "ui/ui_routes.h"
#include "validate.h"
#include "wiring.h"

#ifndef MG_VERSION
#define MG_VERSION "0.0.0-dev"
#endif
#ifndef MG_BUILD_TYPE
#define MG_BUILD_TYPE "unknown"
#endif

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Exit codes (docs/operations.md): 0 a clean stop, 1 a failure to start or run, 2 a configuration
// error, 3 stopped, but data was lost on the way out (the export queue not drained, or bloom state
// not saved in full), so a supervisor can tell.
constexpr int k_exit_data_lost = 3;

// gRPC's own log lines (grpc_ingest/grpc_logs.h): its errors as warnings (a peer's failed
// handshake or a dropped connection lands there, not an error of ours), the rest as debug.
void log_grpc_line(bool error, std::string_view message, std::string_view source) {
    if (error) {
        mg::logging::warn("grpc",
                          {{"message", std::string(message)}, {"source", std::string(source)}});
    } else {
        mg::logging::debug("grpc",
                           {{"message", std::string(message)}, {"source", std::string(source)}});
    }
}

// Tells the main thread when to stop; set from the signal handler on an I/O thread.
class stop_latch {
  public:
    void trigger(std::string reason) {
        {
            std::lock_guard lock(mu_);
            if (triggered_) return;
            triggered_ = true;
            reason_ = std::move(reason);
        }
        cv_.notify_all();
    }
    std::string wait() {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return triggered_; });
        return reason_;
    }
    bool triggered() const {
        std::lock_guard lock(mu_);
        return triggered_;
    }

  private:
    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool triggered_ = false;
    std::string reason_;
};

// What runs on SIGHUP, by component (the limits file today).
struct lifecycle_hooks {
    std::vector<std::pair<std::string, std::function<void()>>> on_reload;
};

void watch_signals(asio::signal_set& signals, stop_latch& stop, const lifecycle_hooks& hooks) {
    signals.async_wait([&signals, &stop, &hooks](const boost::system::error_code& ec, int signo) {
        if (ec) return;
        if (signo == SIGHUP) {
            mg::logging::info("received SIGHUP, reloading", {{"hooks", hooks.on_reload.size()}});
            for (const auto& [name, hook] : hooks.on_reload) {
                try {
                    hook();
                } catch (const std::exception& e) {
                    mg::logging::error("reload failed", {{"component", name}, {"error", e.what()}});
                }
            }
        } else if (stop.triggered()) {
            mg::logging::warn("already shutting down",
                              {{"signal", signo == SIGINT ? "SIGINT" : "SIGTERM"}});
        } else {
            stop.trigger(signo == SIGINT ? "SIGINT" : "SIGTERM");
        }
        watch_signals(signals, stop, hooks);
    });
}

// -receiver-max-inflight-bytes, or its default from the memory the process may use.
std::uint64_t inflight_limit(std::uint64_t configured) {
    if (configured != 0) return configured;
    const auto memory = mg::http::memory_available_to_process();
    const auto limit = mg::http::inflight_budget_for(memory.value_or(0));
    mg::logging::info("in-flight request budget",
                      {{"max_inflight_bytes", limit},
                       {"memory_bytes", memory.value_or(0)},
                       {"from", memory ? "memory limit / 4" : "minimum"}});
    return limit;
}

// After a burst of large requests glibc keeps the freed memory in its arenas; give it back to
// the system once the burst is over (RSS returns near its idle level), at most every refresh.
void give_back_memory(mg::http::byte_budget& inflight) {
    constexpr std::uint64_t k_burst = 32ull << 20;
    if (inflight.take_high_water() >= k_burst && inflight.held() < k_burst) ::malloc_trim(0);
}

// Shared with `validate` (listener_access.h), so both refuse the same TLS files alike.
using mg::cmd::make_listener_access;
using mg::cmd::stats_open_paths;

int run_daemon(const mg::config::app_config& cfg) {
    const auto started = std::chrono::steady_clock::now();
    const unsigned threads = cfg.effective_parallelism();

    auto health = std::make_shared<mg::telemetry::health>();
    auto registry = std::make_shared<prometheus::Registry>();
    auto process = std::make_shared<mg::telemetry::process_collector>(
        mg::telemetry::build_info{MG_VERSION, __VERSION__, MG_BUILD_TYPE});

    asio::io_context ioc(static_cast<int>(threads));
    lifecycle_hooks hooks;
    stop_latch stop;

    // Every module's settings, mapped in one tested place.
    const auto options = mg::cmd::module_options_from(cfg);
    auto governor = std::make_shared<mg::limits::governor>(options.governor,
                                                           mg::system_clock_instance(), registry);
    if (!cfg.limits.config.empty()) {
        auto file = mg::limits::load_limits_file(cfg.limits.config);
        if (!file.ok()) {
            std::cerr << "metrics-governor: invalid limits file (-limits-config):\n"
                      << file.error_message() << "\n";
            return 2;
        }
        mg::logging::info("limits loaded", {{"path", cfg.limits.config},
                                            {"rules", file->rules.size()},
                                            {"defaults", file->has_defaults},
                                            {"dry_run", cfg.limits.dry_run}});
        governor->set_limits(std::make_shared<mg::limits::limits_file>(std::move(*file)));
    }
    // Cluster mode: the limits are shared through Redis (docs/cluster.md). The client connects on
    // first use, so a Redis that is not up yet delays nothing: the failure policy decides then.
    if (options.cluster) {
        auto port = mg::cluster::make_cluster_admission(
            ioc, *options.cluster, mg::system_clock_instance(), registry.get());
        if (!port.ok()) {
            std::cerr << "metrics-governor: invalid cluster configuration: " << port.error_message()
                      << "\n";
            return 2;
        }
        governor->set_cluster(*port, options.cluster->policy);
        mg::logging::info(
            "cluster mode",
            {{"redis", options.cluster->client.addresses.front()},
             {"redis_cluster", options.cluster->client.cluster},
             {"tls", options.cluster->client.connection.tls.enabled},
             {"failure_policy", std::string(mg::limits::policy_name(options.cluster->policy))},
             {"timeout_ms", options.cluster->admission.timeout.count()}});
    }
    // Restore before any listener serves: the first request is decided on the saved state.
    mg::persistence::governor_host tracker_host(*governor);
    std::unique_ptr<mg::persistence::bloom_persistence> persistence;
    if (options.persistence) {
        persistence = std::make_unique<mg::persistence::bloom_persistence>(
            *options.persistence, tracker_host, mg::system_clock_instance(),
            mg::posix_file_system(), registry);
        persistence->restore();
        governor->refresh();
        persistence->start();
    }
    hooks.on_reload.emplace_back("limits", [&cfg, governor] {
        if (cfg.limits.config.empty()) {
            mg::logging::info("no limits file to reload (-limits-config is empty)");
            return;
        }
        auto file = mg::limits::load_limits_file(cfg.limits.config);
        if (!file.ok()) {
            mg::logging::error("limits reload failed; keeping the previous rules",
                               {{"path", cfg.limits.config}, {"error", file.error_message()}});
            return;
        }
        const auto rules = file->rules.size();
        governor->set_limits(std::make_shared<mg::limits::limits_file>(std::move(*file)));
        mg::logging::info("limits reloaded", {{"path", cfg.limits.config}, {"rules", rules}});
    });

    // Overflow series (issue 21): the store the receivers fold into, emitted once the exporter
    // exists.
    mg::overflow::overflow_store overflow_store(options.overflow);
    mg::ingest::overflow_sink overflow_sink(overflow_store, mg::system_clock_instance());
    // What the last clean stop saved: the overflow counters go on from their totals.
    if (persistence) {
        mg::cmd::restore_overflow_state(
            overflow_store, mg::posix_file_system(), options.persistence->path,
            std::chrono::duration_cast<std::chrono::milliseconds>(
                mg::system_clock_instance().wall_now().time_since_epoch())
                .count());
    }

    auto stats_routes = std::make_shared<mg::http::router>();
    auto cardinality_gauges =
        std::make_shared<mg::limits::cardinality_collector>(governor, options.cardinality_top_n);
    // Both ingest listeners count as "ingest".
    auto ingest_connections = std::make_shared<mg::http::connection_counters>();
    auto stats_connections = std::make_shared<mg::http::connection_counters>();
    auto ingest_refusals = std::make_shared<mg::http::access_counters>();
    auto stats_refusals = std::make_shared<mg::http::access_counters>();
    // One budget for the bytes of request bodies held by every ingest listener.
    const auto inflight =
        std::make_shared<mg::http::byte_budget>(inflight_limit(options.max_inflight_bytes));
    auto listener_gauges = std::make_shared<mg::telemetry::listener_collector>(
        std::vector<mg::telemetry::listener_collector::source>{
            {"ingest", ingest_connections, ingest_refusals, inflight},
            {"stats", stats_connections, stats_refusals}});
    std::vector<std::shared_ptr<prometheus::Collectable>> collectables{process, cardinality_gauges,
                                                                       listener_gauges};
    collectables.push_back(
        std::make_shared<mg::ingest::overflow_collector>(overflow_store, overflow_sink));
    if (persistence) collectables.push_back(persistence->collector());
    mg::telemetry::add_stats_routes(
        *stats_routes, {registry, std::move(collectables), health, MG_VERSION, started});
    mg::limits::add_cardinality_routes(*stats_routes, governor, options.cardinality_top_n);
    // The /ui page and its history; dropped series are sampled only with -ui-show-dropped-samples
    // (the observer is set before any request is decided).
    auto history = std::make_shared<mg::ui::cardinality_history>(options.history);
    std::shared_ptr<mg::ui::drop_samples> dropped_samples;
    if (options.show_dropped_samples) {
        dropped_samples = std::make_shared<mg::ui::drop_samples>(1000, mg::system_clock_instance());
        governor->set_drop_observer(dropped_samples);
    }
    mg::ui::add_ui_routes(*stats_routes, {history, dropped_samples, options.governor.max_series,
                                          options.governor.default_tenant_name});

    const auto ingest_access = make_listener_access(cfg.receiver.access, "receiver", {});
    const auto stats_access =
        make_listener_access(cfg.stats.access, "stats", stats_open_paths(cfg.stats));
    for (const auto* access : {&ingest_access, &stats_access}) {
        if (!access->ok()) {
            std::cerr << "metrics-governor: invalid configuration: " << access->error_message()
                      << "\n";
            return 2;
        }
    }
    // OTLP/gRPC lives in a plugin, loaded only when asked for (grpc_plugin/plugin_api.h): a
    // process without it maps none of gRPC's libraries.
    const mg::grpc_plugin::api* grpc = nullptr;
    if (!options.grpc.listen.empty() || options.exporter.protocol == "otlp-grpc") {
        auto loaded = mg::grpc_plugin::load_plugin(mg::grpc_plugin::default_plugin_paths());
        if (!loaded.ok()) {
            mg::logging::error("cannot load the grpc plugin", {{"error", loaded.error_message()}});
            return 1;
        }
        grpc = *loaded;
        grpc->route_logs(log_grpc_line);  // before the listener or the exporter's channel exist
    }
    mg::exporter::exporter_deps exporter_deps;
    if (grpc != nullptr) exporter_deps.grpc_transport = grpc->make_transport;
    auto exporter =
        mg::exporter::exporter::create(options.exporter, *registry, std::move(exporter_deps));
    if (!exporter.ok()) {
        std::cerr << "metrics-governor: invalid exporter configuration: "
                  << exporter.error_message() << "\n";
        return 2;
    }
    mg::ingest::governor_adaptor governor_port(*governor);
    mg::ingest::exporter_adaptor exporter_port(**exporter);
    mg::ingest::receiver receiver(options.receiver, governor_port, exporter_port, *registry);
    receiver.set_overflow(&overflow_sink);
    mg::ingest::overflow_emitter overflow_emitter(overflow_store, exporter_port,
                                                  mg::system_clock_instance());
    overflow_emitter.start();
    auto ingest_options = options.ingest_server;
    ingest_options.inflight = inflight;
    ingest_options.counters = ingest_connections;
    ingest_options.auth = ingest_access->auth;
    ingest_options.tls = ingest_access->tls;
    ingest_options.access_stats = ingest_refusals;
    std::vector<std::unique_ptr<mg::http::server>> ingest_servers;
    // Connections are descriptors: past the soft limit every listener's accept fails, so take
    // the hard limit, and say so when the connection limit cannot fit in it.
    const auto fds = mg::http::raise_fd_limit();
    const auto listeners = cfg.receiver.prw_listen.empty() ? 1U : 2U;
    if (fds.soft != 0 && (options.ingest_server.max_connections == 0 ||
                          options.ingest_server.max_connections * listeners + 256 > fds.soft)) {
        mg::logging::warn(
            "-receiver-max-connections is unbounded or does not fit in the file descriptor limit; "
            "past that limit, accepts fail on every listener and new connections wait",
            {{"max_connections", options.ingest_server.max_connections},
             {"listeners", listeners},
             {"fd_limit", fds.soft},
             {"fd_hard_limit", fds.hard}});
    }
    // The main ingest listener serves both protocols; -prw-listen adds one for remote write only.
    for (const auto& [addr, otlp] :
         {std::pair{cfg.receiver.http_listen, true}, std::pair{cfg.receiver.prw_listen, false}}) {
        if (addr.empty()) continue;
        const auto where = mg::config::parse_listen_address(addr);
        auto routes = std::make_shared<mg::http::router>();
        receiver.add_routes(*routes, otlp);
        auto server = std::make_unique<mg::http::server>(ioc, ingest_options, routes);
        const auto bound =
            where.ok()
                ? server->listen(where->host, where->port)
                : mg::result<boost::asio::ip::tcp::endpoint>(mg::make_error(where.error_message()));
        if (!bound.ok()) {
            mg::logging::error("cannot start ingest listener",
                               {{"addr", addr}, {"error", bound.error_message()}});
            return 1;
        }
        mg::logging::info("ingest listener started", {{"addr", mg::http::format_endpoint(*bound)},
                                                      {"otlp", otlp},
                                                      {"remote_write", true},
                                                      {"tls", ingest_access->tls != nullptr},
                                                      {"auth", ingest_access->auth != nullptr}});
        ingest_servers.push_back(std::move(server));
    }

    // OTLP/gRPC: the same receiver, credentials, TLS files and in-flight budget.
    mg::ingest::grpc_adaptor grpc_port(
        receiver,
        {.auth = ingest_access->auth, .access_stats = ingest_refusals, .inflight = inflight});
    std::unique_ptr<mg::grpc_ingest::grpc_listener> grpc_server;
    if (!options.grpc.listen.empty()) {
        const auto& access = cfg.receiver.access;
        grpc_server = grpc->make_listener(options.grpc, grpc_port);
        const auto grpc_bound = grpc_server->start();
        if (!grpc_bound.ok()) {
            mg::logging::error(
                "cannot start grpc listener",
                {{"addr", options.grpc.listen}, {"error", grpc_bound.error_message()}});
            return 1;
        }
        mg::logging::info("grpc listener started", {{"addr", *grpc_bound},
                                                    {"otlp", true},
                                                    {"tls", !access.tls_cert_file.empty()},
                                                    {"auth", ingest_access->auth != nullptr}});
    }

    const auto stats_address = mg::config::parse_listen_address(cfg.stats.addr);
    if (!stats_address.ok()) {  // validated already; kept as a guard against drift
        mg::logging::error("invalid stats address",
                           {{"addr", cfg.stats.addr}, {"error", stats_address.error_message()}});
        return 2;
    }
    auto stats_options = options.stats_server;
    stats_options.counters = stats_connections;
    stats_options.auth = stats_access->auth;
    stats_options.tls = stats_access->tls;
    stats_options.access_stats = stats_refusals;
    mg::http::server stats_server(ioc, std::move(stats_options), stats_routes);
    const auto bound = stats_server.listen(stats_address->host, stats_address->port);
    if (!bound.ok()) {
        mg::logging::error("cannot start stats listener",
                           {{"addr", cfg.stats.addr}, {"error", bound.error_message()}});
        return 1;
    }
    mg::logging::info("stats listener started", {{"addr", mg::http::format_endpoint(*bound)},
                                                 {"tls", stats_access->tls != nullptr},
                                                 {"auth", stats_access->auth != nullptr}});

    asio::signal_set signals(ioc, SIGTERM, SIGINT, SIGHUP);
    watch_signals(signals, stop, hooks);

    // Totals for the -limits-max-series cap, and rotation of idle trackers so they free memory.
    asio::steady_timer refresh_timer(ioc);
    std::function<void()> schedule_refresh = [&] {
        refresh_timer.expires_after(std::chrono::seconds(5));
        refresh_timer.async_wait([&](const boost::system::error_code& ec) {
            if (ec) return;
            governor->refresh();
            give_back_memory(*inflight);
            schedule_refresh();
        });
    };
    schedule_refresh();

    // The history of /ui: one sample now (the page has a first point at once), then one every
    // ui.history_interval.
    asio::steady_timer history_timer(ioc);
    std::function<void()> schedule_history = [&] {
        history_timer.expires_after(options.history.interval);
        history_timer.async_wait([&](const boost::system::error_code& ec) {
            if (ec) return;
            history->record(mg::ui::sample_governor(
                *governor, registry.get(), options.history.top_n, mg::system_clock_instance()));
            schedule_history();
        });
    };
    history->record(mg::ui::sample_governor(*governor, registry.get(), options.history.top_n,
                                            mg::system_clock_instance()));
    schedule_history();

    // Listeners bound, no I/O thread yet: a failure here can still return without stopping any.
    const auto pid_file = mg::cmd::write_pid_file(cfg.pid_file);  // removed when this returns
    if (!pid_file.ok()) {
        mg::logging::error("cannot write the pid file",
                           {{"path", cfg.pid_file}, {"error", pid_file.error_message()}});
        ioc.stop();  // never run: the listeners then close at once instead of waiting for it
        return 1;
    }

    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (unsigned i = 0; i < threads; ++i) pool.emplace_back([&ioc] { ioc.run(); });
    // Every thread is started with the signals blocked: from here the main thread alone takes them
    // (stop_signals.h says why), and one sent during startup is handled now.
    mg::cmd::unblock_daemon_signals();

    health->set(mg::telemetry::health::phase::ready);
    mg::logging::info("metrics-governor started",
                      {{"version", MG_VERSION},
                       {"pid", ::getpid()},
                       {"parallelism", threads},
                       {"stats_addr", cfg.stats.addr},
                       {"http_listen", cfg.receiver.http_listen},
                       {"grpc_listen", cfg.grpc.listen},
                       {"exporter", (*exporter)->observe_only() ? std::string("observe-only")
                                                                : options.exporter.endpoint}});

    const auto reason = stop.wait();
    const auto deadline = std::chrono::steady_clock::now() + cfg.shutdown_timeout;
    health->set(mg::telemetry::health::phase::stopping);
    if (grpc_server) grpc_server->begin_drain();  // new calls: UNAVAILABLE, from before the log
    mg::logging::info("shutting down",
                      {{"signal", reason}, {"timeout", mg::format_duration(cfg.shutdown_timeout)}});

    // Stop taking data and let requests in flight finish; then the final save and the drain of the
    // export queue run side by side, both within what is left of the one budget.
    for (auto& s : ingest_servers) s->shutdown();
    bool clean = true;
    for (auto& s : ingest_servers) {
        if (!s->wait_until_idle(deadline)) {
            clean = false;
            mg::logging::error(
                "ingest requests still in flight at the shutdown deadline; their senders get no "
                "answer and send them again");
        }
    }
    if (grpc_server && !grpc_server->finish_drain(deadline)) {
        clean = false;
        mg::logging::error(
            "gRPC calls still in flight at the shutdown deadline; cancelled, their senders send "
            "them again");
    }
    // Every admitted series is in the trackers now, every folded one in the overflow series:
    // their last emission goes to the exporter before its drain.
    overflow_emitter.stop();
    if (persistence)
        mg::cmd::save_overflow_state(overflow_store, mg::posix_file_system(),
                                     options.persistence->path);
    if (persistence) persistence->begin_stop(deadline);
    bool lost = false;
    const auto report = (*exporter)->drain(deadline);
    if (report.complete && report.disk_bytes_left > 0) {
        mg::logging::info("export queue flushed to disk; it is sent after the restart",
                          {{"series", report.series_left}, {"bytes", report.disk_bytes_left}});
    } else if (report.complete) {
        mg::logging::info("export queue drained");
    } else {
        clean = false;
        lost = true;
        mg::logging::error("export queue not drained before the shutdown timeout; data lost",
                           {{"series", report.series_left},
                            {"datapoints", report.points_left},
                            {"bytes", report.bytes_left}});
    }
    if (persistence) {
        const auto saved = persistence->finish_stop(deadline);
        if (!saved.complete()) {
            clean = false;
            lost = true;
        }
        if (saved.timed_out) {
            // The save thread is still writing (atomically: a cut write leaves only a temporary
            // file, removed at the next start). Waiting for it would break the bound, so exit now.
            mg::logging::error("metrics-governor stopped with bloom state unsaved",
                               {{"exit_code", k_exit_data_lost}});
            std::_Exit(k_exit_data_lost);
        }
    }
    stats_server.shutdown();
    if (!stats_server.wait_until_idle(deadline)) {
        clean = false;
        mg::logging::error("stats requests still in flight at the shutdown deadline; closed");
    }
    signals.cancel();
    refresh_timer.cancel();
    history_timer.cancel();
    ioc.stop();
    for (auto& t : pool) t.join();
    if (!clean) mg::logging::warn("shutdown was not clean; see the errors above");
    const int code = lost ? k_exit_data_lost : 0;
    mg::logging::info(
        "metrics-governor stopped",
        {{"uptime", mg::format_duration(std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now() - started))},
         {"exit_code", code}});
    return code;
}

}  // namespace

int main(int argc, char** argv) {
    // `state inspect|verify` reads a state directory and takes none of the daemon's settings.
    if (argc >= 2 && std::string_view(argv[1]) == "state")
        return mg::cmd::run_state_command({argv + 2, argv + argc}, mg::posix_file_system(),
                                          mg::system_clock_instance(), std::cout, std::cerr);
    auto outcome = mg::config::parse_command_line(argc, argv);
    if (!outcome.errors.empty()) {
        std::cerr << "metrics-governor: invalid configuration (" << outcome.errors.size()
                  << " problem" << (outcome.errors.size() == 1 ? "" : "s") << "):\n";
        for (const auto& e : outcome.errors) std::cerr << "  " << e << "\n";
        std::cerr << "run 'metrics-governor -help' for every flag and its accepted form\n";
        return outcome.exit_code();
    }
    if (outcome.cmd == mg::config::command::healthcheck)
        return mg::cmd::run_healthcheck(outcome.config.stats.addr, std::chrono::seconds(5));
    // The files the daemon loads at startup (limits, TLS) are loaded too, with the same errors.
    if (outcome.cmd == mg::config::command::validate) return mg::cmd::run_validate(outcome.config);
    if (outcome.cmd != mg::config::command::run) {
        std::cout << outcome.output;
        if (!outcome.output.empty() && outcome.output.back() != '\n') std::cout << '\n';
        return outcome.exit_code();
    }
    const auto& cfg = outcome.config;
    mg::cmd::block_daemon_signals();  // before any thread exists, so that every thread inherits it
    mg::logging::init(
        mg::logging::parse_level(cfg.log.level).value_or(spdlog::level::info),
        mg::logging::parse_format(cfg.log.format).value_or(mg::logging::format::json));
    try {
        return run_daemon(cfg);
    } catch (const std::exception& e) {
        mg::logging::error("fatal error", {{"error", e.what()}});
        return 1;
    }
}
