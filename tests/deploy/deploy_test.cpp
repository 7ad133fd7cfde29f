// Checks of the deployment files under deploy/ against each other and against the daemon: every
// YAML file parses, the Kubernetes objects are complete and consistent (probes, security context,
// state volume at the configured path, memory limit above the configured budgets, the
// ServiceMonitor's port on its Service), the configurations pass the daemon's own parsers, the
// compose stack is wired to those configurations, and every metric an alert or a dashboard panel
// queries (and every flag or metric the operations docs name) is documented.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/units.h"
#include "config/config.h"
#include "limits/limits_file.h"
#include "shared/temp_dir.h"

namespace fs = std::filesystem;

namespace {

const fs::path k_source{MG_SOURCE_DIR};
const fs::path k_deploy = k_source / "deploy";

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool is_yaml(const fs::path& p) {
    return p.extension() == ".yaml" || p.extension() == ".yml";
}

// Every YAML document of every file in deploy/kubernetes, with the file it came from.
struct k8s_object {
    std::string file;
    YAML::Node node;
};

std::vector<k8s_object> kubernetes_objects() {
    std::vector<k8s_object> out;
    for (const auto& entry : fs::directory_iterator(k_deploy / "kubernetes")) {
        if (!is_yaml(entry.path()) || entry.path().filename() == "kustomization.yaml") continue;
        for (const auto& doc : YAML::LoadAllFromFile(entry.path().string())) {
            if (!doc.IsNull()) out.push_back({entry.path().filename().string(), doc});
        }
    }
    return out;
}

// The single object of a kind; REQUIREs that there is exactly one.
YAML::Node the_one(const std::vector<k8s_object>& objects, const std::string& kind) {
    std::vector<YAML::Node> found;
    for (const auto& o : objects)
        if (o.node["kind"] && o.node["kind"].as<std::string>() == kind) found.push_back(o.node);
    INFO("kind " << kind);
    REQUIRE(found.size() == 1);
    return found.front();
}

// A Kubernetes memory or storage quantity in bytes: 1Gi, 512Mi, 500M, 1000; nullopt if unknown.
std::optional<double> quantity_bytes(const std::string& q) {
    static const std::vector<std::pair<std::string, double>> suffixes = {
        {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
        {"k", 1e3},     {"M", 1e6},        {"G", 1e9},           {"T", 1e12}};
    std::size_t used = 0;
    double number = 0;
    try {
        number = std::stod(q, &used);
    } catch (const std::exception&) {
        return std::nullopt;
    }
    const std::string unit = q.substr(used);
    if (unit.empty()) return number;
    for (const auto& [s, factor] : suffixes)
        if (unit == s) return number * factor;
    return std::nullopt;
}

// The daemon's own parse of a configuration text, as `metrics-governor validate -config FILE`.
mg::config::parse_outcome parse_config(const std::string& text) {
    mg::test::temp_dir dir;
    const auto path = dir.write("metrics-governor.yaml", text);
    const char* argv[] = {"metrics-governor", "validate", "-config", path.c_str()};
    return mg::config::parse_command_line(4, argv);
}

std::string errors_of(const mg::config::parse_outcome& out) {
    std::string all;
    for (const auto& e : out.errors) all += e + "\n";
    return all;
}

double seconds(std::chrono::nanoseconds d) {
    return std::chrono::duration<double>(d).count();
}

// docs/metrics.md: metric name -> type, from the first two columns of its tables.
std::map<std::string, std::string> documented_metrics() {
    std::map<std::string, std::string> out;
    std::istringstream lines(read_text(k_source / "docs" / "metrics.md"));
    static const std::regex row(R"(^\| `([a-z_:][a-z0-9_:]*)` \| ([a-z]+) \|)");
    for (std::string line; std::getline(lines, line);) {
        std::smatch m;
        if (std::regex_search(line, m, row)) out[m[1]] = m[2];
    }
    return out;
}

// Our metric names in a PromQL expression (or any text): identifiers with our prefixes.
std::set<std::string> our_metric_names(const std::string& text) {
    static const std::regex name(
        R"((?:^|[^a-zA-Z0-9_])((?:metrics_governor_|bloom_persistence_|process_)[a-zA-Z0-9_]*))");
    std::set<std::string> out;
    for (std::sregex_iterator it(text.begin(), text.end(), name), end; it != end; ++it) {
        const std::string n = (*it)[1];
        if (n.back() != '_')
            out.insert(n);  // "metrics_governor_*" in prose is a prefix, not a name
    }
    return out;
}

// Empty if `name` is documented as is, or as a histogram whose _bucket/_sum/_count series it is;
// otherwise why not.
std::string undocumented(const std::string& name, const std::map<std::string, std::string>& docs) {
    if (docs.count(name) != 0) return "";
    for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
        if (name.size() > suffix.size() && name.ends_with(suffix)) {
            const auto base = name.substr(0, name.size() - suffix.size());
            auto it = docs.find(base);
            if (it != docs.end() && it->second == "histogram") return "";
            if (it != docs.end())
                return name + ": " + base + " is a " + it->second + ", not a histogram";
        }
    }
    return name + ": not in docs/metrics.md";
}

// The expr of every panel target in a Grafana dashboard, rows' nested panels included.
void collect_exprs(const nlohmann::json& panels, std::vector<std::string>& out) {
    for (const auto& p : panels) {
        if (p.contains("panels")) collect_exprs(p["panels"], out);
        if (!p.contains("targets")) continue;
        for (const auto& t : p["targets"])
            if (t.contains("expr")) out.push_back(t["expr"].get<std::string>());
    }
}

// "name:/path[:mode]" of a compose volume entry -> {name, path}.
std::pair<std::string, std::string> split_volume(const std::string& entry) {
    const auto first = entry.find(':');
    const auto second = entry.find(':', first + 1);
    return {entry.substr(0, first),
            entry.substr(first + 1, second == std::string::npos ? second : second - first - 1)};
}

}  // namespace

