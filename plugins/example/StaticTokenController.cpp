// The statictoken example plugin: an access controller (StaticTokenController.hpp).
#include <pier/plugin.hpp>

#include "StaticTokenController.hpp"

namespace {

void registerPlugin(pier::PluginRegistry& registry) {
  registry.accessController("statictoken", pier_example::makeStaticTokenController);
}

} // namespace

PIER_PLUGIN(registerPlugin, "statictoken", PIER_PLUGIN_VERSION,
            "An example access controller: one configured bearer token")
