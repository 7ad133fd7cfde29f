// plugin_loader: finds and opens the gRPC plugin (plugin_api.h) when the daemon needs OTLP/gRPC.
// Where it looks, in order: beside the executable (the build tree, a copied binary), then
// <executable's dir>/../lib/metrics-governor/ (`make install`, the Docker image). The first file
// found is opened (dlopen, every symbol bound at once, so a broken plugin fails here and not at
// its first call); it stays loaded for the life of the process.
//
// Errors name what was tried and the way out (-grpc-listen= without OTLP/gRPC).
//
// Threading: call from main's thread at start-up.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "grpc_plugin/plugin_api.h"

namespace mg::grpc_plugin {

inline constexpr const char* k_plugin_file = "metrics-governor-grpc.so";

// The paths tried by default, from the running executable's path (/proc/self/exe).
std::vector<std::string> default_plugin_paths();

// Opens the first of `paths` that exists; the plugin's api, or why not.
result<const api*> load_plugin(const std::vector<std::string>& paths);

}  // namespace mg::grpc_plugin