TEST_CASE("every YAML file under deploy/ parses", "[deploy]") {
    std::size_t files = 0;
    for (const auto& entry : fs::recursive_directory_iterator(k_deploy)) {
        if (!entry.is_regular_file() || !is_yaml(entry.path())) continue;
        INFO(entry.path().string());
        std::vector<YAML::Node> docs;
        REQUIRE_NOTHROW(docs = YAML::LoadAllFromFile(entry.path().string()));
        CHECK(std::any_of(docs.begin(), docs.end(), [](const YAML::Node& d) { return d.IsMap(); }));
        ++files;
    }
    // compose, 2 configs, prometheus.yml, alerts.yml, 5 in kubernetes/
    CHECK(files >= 10);
}

TEST_CASE("every Kubernetes object has apiVersion, kind and a name, and kustomization lists them",
          "[deploy]") {
    const auto objects = kubernetes_objects();
    REQUIRE(objects.size() >= 5);  // ConfigMap, 2 Services, StatefulSet, ServiceMonitor
    std::set<std::string> files;
    for (const auto& o : objects) {
        INFO(o.file);
        CHECK(o.node["apiVersion"].IsScalar());
        CHECK(o.node["kind"].IsScalar());
        REQUIRE(o.node["metadata"].IsMap());
        CHECK(!o.node["metadata"]["name"].as<std::string>("").empty());
        CHECK(!o.node["metadata"]["namespace"]);  // namespace-agnostic: set at apply time
        files.insert(o.file);
    }
    const auto kustomization =
        YAML::LoadFile((k_deploy / "kubernetes" / "kustomization.yaml").string());
    CHECK(kustomization["kind"].as<std::string>("") == "Kustomization");
    CHECK(!kustomization["namespace"]);
    std::set<std::string> listed;
    for (const auto& r : kustomization["resources"]) listed.insert(r.as<std::string>());
    CHECK(listed == files);
}

