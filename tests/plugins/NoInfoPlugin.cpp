// A plugin of this ABI version that does not describe itself (no
// pier_plugin_info), as one written without PIER_PLUGIN would be.
#include <pier/plugin.hpp>

PIER_PLUGIN_ENTRY int pier_plugin_abi_version() {
  return PIER_PLUGIN_ABI_VERSION;
}
PIER_PLUGIN_ENTRY void pier_plugin_register(pier::PluginRegistry&) {}
