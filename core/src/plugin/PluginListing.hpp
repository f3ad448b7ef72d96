#pragma once

#include <string>

#include "plugin/PluginLoader.hpp"

namespace pier {

// `pier plugins`: for each loaded plugin what it provides (kind and name),
// its own name and version, its ABI version and its file; then the server's
// own build.
std::string pluginListingText(const PluginLoader& loader);

// `pier plugins --json`:
//   {"server": {build}, "plugins": [{"file", "name", "version", "description",
//    "abi", "build": {"standardLibrary", "cxx11Abi", "poco", "compiler"},
//    "provides": [{"kind", "name"}]}]}
std::string pluginListingJson(const PluginLoader& loader);

} // namespace pier