TEST_CASE("the StatefulSet matches its ConfigMap: probes, security, state volume, memory, grace",
          "[deploy]") {
    const auto objects = kubernetes_objects();
    const auto sts = the_one(objects, "StatefulSet");
    const auto cm = the_one(objects, "ConfigMap");
    CHECK(sts["spec"]["replicas"].as<int>() == 1);

    // The ConfigMap's configuration is one the daemon accepts.
    const auto cfg_text = cm["data"]["metrics-governor.yaml"].as<std::string>("");
    REQUIRE(!cfg_text.empty());
    const auto parsed = parse_config(cfg_text);
    INFO(errors_of(parsed));
    REQUIRE(parsed.errors.empty());
    const auto& cfg = parsed.config;

    const auto pod = sts["spec"]["template"]["spec"];
    REQUIRE(pod["containers"].size() == 1);
    const auto c = pod["containers"][0];
    CHECK(c["image"].as<std::string>() == "metrics-governor:local");

    // Ports by name, for the probes.
    std::map<std::string, int> ports;
    for (const auto& p : c["ports"])
        ports[p["name"].as<std::string>()] = p["containerPort"].as<int>();
    const auto stats_port = std::stoi(cfg.stats.addr.substr(cfg.stats.addr.rfind(':') + 1));
    const auto ingest_port =
        std::stoi(cfg.receiver.http_listen.substr(cfg.receiver.http_listen.rfind(':') + 1));
    CHECK(ports["metrics"] == stats_port);
    CHECK(ports["ingest"] == ingest_port);
    auto probe_port = [&](const YAML::Node& probe) {
        const auto port = probe["httpGet"]["port"];
        return ports.count(port.as<std::string>()) ? ports[port.as<std::string>()] : port.as<int>();
    };
    REQUIRE(c["livenessProbe"]["httpGet"]);
    CHECK(c["livenessProbe"]["httpGet"]["path"].as<std::string>() == "/live");
    CHECK(probe_port(c["livenessProbe"]) == stats_port);
    REQUIRE(c["readinessProbe"]["httpGet"]);
    CHECK(c["readinessProbe"]["httpGet"]["path"].as<std::string>() == "/ready");
    CHECK(probe_port(c["readinessProbe"]) == stats_port);

    // Runs as the image's user, with nothing it does not need.
    const auto psc = pod["securityContext"];
    CHECK(psc["runAsNonRoot"].as<bool>(false));
    CHECK(psc["runAsUser"].as<int>(0) == 65532);
    CHECK(psc["runAsGroup"].as<int>(0) == 65532);
    CHECK(psc["fsGroup"].as<int>(0) == 65532);
    const auto csc = c["securityContext"];
    CHECK(csc["readOnlyRootFilesystem"].as<bool>(false));
    CHECK_FALSE(csc["allowPrivilegeEscalation"].as<bool>(true));
    std::vector<std::string> dropped;
    for (const auto& cap : csc["capabilities"]["drop"]) dropped.push_back(cap.as<std::string>());
    CHECK(dropped == std::vector<std::string>{"ALL"});

    // The args name the config file, which the ConfigMap volume provides, and so the limits file.
    std::vector<std::string> args;
    for (const auto& a : c["args"]) args.push_back(a.as<std::string>());
    const auto cfg_flag = std::find(args.begin(), args.end(), "-config");
    REQUIRE(cfg_flag != args.end());
    REQUIRE(cfg_flag + 1 != args.end());
    const fs::path cfg_path = *(cfg_flag + 1);
    std::map<std::string, std::string> mounts;  // volume name -> mount path
    for (const auto& m : c["volumeMounts"])
        mounts[m["name"].as<std::string>()] = m["mountPath"].as<std::string>();
    std::string config_volume;
    for (const auto& v : pod["volumes"])
        if (v["configMap"] &&
            v["configMap"]["name"].as<std::string>() == cm["metadata"]["name"].as<std::string>())
            config_volume = v["name"].as<std::string>();
    REQUIRE(!config_volume.empty());
    CHECK(fs::path(mounts[config_volume]) / cfg_path.filename() == cfg_path);
    const fs::path limits_path = cfg.limits.config;
    CHECK(fs::path(mounts[config_volume]) / limits_path.filename() == limits_path);
    const auto limits_text = cm["data"][limits_path.filename().string()].as<std::string>("");
    REQUIRE(!limits_text.empty());
    const auto limits = mg::limits::parse_limits_yaml(limits_text, "configmap limits.yaml");
    INFO((limits.ok() ? std::string() : limits.error_message()));
    CHECK(limits.ok());

    // Persistence on, onto the claim's mount; the claim is larger than max_size.
    CHECK(cfg.bloom_persistence.enabled);
    REQUIRE(sts["spec"]["volumeClaimTemplates"].size() == 1);
    const auto claim = sts["spec"]["volumeClaimTemplates"][0];
    const auto claim_name = claim["metadata"]["name"].as<std::string>();
    REQUIRE(mounts.count(claim_name) == 1);
    CHECK(fs::path(mounts[claim_name]).lexically_normal() ==
          fs::path(cfg.bloom_persistence.path).lexically_normal());
    const auto storage =
        quantity_bytes(claim["spec"]["resources"]["requests"]["storage"].as<std::string>(""));
    REQUIRE(storage.has_value());
    CHECK(*storage > static_cast<double>(cfg.bloom_persistence.max_size));

    // The memory limit holds the trackers' budget and the export queue's, with room to spare.
    const auto limit = quantity_bytes(c["resources"]["limits"]["memory"].as<std::string>(""));
    REQUIRE(limit.has_value());
    const double budgets =
        static_cast<double>(cfg.bloom_persistence.max_memory + cfg.queue.max_bytes);
    INFO("memory limit " << *limit << ", max_memory + queue.max_bytes " << budgets);
    CHECK(*limit > static_cast<double>(cfg.bloom_persistence.max_memory));
    CHECK(*limit >= 1.5 * budgets);
    REQUIRE(c["resources"]["requests"]["memory"]);

    // Killed only after the daemon's own shutdown deadline.
    CHECK(pod["terminationGracePeriodSeconds"].as<double>(30) > seconds(cfg.shutdown_timeout));
}

