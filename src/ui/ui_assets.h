// ui_assets: the files of the /ui page (src/ui/assets), embedded in the binary at build time by
// cmake/embed_files.cmake into the generated ui_assets.cpp, so the page needs nothing from
// outside the daemon. Immutable; safe from any thread.
#pragma once

#include <span>
#include <string_view>

namespace mg::ui {

struct asset {
    std::string_view name;  // file name under src/ui/assets, e.g. "app.js"
    std::string_view body;
};

std::span<const asset> embedded_assets();

}  // namespace mg::ui
