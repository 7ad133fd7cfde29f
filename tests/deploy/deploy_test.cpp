// Checks of the deployment files under deploy/ against each other and against the daemon: every
// YAML file parses, the Kubernetes objects are complete and consistent (probes, security context,
// state volume at the configured path, memory limit above the configured budgets, the
// ServiceMonitor's port on its Service), the configurations pass the daemon's own parsers, the
// compose stacks are wired to those configurations, and every metric an alert or a dashboard panel
// queries (and every flag or metric the operations docs name) is documented. Cluster mode
// (deploy/cluster, deploy/kubernetes-cluster) is checked the same way, and further: the governors'
// cluster.addresses name the Redis service and its port, Redis is durable (AOF everysec, on a
// volume, never evicting), and the balancer's backends are exactly the compose replicas.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
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

// Every YAML document of every file in deploy/<dir> (kubernetes: one StatefulSet;
// kubernetes-cluster: cluster mode), with the file it came from.
struct k8s_object {
    std::string file;
    YAML::Node node;
};

std::vector<k8s_object> kubernetes_objects(const std::string& dir = "kubernetes") {
    std::vector<k8s_object> out;
    for (const auto& entry : fs::directory_iterator(k_deploy / dir)) {
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

// The single object of a kind and name; REQUIREs that there is exactly one.
YAML::Node named(const std::vector<k8s_object>& objects, const std::string& kind,
                 const std::string& name) {
    std::vector<YAML::Node> found;
    for (const auto& o : objects)
        if (o.node["kind"].as<std::string>("") == kind &&
            o.node["metadata"]["name"].as<std::string>("") == name)
            found.push_back(o.node);
    INFO(kind << " " << name);
    REQUIRE(found.size() == 1);
    return found.front();
}

// Every object of a kind.
std::vector<YAML::Node> all_of(const std::vector<k8s_object>& objects, const std::string& kind) {
    std::vector<YAML::Node> out;
    for (const auto& o : objects)
        if (o.node["kind"].as<std::string>("") == kind) out.push_back(o.node);
    return out;
}

// A label selector (a map of labels) selects `labels` when every pair is among them. An empty or
// missing selector selects nothing here: none of ours is meant to select everything.
bool labels_match(const YAML::Node& selector, const YAML::Node& labels) {
    if (!selector.IsMap() || selector.size() == 0) return false;
    for (const auto& kv : selector)
        if (!labels[kv.first.as<std::string>()] ||
            labels[kv.first.as<std::string>()].as<std::string>() != kv.second.as<std::string>())
            return false;
    return true;
}

// The port of "host:port" or ":port"; 0 if there is none.
int port_of(const std::string& address) {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) return 0;
    try {
        return std::stoi(address.substr(colon + 1));
    } catch (const std::exception&) {
        return 0;
    }
}

// The host of "host:port".
std::string host_of(const std::string& address) {
    return address.substr(0, address.rfind(':'));
}

// A container's ports by name.
std::map<std::string, int> named_ports(const YAML::Node& container) {
    std::map<std::string, int> out;
    for (const auto& p : container["ports"])
        out[p["name"].as<std::string>("")] = p["containerPort"].as<int>();
    return out;
}

// A container's mounts: volume name -> mount path.
std::map<std::string, std::string> mounts_of(const YAML::Node& container) {
    std::map<std::string, std::string> out;
    for (const auto& m : container["volumeMounts"])
        out[m["name"].as<std::string>()] = m["mountPath"].as<std::string>();
    return out;
}

// The file a container's args name after `flag` (-config), or its first argument when `flag`
// is empty (redis-server's config file).
std::string arg_file(const YAML::Node& container, const std::string& flag) {
    std::vector<std::string> args;
    for (const auto& a : container["args"]) args.push_back(a.as<std::string>());
    if (flag.empty()) return args.empty() ? "" : args.front();
    const auto it = std::find(args.begin(), args.end(), flag);
    return it == args.end() || it + 1 == args.end() ? "" : *(it + 1);
}

// The text of `file` as the pod sees it: the key of the ConfigMap mounted at the file's
// directory. REQUIREs the mount, the volume, the ConfigMap and the key.
std::string mounted_configmap_file(const YAML::Node& pod, const YAML::Node& container,
                                   const std::vector<k8s_object>& objects, const fs::path& file) {
    INFO("file " << file.string());
    std::string volume;
    for (const auto& [name, path] : mounts_of(container))
        if (fs::path(path).lexically_normal() == file.parent_path().lexically_normal())
            volume = name;
    REQUIRE(!volume.empty());
    std::string configmap;
    for (const auto& v : pod["volumes"])
        if (v["name"].as<std::string>("") == volume && v["configMap"])
            configmap = v["configMap"]["name"].as<std::string>("");
    REQUIRE(!configmap.empty());
    const auto text =
        named(objects, "ConfigMap", configmap)["data"][file.filename().string()].as<std::string>(
            "");
    REQUIRE(!text.empty());
    return text;
}

// The checks every governor pod template passes, StatefulSet or Deployment: its configuration
// (the ConfigMap file its args name) is one the daemon accepts, with a valid limits file beside
// it; the ports are the configured listeners and the probes ask /live and /ready on the stats
// port; it runs as the image's user with nothing it does not need; the memory limit holds the
// configured budgets; the grace period outlasts the daemon's shutdown. Returns the configuration.
mg::config::app_config checked_governor_pod(const YAML::Node& pod,
                                            const std::vector<k8s_object>& objects) {
    REQUIRE(pod["containers"].size() == 1);
    const auto c = pod["containers"][0];
    CHECK(c["image"].as<std::string>() == "metrics-governor:local");

    // The args name the config file, which a ConfigMap volume provides.
    const fs::path cfg_path = arg_file(c, "-config");
    REQUIRE(!cfg_path.empty());
    const auto parsed = parse_config(mounted_configmap_file(pod, c, objects, cfg_path));
    INFO(errors_of(parsed));
    REQUIRE(parsed.errors.empty());
    const auto cfg = parsed.config;

    // Ports by name, for the probes.
    auto ports = named_ports(c);
    const auto stats_port = port_of(cfg.stats.addr);
    const auto ingest_port = port_of(cfg.receiver.http_listen);
    CHECK(ports["metrics"] == stats_port);
    CHECK(ports["ingest"] == ingest_port);
    auto probe_port = [&](const YAML::Node& probe) {
        const auto port = probe["httpGet"]["port"];
        return ports.count(port.as<std::string>()) ? ports[port.as<std::string>()] : port.as<int>();
    };
    for (const auto& [probe, path] : std::vector<std::pair<std::string, std::string>>{
             {"startupProbe", "/live"}, {"livenessProbe", "/live"}, {"readinessProbe", "/ready"}}) {
        INFO(probe);
        REQUIRE(c[probe]["httpGet"]);
        CHECK(c[probe]["httpGet"]["path"].as<std::string>() == path);
        CHECK(probe_port(c[probe]) == stats_port);
    }

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

    // The limits file is in the same ConfigMap mount, and valid.
    const fs::path limits_path = cfg.limits.config;
    CHECK(limits_path.parent_path() == cfg_path.parent_path());
    const auto limits = mg::limits::parse_limits_yaml(
        mounted_configmap_file(pod, c, objects, limits_path), "configmap limits.yaml");
    INFO((limits.ok() ? std::string() : limits.error_message()));
    CHECK(limits.ok());

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
    return cfg;
}

// A redis.conf: directive -> its arguments as written (the last occurrence wins, as in Redis),
// comments and blank lines left out.
std::map<std::string, std::string> parse_redis_conf(const std::string& text) {
    std::map<std::string, std::string> out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        const auto first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line[first] == '#') continue;
        const auto end = line.find_first_of(" \t", first);
        const auto key = line.substr(first, end - first);
        std::string value;
        if (end != std::string::npos) {
            const auto v = line.find_first_not_of(" \t", end);
            if (v != std::string::npos)
                value = line.substr(v, line.find_last_not_of(" \t\r") + 1 - v);
        }
        out[key] = value;
    }
    return out;
}