TEST_CASE("the Services select the pods and the ServiceMonitor's port exists on its Service",
          "[deploy]") {
    const auto objects = kubernetes_objects();
    const auto sts = the_one(objects, "StatefulSet");
    const auto monitor = the_one(objects, "ServiceMonitor");
    CHECK(monitor["apiVersion"].as<std::string>() == "monitoring.coreos.com/v1");
    const auto pod_labels = sts["spec"]["template"]["metadata"]["labels"];
    std::set<std::string> container_ports;
    for (const auto& p : sts["spec"]["template"]["spec"]["containers"][0]["ports"])
        container_ports.insert(p["name"].as<std::string>());

    auto labels_match = [](const YAML::Node& selector, const YAML::Node& labels) {
        for (const auto& kv : selector)
            if (!labels[kv.first.as<std::string>()] ||
                labels[kv.first.as<std::string>()].as<std::string>() != kv.second.as<std::string>())
                return false;
        return true;
    };
    std::vector<YAML::Node> services;
    bool governing = false;
    for (const auto& o : objects) {
        if (o.node["kind"].as<std::string>() != "Service") continue;
        INFO(o.node["metadata"]["name"].as<std::string>());
        CHECK(labels_match(o.node["spec"]["selector"], pod_labels));
        for (const auto& p : o.node["spec"]["ports"])
            CHECK(container_ports.count(p["targetPort"].as<std::string>()) == 1);
        if (o.node["metadata"]["name"].as<std::string>() ==
            sts["spec"]["serviceName"].as<std::string>())
            governing = o.node["spec"]["clusterIP"].as<std::string>("") == "None";
        if (labels_match(monitor["spec"]["selector"]["matchLabels"], o.node["metadata"]["labels"]))
            services.push_back(o.node);
    }
    CHECK(governing);               // the StatefulSet's serviceName is a headless Service
    REQUIRE(services.size() == 1);  // each pod scraped once
    std::set<std::string> service_ports;
    for (const auto& p : services[0]["spec"]["ports"])
        service_ports.insert(p["name"].as<std::string>());
    CHECK(service_ports.count("ingest") == 1);
    REQUIRE(monitor["spec"]["endpoints"].size() >= 1);
    for (const auto& e : monitor["spec"]["endpoints"]) {
        INFO("endpoint port " << e["port"].as<std::string>(""));
        CHECK(service_ports.count(e["port"].as<std::string>("")) == 1);
        CHECK(e["path"].as<std::string>("") == "/metrics");
    }
}

