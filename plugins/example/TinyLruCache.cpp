// The tinylru example plugin: a blob descriptor cache (TinyLruCache.hpp).
#include <pier/plugin.hpp>

#include "TinyLruCache.hpp"

namespace {

void registerPlugin(pier::PluginRegistry& registry) {
  registry.blobDescriptorCache("tinylru", pier_example::makeTinyLruCache);
}

} // namespace

PIER_PLUGIN(registerPlugin, "tinylru", PIER_PLUGIN_VERSION,
            "An example blob descriptor cache: a small LRU map")