// A Redis memory setting in bytes (256mb, 1gb, 100m, 1024); nullopt if unknown. Redis's units:
// k, m, g are powers of 1000, kb, mb, gb powers of 1024, any case.
std::optional<double> redis_bytes(const std::string& text) {
    std::size_t used = 0;
    double number = 0;
    try {
        number = std::stod(text, &used);
    } catch (const std::exception&) {
        return std::nullopt;
    }
    std::string unit = text.substr(used);
    std::transform(unit.begin(), unit.end(), unit.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    static const std::map<std::string, double> units = {
        {"", 1.0},  {"b", 1.0},        {"k", 1e3}, {"kb", 1024.0},
        {"m", 1e6}, {"mb", 1048576.0}, {"g", 1e9}, {"gb", 1073741824.0}};
    const auto it = units.find(unit);
    if (it == units.end()) return std::nullopt;
    return number * it->second;
}

// The settings of a Redis that keeps cluster mode's state: durable (the AOF, flushed every
// second, in the directory `data_dir` that a volume provides), never evicting (every key has an
// expiry, so any eviction policy could drop live admitted sets), within `memory_limit` bytes
// when the container has one, on `port`.
void check_redis_conf(const std::map<std::string, std::string>& conf, const std::string& data_dir,
                      int port, std::optional<double> memory_limit) {
    auto get = [&](const std::string& key) {
        const auto it = conf.find(key);
        return it == conf.end() ? std::string("<unset>") : it->second;
    };
    CHECK(get("appendonly") == "yes");
    CHECK(get("appendfsync") == "everysec");
    CHECK(get("maxmemory-policy") == "noeviction");
    CHECK(get("daemonize") == "no");  // in the foreground, or the container ends at once
    CHECK(fs::path(get("dir")).lexically_normal() == fs::path(data_dir).lexically_normal());
    CHECK(port_of(":" + get("port")) == port);
    if (memory_limit) {
        const auto maxmemory = redis_bytes(get("maxmemory"));
        REQUIRE(maxmemory.has_value());
        INFO("maxmemory " << *maxmemory << ", container limit " << *memory_limit);
        CHECK(*maxmemory > 0);
        CHECK(*memory_limit >= 1.5 * *maxmemory);  // room for an AOF rewrite's fork
    }
}

// An haproxy configuration: its sections in order, each with its lines split into words,
// comments left out.
struct haproxy_section {
    std::string kind;  // global, defaults, frontend, backend, listen, resolvers, ...
    std::string name;
    std::vector<std::vector<std::string>> lines;

    // The lines that start with `words`.
    std::vector<std::vector<std::string>> with(const std::vector<std::string>& words) const {
        std::vector<std::vector<std::string>> out;
        for (const auto& l : lines)
            if (l.size() >= words.size() && std::equal(words.begin(), words.end(), l.begin()))
                out.push_back(l);
        return out;
    }
};

std::vector<haproxy_section> parse_haproxy(const std::string& text) {
    static const std::set<std::string> kinds = {
        "global",   "defaults", "frontend", "backend",     "listen", "resolvers", "peers",
        "userlist", "mailers",  "program",  "http-errors", "ring",   "cache"};
    std::vector<haproxy_section> out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        line = line.substr(0, line.find('#'));
        std::istringstream words(line);
        std::vector<std::string> w{std::istream_iterator<std::string>(words),
                                   std::istream_iterator<std::string>()};
        if (w.empty()) continue;
        if (kinds.count(w[0]) == 1) {
            out.push_back({w[0], w.size() > 1 ? w[1] : "", {}});
        } else if (!out.empty()) {
            out.back().lines.push_back(w);
        }
    }
    return out;
}