TEST_CASE("the compose stack is wired to its configuration", "[deploy]") {
    const auto compose = YAML::LoadFile((k_deploy / "docker-compose.yml").string());
    const auto services = compose["services"];
    REQUIRE(services["metrics-governor"]);
    REQUIRE(services["prometheus"]);
    REQUIRE(services["victoria-metrics"]);
    const auto mg = services["metrics-governor"];
    CHECK(mg["image"].as<std::string>() == "metrics-governor:local");
    CHECK(fs::exists(k_deploy / mg["build"]["context"].as<std::string>() / "Dockerfile"));
    for (const std::string name : {"prometheus", "victoria-metrics"}) {
        INFO(name);
        const auto dockerfile =
            k_deploy / services[name]["build"]["context"].as<std::string>() / "Dockerfile";
        REQUIRE(fs::exists(dockerfile));
        CHECK(read_text(dockerfile).find("FROM debian:bookworm") != std::string::npos);
    }

    // The mounted config directory holds the config the command names, and it is valid.
    std::vector<std::string> command;
    for (const auto& a : mg["command"]) command.push_back(a.as<std::string>());
    const auto flag = std::find(command.begin(), command.end(), "-config");
    REQUIRE(flag != command.end());
    REQUIRE(flag + 1 != command.end());
    std::map<std::string, std::string> volumes;  // container path -> source
    for (const auto& v : mg["volumes"]) {
        const auto [source, target] = split_volume(v.as<std::string>());
        volumes[target] = source;
    }
    const fs::path in_container = *(flag + 1);
    REQUIRE(volumes.count(in_container.parent_path().string()) == 1);
    const auto host_dir = k_deploy / volumes[in_container.parent_path().string()];
    const auto parsed = parse_config(read_text(host_dir / in_container.filename()));
    INFO(errors_of(parsed));
    REQUIRE(parsed.errors.empty());
    const auto& cfg = parsed.config;

    // Its limits file is in the same mount and valid.
    const fs::path limits_path = cfg.limits.config;
    REQUIRE(limits_path.parent_path() == in_container.parent_path());
    const auto limits = mg::limits::load_limits_file((host_dir / limits_path.filename()).string());
    INFO((limits.ok() ? std::string() : limits.error_message()));
    REQUIRE(limits.ok());
    CHECK(!limits->rules.empty());

    // State on a named volume at the persistence path.
    CHECK(cfg.bloom_persistence.enabled);
    REQUIRE(volumes.count(cfg.bloom_persistence.path) == 1);
    CHECK(compose["volumes"][volumes[cfg.bloom_persistence.path]]);

    // The exporter's host is the backend service; Prometheus writes to the governor's listener.
    CHECK(cfg.exporter.endpoint.find("://victoria-metrics:") != std::string::npos);
    const auto prom = YAML::LoadFile((k_deploy / "prometheus" / "prometheus.yml").string());
    const auto port = cfg.receiver.http_listen.substr(cfg.receiver.http_listen.rfind(':') + 1);
    CHECK(prom["remote_write"][0]["url"].as<std::string>() ==
          "http://metrics-governor:" + port + "/api/v1/write");
    bool scrapes_governor = false;
    const auto stats_port = cfg.stats.addr.substr(cfg.stats.addr.rfind(':') + 1);
    for (const auto& job : prom["scrape_configs"])
        if (job["job_name"].as<std::string>() == "metrics-governor")
            for (const auto& t : job["static_configs"][0]["targets"])
                scrapes_governor =
                    scrapes_governor || t.as<std::string>() == "metrics-governor:" + stats_port;
    CHECK(scrapes_governor);

    // docker stops the container after stop_grace_period: longer than the daemon's deadline.
    const auto grace = mg::parse_duration(mg["stop_grace_period"].as<std::string>(""));
    REQUIRE(grace.ok());
    CHECK(*grace > cfg.shutdown_timeout);
}

TEST_CASE("every metric the alerts and the dashboard query is documented", "[deploy]") {
    const auto docs = documented_metrics();
    REQUIRE(docs.size() > 40);
    REQUIRE(docs.at("bloom_persistence_save_duration_seconds") == "histogram");

    std::vector<std::string> exprs;
    const auto alerts = YAML::LoadFile((k_deploy / "prometheus" / "alerts.yml").string());
    std::size_t rules = 0;
    for (const auto& group : alerts["groups"]) {
        for (const auto& rule : group["rules"]) {
            INFO(rule["alert"].as<std::string>(""));
            ++rules;
            exprs.push_back(rule["expr"].as<std::string>());
            CHECK(rule["labels"]["severity"]);
            CHECK(rule["annotations"]["summary"]);
            CHECK(rule["annotations"]["description"]);
        }
    }
    CHECK(rules >= 8);

    const auto dashboard =
        nlohmann::json::parse(read_text(k_deploy / "grafana" / "metrics-governor.json"));
    std::vector<std::string> panel_exprs;
    collect_exprs(dashboard.at("panels"), panel_exprs);
    CHECK(panel_exprs.size() >= 20);
    exprs.insert(exprs.end(), panel_exprs.begin(), panel_exprs.end());

    std::set<std::string> used;
    for (const auto& e : exprs) {
        const auto names = our_metric_names(e);
        used.insert(names.begin(), names.end());
    }
    CHECK(used.size() >= 30);  // the extraction found the queries' metrics at all
    for (const auto& name : used) {
        const auto why = undocumented(name, docs);
        INFO(why);
        CHECK(why.empty());
    }
}

