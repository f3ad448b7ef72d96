// Registers the storage driver name "duplicate", as its twin plugin does.
#include <pier/plugin.hpp>

namespace {
void registerPlugin(pier::PluginRegistry& registry) {
  registry.storageDriver("duplicate", [](const Poco::JSON::Object&) -> std::shared_ptr<pier::StorageDriver> {
    throw pier::ConfigError("duplicate: fixture only");
  });
}
} // namespace

PIER_PLUGIN(registerPlugin, "duplicate-first", "1.0.0",
            "Test fixture: registers a name its twin registers too")