// The section of a kind and name; REQUIREs that there is exactly one.
haproxy_section haproxy_find(const std::vector<haproxy_section>& sections, const std::string& kind,
                             const std::string& name) {
    std::vector<haproxy_section> found;
    for (const auto& s : sections)
        if (s.kind == kind && s.name == name) found.push_back(s);
    INFO("haproxy " << kind << " " << name);
    REQUIRE(found.size() == 1);
    return found.front();
}

// The value after `key` among a line's words ("port 9090"), or "" without one.
std::string word_after(const std::vector<std::string>& words, const std::string& key) {
    const auto it = std::find(words.begin(), words.end(), key);
    return it == words.end() || it + 1 == words.end() ? "" : *(it + 1);
}

// A compose service's bind mounts and named volumes: container path -> source as written.
std::map<std::string, std::string> compose_volumes(const YAML::Node& service) {
    std::map<std::string, std::string> out;
    for (const auto& v : service["volumes"]) {
        const auto [source, target] = split_volume(v.as<std::string>());
        out[target] = source;
    }
    return out;
}

// A bind mount's source starts with . or /; anything else names a volume.
bool is_bind_mount(const std::string& source) {
    return !source.empty() && (source[0] == '.' || source[0] == '/');
}

// The host file a compose service sees at `in_container`, through a bind mount of the file or
// of a directory above it; empty if no mount provides it.
fs::path compose_host_file(const fs::path& compose_dir, const YAML::Node& service,
                           const fs::path& in_container) {
    for (const auto& [target, source] : compose_volumes(service)) {
        if (!is_bind_mount(source)) continue;
        const auto rel = in_container.lexically_relative(fs::path(target));
        if (rel.empty() || *rel.begin() == "..") continue;
        return (rel == "." ? compose_dir / source : compose_dir / source / rel).lexically_normal();
    }
    return {};
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
    // compose, 2 configs, prometheus.yml, alerts.yml, 5 in kubernetes/; in cluster/ compose,
    // 2 configs and prometheus.yml; 11 in kubernetes-cluster/
    CHECK(files >= 25);
}

TEST_CASE("every Kubernetes object has apiVersion, kind and a name, and kustomization lists them",
          "[deploy]") {
    // kubernetes/: ConfigMap, 2 Services, StatefulSet, ServiceMonitor. kubernetes-cluster/: 2
    // ConfigMaps, 3 Services, Deployment, StatefulSet, HPA, PDB, NetworkPolicy, ServiceMonitor.
    for (const auto& [dir, at_least] : std::vector<std::pair<std::string, std::size_t>>{
             {"kubernetes", 5}, {"kubernetes-cluster", 11}}) {
        INFO("deploy/" << dir);
        const auto objects = kubernetes_objects(dir);
        REQUIRE(objects.size() >= at_least);
        std::set<std::string> files;
        std::set<std::string> kinds_and_names;
        for (const auto& o : objects) {
            INFO(o.file);
            CHECK(o.node["apiVersion"].IsScalar());
            CHECK(o.node["kind"].IsScalar());
            REQUIRE(o.node["metadata"].IsMap());
            CHECK(!o.node["metadata"]["name"].as<std::string>("").empty());
            CHECK(!o.node["metadata"]["namespace"]);  // namespace-agnostic: set at apply time
            // kubectl would apply a second object of the same kind and name over the first.
            CHECK(kinds_and_names
                      .insert(o.node["kind"].as<std::string>("") + "/" +
                              o.node["metadata"]["name"].as<std::string>(""))
                      .second);
            files.insert(o.file);
        }
        const auto kustomization = YAML::LoadFile((k_deploy / dir / "kustomization.yaml").string());
        CHECK(kustomization["kind"].as<std::string>("") == "Kustomization");
        CHECK(!kustomization["namespace"]);
        std::set<std::string> listed;
        for (const auto& r : kustomization["resources"]) listed.insert(r.as<std::string>());
        CHECK(listed == files);
    }
}