TEST_CASE("the metric check rejects what is not documented", "[deploy]") {
    const auto docs = documented_metrics();
    CHECK(our_metric_names("rate(metrics_governor_x_total[5m]) / process_open_fds") ==
          std::set<std::string>{"metrics_governor_x_total", "process_open_fds"});
    CHECK(our_metric_names("xprocess_open_fds").empty());
    CHECK(undocumented("bloom_persistence_save_duration_seconds_bucket", docs).empty());
    CHECK(!undocumented("metrics_governor_active_series_bucket", docs).empty());  // a gauge
    CHECK(!undocumented("metrics_governor_no_such_metric", docs).empty());
    CHECK(quantity_bytes("1Gi") == 1073741824.0);
    CHECK(quantity_bytes("500M") == 5e8);
    CHECK(!quantity_bytes("1Gb").has_value());
}

TEST_CASE("the Grafana dashboard parses and every panel queries the datasource variable",
          "[deploy]") {
    const auto dashboard =
        nlohmann::json::parse(read_text(k_deploy / "grafana" / "metrics-governor.json"));
    bool has_ds_variable = false;
    for (const auto& v : dashboard.at("templating").at("list")) {
        INFO("variable " << v.at("name"));
        has_ds_variable =
            has_ds_variable || (v.at("name") == "datasource" && v.at("type") == "datasource");
        if (v.at("type") == "query") CHECK(v.at("datasource").at("uid") == "${datasource}");
    }
    CHECK(has_ds_variable);
    std::set<int> ids;
    std::size_t queried = 0;
    for (const auto& p : dashboard.at("panels")) {
        INFO(p.value("title", ""));
        CHECK(ids.insert(p.at("id").get<int>()).second);
        if (p.at("type") == "row") continue;
        CHECK(p.at("datasource").at("uid") == "${datasource}");
        REQUIRE(!p.at("targets").empty());
        for (const auto& t : p.at("targets")) {
            CHECK(!t.at("expr").get<std::string>().empty());
            CHECK(t.at("datasource").at("uid") == "${datasource}");
        }
        ++queried;
    }
    CHECK(queried >= 20);
}

TEST_CASE("flags and metrics named in the operations docs exist", "[deploy]") {
    const auto docs = documented_metrics();
    std::set<std::string> flags;
    {
        std::istringstream lines(read_text(k_source / "docs" / "configuration.md"));
        static const std::regex row(R"(^\| `(-[a-z][a-z0-9-]*)`)");
        for (std::string line; std::getline(lines, line);) {
            std::smatch m;
            if (std::regex_search(line, m, row)) flags.insert(m[1]);
        }
    }
    REQUIRE(flags.count("-bloom-persistence-path") == 1);

    std::size_t checked = 0;  // flags found in all the files: the extraction works at all

    for (const auto& file : {k_source / "docs" / "operations.md", k_source / "docs" / "scaling.md",
                             k_deploy / "README.md", k_deploy / "prometheus" / "alerts.yml"}) {
        INFO(file.string());
        const auto text = read_text(file);
        // Daemon flags: tokens of one dash and at least two words (-limits-max-series), which
        // leaves out other tools' one-letter flags and Prometheus's --web.* ones.
        static const std::regex token(R"((^|[\s`(\[])(-[a-z][a-z0-9]*(?:-[a-z0-9]+)+))");
        for (std::sregex_iterator it(text.begin(), text.end(), token), end; it != end; ++it) {
            const std::string flag = (*it)[2];
            INFO(flag);
            CHECK(flags.count(flag) == 1);
            ++checked;
        }
        for (const auto& name : our_metric_names(text)) {
            const auto why = undocumented(name, docs);
            INFO(why);
            CHECK(why.empty());
        }
    }
    CHECK(checked >= 20);
}
