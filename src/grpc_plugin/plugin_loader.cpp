// Finding and opening the gRPC plugin (plugin_loader.h).
#include "grpc_plugin/plugin_loader.h"

#include <dlfcn.h>

#include <filesystem>
#include <system_error>

namespace mg::grpc_plugin {

std::vector<std::string> default_plugin_paths() {
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    const auto dir = ec ? std::filesystem::current_path(ec) : exe.parent_path();
    return {(dir / k_plugin_file).string(),
            (dir.parent_path() / "lib" / "metrics-governor" / k_plugin_file).string()};
}

result<const api*> load_plugin(const std::vector<std::string>& paths) {
    const std::string* found = nullptr;
    std::string tried;
    for (const auto& p : paths) {
        std::error_code ec;
        if (std::filesystem::exists(p, ec)) {
            found = &p;
            break;
        }
        tried += (tried.empty() ? "" : ", ") + p;
    }
    if (found == nullptr) {
        return make_error(std::string("the gRPC plugin ") + k_plugin_file +
                          " was not found (looked for " + tried +
                          "); install it with the binary, or run without OTLP/gRPC "
                          "(-grpc-listen= and another -exporter-protocol)");
    }
    // Never closed: the listener, the transports and gRPC's own threads run its code until exit.
    void* handle = dlopen(found->c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* why = dlerror();
        return make_error("cannot load the gRPC plugin " + *found + ": " +
                          (why != nullptr ? why : "unknown error"));
    }
    void* entry = dlsym(handle, k_grpc_plugin_entry);
    if (entry == nullptr) {
        return make_error(*found + " is not a metrics-governor gRPC plugin (it has no " +
                          k_grpc_plugin_entry + ")");
    }
    const auto get = reinterpret_cast<const api* (*)()>(entry);
    const api* a = get();
    if (a == nullptr || a->abi != k_abi || a->layout != k_layout) {
        return make_error(*found +
                          " is a gRPC plugin of another build of metrics-governor; install the "
                          "one built with this binary");
    }
    return a;
}

}  // namespace mg::grpc_plugin
