// The readonlydir example plugin: a storage driver (ReadOnlyDirectoryDriver.hpp).
#include <pier/plugin.hpp>

#include "ReadOnlyDirectoryDriver.hpp"

namespace {

void registerPlugin(pier::PluginRegistry& registry) {
  registry.storageDriver("readonlydir", pier_example::makeReadOnlyDirectoryDriver);
}

} // namespace

PIER_PLUGIN(registerPlugin, "readonlydir", PIER_PLUGIN_VERSION,
            "An example storage driver: a directory tree, read-only")
