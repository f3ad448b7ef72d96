// Claims an ABI version the server does not speak; the loader must refuse it.
#include <pier/plugin.hpp>

extern "C" __attribute__((visibility("default"))) int pier_plugin_abi_version() {
  return PIER_PLUGIN_ABI_VERSION + 1000;
}
extern "C" __attribute__((visibility("default"))) void pier_plugin_register(pier::PluginRegistry&) {}