TEST_CASE("the StatefulSet matches its ConfigMap: probes, security, state volume, memory, grace",
          "[deploy]") {
    const auto objects = kubernetes_objects();
    const auto sts = the_one(objects, "StatefulSet");
    CHECK(sts["spec"]["replicas"].as<int>() == 1);
    const auto pod = sts["spec"]["template"]["spec"];
    const auto cfg = checked_governor_pod(pod, objects);
    // Without cluster mode: one process, its state on its own volume.
    CHECK(!cfg.cluster.enabled());

    // Persistence on, onto the claim's mount; the claim is larger than max_size.
    CHECK(cfg.bloom_persistence.enabled);
    auto mounts = mounts_of(pod["containers"][0]);
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

TEST_CASE("the cluster Deployment matches its ConfigMap and keeps no state", "[deploy][cluster]") {
    const auto objects = kubernetes_objects("kubernetes-cluster");
    const auto dep = the_one(objects, "Deployment");
    CHECK(dep["spec"]["replicas"].as<int>(0) == 3);
    CHECK(labels_match(dep["spec"]["selector"]["matchLabels"],
                       dep["spec"]["template"]["metadata"]["labels"]));
    const auto pod = dep["spec"]["template"]["spec"];
    const auto cfg = checked_governor_pod(pod, objects);

    // Cluster mode on, and nothing kept on disk: any pod may go and come (autoscaling, rollouts).
    CHECK(cfg.cluster.enabled());
    CHECK(!cfg.bloom_persistence.enabled);
    CHECK(cfg.queue.path.empty());  // no disk queue either
    CHECK(!dep["spec"]["volumeClaimTemplates"]);
    for (const auto& v : pod["volumes"]) {
        INFO("volume " << v["name"].as<std::string>(""));
        CHECK(v["configMap"]);
    }

    // Ready for an autoscaler: every container requests CPU and memory, which utilization is
    // measured against; a rollout never takes a pod away before its replacement is ready.
    for (const auto& c : pod["containers"]) {
        CHECK(quantity_bytes(c["resources"]["requests"]["memory"].as<std::string>("")));
        CHECK(!c["resources"]["requests"]["cpu"].as<std::string>("").empty());
    }
    CHECK(dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"].as<int>(1) == 0);
}

TEST_CASE("the cluster HPA and disruption budget act on the Deployment's pods",
          "[deploy][cluster]") {
    const auto objects = kubernetes_objects("kubernetes-cluster");
    const auto dep = the_one(objects, "Deployment");
    const auto pod_labels = dep["spec"]["template"]["metadata"]["labels"];
    const auto redis_labels =
        the_one(objects, "StatefulSet")["spec"]["template"]["metadata"]["labels"];

    const auto hpa = the_one(objects, "HorizontalPodAutoscaler");
    CHECK(hpa["apiVersion"].as<std::string>() == "autoscaling/v2");
    const auto ref = hpa["spec"]["scaleTargetRef"];
    CHECK(ref["apiVersion"].as<std::string>("") == dep["apiVersion"].as<std::string>());
    CHECK(ref["kind"].as<std::string>("") == "Deployment");
    CHECK(ref["name"].as<std::string>("") == dep["metadata"]["name"].as<std::string>());
    const auto min = hpa["spec"]["minReplicas"].as<int>(1);
    const auto max = hpa["spec"]["maxReplicas"].as<int>(0);
    const auto replicas = dep["spec"]["replicas"].as<int>(1);
    CHECK(min >= 2);  // replicas are there for availability too
    CHECK(min <= replicas);
    CHECK(replicas <= max);
    // Every resource the HPA measures is requested by every container.
    REQUIRE(hpa["spec"]["metrics"].size() >= 1);
    for (const auto& m : hpa["spec"]["metrics"]) {
        REQUIRE(m["type"].as<std::string>("") == "Resource");
        const auto resource = m["resource"]["name"].as<std::string>("");
        INFO("resource " << resource);
        for (const auto& c : dep["spec"]["template"]["spec"]["containers"])
            CHECK(c["resources"]["requests"][resource]);
    }

    const auto pdb = the_one(objects, "PodDisruptionBudget");
    CHECK(labels_match(pdb["spec"]["selector"]["matchLabels"], pod_labels));
    CHECK(!labels_match(pdb["spec"]["selector"]["matchLabels"], redis_labels));
    // Leaves pods up: at most one away, or a minimum below the HPA's.
    if (pdb["spec"]["maxUnavailable"])
        CHECK(pdb["spec"]["maxUnavailable"].as<int>(0) == 1);
    else
        CHECK(pdb["spec"]["minAvailable"].as<int>(min) < min);
}

TEST_CASE("the cluster Services select their pods, the governors reach Redis, Redis is durable",
          "[deploy][cluster]") {
    const auto objects = kubernetes_objects("kubernetes-cluster");
    const auto dep = the_one(objects, "Deployment");
    const auto redis = the_one(objects, "StatefulSet");
    CHECK(redis["spec"]["replicas"].as<int>(0) == 1);
    CHECK(labels_match(redis["spec"]["selector"]["matchLabels"],
                       redis["spec"]["template"]["metadata"]["labels"]));
    // Each workload's selector picks only its own pods.
    CHECK(!labels_match(dep["spec"]["selector"]["matchLabels"],
                        redis["spec"]["template"]["metadata"]["labels"]));
    CHECK(!labels_match(redis["spec"]["selector"]["matchLabels"],
                        dep["spec"]["template"]["metadata"]["labels"]));

    // Every Service selects the pods of exactly one workload, on ports those pods have.
    std::map<std::string, std::string> service_workload;  // Service name -> workload kind
    for (const auto& svc : all_of(objects, "Service")) {
        const auto name = svc["metadata"]["name"].as<std::string>();
        INFO("Service " << name);
        std::vector<YAML::Node> selected;
        for (const auto& w : {dep, redis})
            if (labels_match(svc["spec"]["selector"], w["spec"]["template"]["metadata"]["labels"]))
                selected.push_back(w);
        REQUIRE(selected.size() == 1);
        service_workload[name] = selected[0]["kind"].as<std::string>();
        const auto ports = named_ports(selected[0]["spec"]["template"]["spec"]["containers"][0]);
        REQUIRE(svc["spec"]["ports"].size() >= 1);
        for (const auto& p : svc["spec"]["ports"])
            CHECK(ports.count(p["targetPort"].as<std::string>()) == 1);
    }
    // The governors' Service carries ingest; the StatefulSet's governing Service is headless.
    const auto governors = named(objects, "Service", dep["metadata"]["name"].as<std::string>());
    CHECK(service_workload[dep["metadata"]["name"].as<std::string>()] == "Deployment");
    const auto governing =
        named(objects, "Service", redis["spec"]["serviceName"].as<std::string>(""));
    CHECK(governing["spec"]["clusterIP"].as<std::string>("") == "None");
    CHECK(service_workload[redis["spec"]["serviceName"].as<std::string>()] == "StatefulSet");

    // Redis: its redis.conf (the ConfigMap file its args name) keeps the state durable on the
    // claim's mount, never evicts, fits the container and listens on the container's port.
    const auto rpod = redis["spec"]["template"]["spec"];
    REQUIRE(rpod["containers"].size() == 1);
    const auto rc = rpod["containers"][0];
    const fs::path conf_path = arg_file(rc, "");
    REQUIRE(!conf_path.empty());
    const auto conf = parse_redis_conf(mounted_configmap_file(rpod, rc, objects, conf_path));
    REQUIRE(redis["spec"]["volumeClaimTemplates"].size() == 1);
    const auto claim =
        redis["spec"]["volumeClaimTemplates"][0]["metadata"]["name"].as<std::string>();
    auto rmounts = mounts_of(rc);
    REQUIRE(rmounts.count(claim) == 1);
    auto rports = named_ports(rc);
    REQUIRE(rports.count("redis") == 1);
    check_redis_conf(conf, rmounts[claim], rports["redis"],
                     quantity_bytes(rc["resources"]["limits"]["memory"].as<std::string>("")));
    for (const auto& probe : {"readinessProbe", "livenessProbe"}) {
        INFO(probe);
        CHECK(rc[probe]);
    }
    CHECK(rpod["securityContext"]["runAsNonRoot"].as<bool>(false));
    CHECK(rc["securityContext"]["readOnlyRootFilesystem"].as<bool>(false));

    // The governors' cluster.addresses: one Redis, a Service of the Redis pods, on a Service
    // port that leads to Redis's port.
    const auto cfg = parse_config(mounted_configmap_file(
        dep["spec"]["template"]["spec"], dep["spec"]["template"]["spec"]["containers"][0], objects,
        arg_file(dep["spec"]["template"]["spec"]["containers"][0], "-config")));
    REQUIRE(cfg.errors.empty());
    REQUIRE(cfg.config.cluster.addresses.size() == 1);
    const auto address = cfg.config.cluster.addresses[0];
    INFO("cluster.addresses " << address);
    REQUIRE(service_workload.count(host_of(address)) == 1);
    CHECK(service_workload[host_of(address)] == "StatefulSet");
    const auto redis_svc = named(objects, "Service", host_of(address));
    CHECK(redis_svc["spec"]["clusterIP"].as<std::string>("") != "None");  // a stable address
    bool reaches_redis = false;
    for (const auto& p : redis_svc["spec"]["ports"])
        if (p["port"].as<int>() == port_of(address))
            reaches_redis = rports[p["targetPort"].as<std::string>()] == rports["redis"];
    CHECK(reaches_redis);

    // Only the governors' pods may reach Redis, on its port.
    const auto policy = the_one(objects, "NetworkPolicy");
    CHECK(labels_match(policy["spec"]["podSelector"]["matchLabels"],
                       redis["spec"]["template"]["metadata"]["labels"]));
    bool governors_allowed = false;
    for (const auto& rule : policy["spec"]["ingress"])
        for (const auto& from : rule["from"])
            if (labels_match(from["podSelector"]["matchLabels"],
                             dep["spec"]["template"]["metadata"]["labels"]))
                for (const auto& p : rule["ports"])
                    governors_allowed =
                        governors_allowed || p["port"].as<std::string>() == "redis" ||
                        p["port"].as<std::string>() == std::to_string(rports["redis"]);
    CHECK(governors_allowed);

    // The ServiceMonitor scrapes the governors' Service alone (each pod once), on a port it has.
    const auto monitor = the_one(objects, "ServiceMonitor");
    std::vector<YAML::Node> monitored;
    for (const auto& svc : all_of(objects, "Service"))
        if (labels_match(monitor["spec"]["selector"]["matchLabels"], svc["metadata"]["labels"]))
            monitored.push_back(svc);
    REQUIRE(monitored.size() == 1);
    CHECK(monitored[0]["metadata"]["name"].as<std::string>() ==
          governors["metadata"]["name"].as<std::string>());
    std::set<std::string> service_ports;
    for (const auto& p : governors["spec"]["ports"])
        service_ports.insert(p["name"].as<std::string>());
    CHECK(service_ports.count("ingest") == 1);
    REQUIRE(monitor["spec"]["endpoints"].size() >= 1);
    for (const auto& e : monitor["spec"]["endpoints"]) {
        CHECK(service_ports.count(e["port"].as<std::string>("")) == 1);
        CHECK(e["path"].as<std::string>("") == "/metrics");
    }
}

TEST_CASE("the cluster compose stack is wired to its configuration", "[deploy][cluster]") {
    const auto dir = k_deploy / "cluster";
    const auto compose = YAML::LoadFile((dir / "docker-compose.yml").string());
    const auto services = compose["services"];
    REQUIRE(services.IsMap());

    // Every service: images built here from debian:bookworm, bind mounts of files that exist,
    // named volumes declared, dependencies on services that exist.
    std::vector<std::string> replicas;
    for (const auto& kv : services) {
        const auto name = kv.first.as<std::string>();
        const auto svc = kv.second;
        INFO("service " << name);
        REQUIRE(svc["build"]["context"]);
        const auto dockerfile = dir / svc["build"]["context"].as<std::string>() / "Dockerfile";
        REQUIRE(fs::exists(dockerfile));
        CHECK(read_text(dockerfile).find("FROM debian:bookworm") != std::string::npos);
        CHECK(svc["pull_policy"].as<std::string>("") == "build");
        for (const auto& [target, source] : compose_volumes(svc)) {
            INFO("volume " << source << ":" << target);
            if (is_bind_mount(source))
                CHECK(fs::exists(dir / source));
            else
                CHECK(compose["volumes"][source]);
        }
        for (const auto& dep : svc["depends_on"]) CHECK(services[dep.first.as<std::string>()]);
        CHECK(svc["healthcheck"]["test"]);
        if (svc["image"].as<std::string>("") == "metrics-governor:local") replicas.push_back(name);
    }

    // Two replicas or more, alike but for their names and published ports.
    REQUIRE(replicas.size() >= 2);
    const auto first = services[replicas[0]];
    CHECK(fs::exists(dir / first["build"]["context"].as<std::string>() / "Dockerfile"));
    for (const auto& r : replicas) {
        INFO("replica " << r);
        for (const std::string key :
             {"build", "command", "volumes", "healthcheck", "depends_on", "stop_grace_period"})
            CHECK(YAML::Dump(services[r][key]) == YAML::Dump(first[key]));
    }

    // Their configuration: valid, cluster mode on, no state on disk, a valid limits file in the
    // same mount, the backend's service as the exporter.
    std::vector<std::string> command;
    for (const auto& a : first["command"]) command.push_back(a.as<std::string>());
    const auto flag = std::find(command.begin(), command.end(), "-config");
    REQUIRE(flag != command.end());
    REQUIRE(flag + 1 != command.end());
    const fs::path cfg_in_container = *(flag + 1);
    const auto cfg_file = compose_host_file(dir, first, cfg_in_container);
    REQUIRE(!cfg_file.empty());
    const auto parsed = parse_config(read_text(cfg_file));
    INFO(errors_of(parsed));
    REQUIRE(parsed.errors.empty());
    const auto& cfg = parsed.config;
    CHECK(cfg.cluster.enabled());
    CHECK(!cfg.bloom_persistence.enabled);
    const auto limits_file = compose_host_file(dir, first, cfg.limits.config);
    REQUIRE(!limits_file.empty());
    const auto limits = mg::limits::load_limits_file(limits_file.string());
    INFO((limits.ok() ? std::string() : limits.error_message()));
    REQUIRE(limits.ok());
    CHECK(!limits->rules.empty());
    CHECK(host_of(cfg.exporter.endpoint.substr(0, cfg.exporter.endpoint.find('/', 8))) ==
          "http://victoria-metrics");
    CHECK(services["victoria-metrics"]);
    const auto grace = mg::parse_duration(first["stop_grace_period"].as<std::string>(""));
    REQUIRE(grace.ok());
    CHECK(*grace > cfg.shutdown_timeout);

    // cluster.addresses: the Redis service, on the port its redis.conf sets; that Redis is
    // durable on a named volume and never evicts.
    REQUIRE(cfg.cluster.addresses.size() == 1);
    const auto address = cfg.cluster.addresses[0];
    INFO("cluster.addresses " << address);
    const auto redis = services[host_of(address)];
    REQUIRE(redis);
    std::vector<std::string> redis_args;
    for (const auto& a : redis["command"]) redis_args.push_back(a.as<std::string>());
    REQUIRE(redis_args.size() == 1);  // the config file, all settings in it
    const auto redis_conf_file = compose_host_file(dir, redis, redis_args[0]);
    REQUIRE(!redis_conf_file.empty());
    const auto conf = parse_redis_conf(read_text(redis_conf_file));
    const auto redis_volumes = compose_volumes(redis);
    std::string data_dir;
    for (const auto& [target, source] : redis_volumes)
        if (!is_bind_mount(source)) data_dir = target;
    REQUIRE(!data_dir.empty());
    check_redis_conf(conf, data_dir, port_of(address), std::nullopt);
    const auto redis_dockerfile =
        read_text(dir / redis["build"]["context"].as<std::string>() / "Dockerfile");
    CHECK(redis_dockerfile.find("redis-server") != std::string::npos);

    // Prometheus: writes through the balancer, scrapes every replica's stats port, and has the
    // rule files its config names.
    const auto prom_svc = services["prometheus"];
    REQUIRE(prom_svc);
    const auto prom_file = compose_host_file(dir, prom_svc, "/etc/prometheus/prometheus.yml");
    REQUIRE(!prom_file.empty());
    const auto prom = YAML::LoadFile(prom_file.string());
    for (const auto& rf : prom["rule_files"]) {
        INFO("rule file " << rf.as<std::string>());
        const auto host =
            compose_host_file(dir, prom_svc, "/etc/prometheus/" + rf.as<std::string>());
        REQUIRE(!host.empty());
        CHECK(fs::exists(host));
    }
    std::set<std::string> scraped, expected_scraped;
    for (const auto& job : prom["scrape_configs"])
        if (job["job_name"].as<std::string>() == "metrics-governor")
            for (const auto& sc : job["static_configs"])
                for (const auto& t : sc["targets"]) scraped.insert(t.as<std::string>());
    for (const auto& r : replicas)
        expected_scraped.insert(r + ":" + std::to_string(port_of(cfg.stats.addr)));
    CHECK(scraped == expected_scraped);
    REQUIRE(prom["remote_write"].size() == 1);
    const auto url = prom["remote_write"][0]["url"].as<std::string>();
    static const std::regex url_form(R"(^http://([a-z0-9-]+):([0-9]+)/api/v1/write$)");
    std::smatch m;
    REQUIRE(std::regex_match(url, m, url_form));
    const std::string balancer_name = m[1];
    const int balancer_port = std::stoi(m[2]);
    INFO("remote write to " << url);
    CHECK(std::find(replicas.begin(), replicas.end(), balancer_name) == replicas.end());

    // The balancer: haproxy in HTTP mode, the frontend Prometheus writes to leads round-robin,
    // with retries on another replica, to exactly the replicas' ingest ports, checked on their
    // /ready.
    const auto balancer = services[balancer_name];
    REQUIRE(balancer);
    CHECK(read_text(dir / balancer["build"]["context"].as<std::string>() / "Dockerfile")
              .find("install -y --no-install-recommends haproxy") != std::string::npos);
    const auto haproxy_file =
        compose_host_file(dir, balancer, "/usr/local/etc/haproxy/haproxy.cfg");
    REQUIRE(!haproxy_file.empty());
    const auto haproxy = parse_haproxy(read_text(haproxy_file));
    const auto defaults = haproxy_find(haproxy, "defaults", "");
    std::string backend_name;
    for (const auto& s : haproxy) {
        if (s.kind != "frontend") continue;
        for (const auto& bind : s.with({"bind"}))
            if (port_of(bind.at(1)) == balancer_port)
                backend_name = word_after(s.with({"default_backend"}).at(0), "default_backend");
    }
    REQUIRE(!backend_name.empty());
    const auto backend = haproxy_find(haproxy, "backend", backend_name);
    auto setting = [&](const std::vector<std::string>& words) {
        auto found = backend.with(words);
        if (found.empty()) found = defaults.with(words);
        return found.empty() ? std::vector<std::string>() : found.back();
    };
    CHECK(setting({"mode"}) == std::vector<std::string>{"mode", "http"});
    CHECK(setting({"balance"}) == std::vector<std::string>{"balance", "roundrobin"});
    const auto retries = setting({"retries"});
    REQUIRE(retries.size() == 2);
    CHECK(std::stoi(retries[1]) >= 1);
    CHECK(!setting({"option", "redispatch"}).empty());
    CHECK(setting({"option", "httpchk"}) ==
          std::vector<std::string>{"option", "httpchk", "GET", "/ready"});

    std::set<std::string> servers, expected_servers;
    const auto default_server = setting({"default-server"});
    for (const auto& line : backend.with({"server"})) {
        REQUIRE(line.size() >= 3);
        servers.insert(line[2]);
        INFO("server " << line[1]);
        // Health-checked on the stats port (where /ready is), on the line or by default-server.
        const bool checked = std::count(line.begin(), line.end(), "check") == 1 ||
                             std::count(default_server.begin(), default_server.end(), "check") == 1;
        CHECK(checked);
        const auto check_port = !word_after(line, "port").empty()
                                    ? word_after(line, "port")
                                    : word_after(default_server, "port");
        CHECK(port_of(":" + check_port) == port_of(cfg.stats.addr));
    }
    for (const auto& r : replicas)
        expected_servers.insert(r + ":" + std::to_string(port_of(cfg.receiver.http_listen)));
    CHECK(servers == expected_servers);

    // OTLP/gRPC: a frontend on the replicas' gRPC port speaking HTTP/2 (proto h2) to a backend
    // that speaks HTTP/2 to exactly the replicas' gRPC ports, so each call is balanced, health
    // checked on /ready like the HTTP one. The compose file publishes that port.
    const int grpc_port = port_of(cfg.grpc.listen);
    std::string grpc_backend;
    for (const auto& s : haproxy) {
        if (s.kind != "frontend") continue;
        for (const auto& bind : s.with({"bind"})) {
            if (port_of(bind.at(1)) != grpc_port) continue;
            CHECK(word_after(bind, "proto") == "h2");
            grpc_backend = word_after(s.with({"default_backend"}).at(0), "default_backend");
        }
    }
    REQUIRE(!grpc_backend.empty());
    const auto gb = haproxy_find(haproxy, "backend", grpc_backend);
    CHECK(gb.with({"option", "httpchk"}) ==
          std::vector<std::vector<std::string>>{{"option", "httpchk", "GET", "/ready"}});
    std::set<std::string> grpc_servers, expected_grpc;
    for (const auto& line : gb.with({"server"})) {
        REQUIRE(line.size() >= 3);
        grpc_servers.insert(line[2]);
        INFO("server " << line[1]);
        CHECK(word_after(line, "proto") == "h2");
    }
    for (const auto& r : replicas) expected_grpc.insert(r + ":" + std::to_string(grpc_port));
    CHECK(grpc_servers == expected_grpc);
    bool published = false;
    for (const auto& p : balancer["ports"])
        published = published || p.as<std::string>() ==
                                     std::to_string(grpc_port) + ":" + std::to_string(grpc_port);
    CHECK(published);
}

TEST_CASE("the redis.conf and haproxy.cfg readers", "[deploy]") {
    const auto conf = parse_redis_conf(
        "# comment\nappendonly no\n  appendonly   yes  \nsave \"\"\nbind * -::*\ndaemonize no\n");
    CHECK(conf.at("appendonly") == "yes");  // the last one wins, as in Redis
    CHECK(conf.at("save") == "\"\"");
    CHECK(conf.at("bind") == "* -::*");
    CHECK(conf.count("#") == 0);
    CHECK(redis_bytes("256mb") == 268435456.0);
    CHECK(redis_bytes("1G") == 1e9);
    CHECK(!redis_bytes("1GiB").has_value());

    const auto cfg = parse_haproxy(
        "global\n  maxconn 10 # a comment\ndefaults\n  mode http\n"
        "frontend in\n  bind :4318\n  default_backend b\n"
        "backend b\n  balance roundrobin\n  server s1 a:1 check port 2\n  server s2 b:1\n");
    REQUIRE(cfg.size() == 4);
    const auto b = haproxy_find(cfg, "backend", "b");
    REQUIRE(b.with({"server"}).size() == 2);
    CHECK(word_after(b.with({"server"})[0], "port") == "2");
    CHECK(word_after(b.with({"server"})[1], "port").empty());
    CHECK(haproxy_find(cfg, "global", "").with({"maxconn"})[0] ==
          std::vector<std::string>{"maxconn", "10"});
    CHECK(port_of(haproxy_find(cfg, "frontend", "in").with({"bind"})[0][1]) == 4318);
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
                             k_source / "docs" / "cluster.md", k_deploy / "README.md",
                             k_deploy / "prometheus" / "alerts.yml"}) {
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
