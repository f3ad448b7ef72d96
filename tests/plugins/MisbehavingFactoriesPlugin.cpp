// Storage driver factories that fail in the ways a plugin can: throwing an
// int, throwing a std::exception, and returning no instance. Creating each
// must be a ConfigError naming the plugin, its kind and its file.
#include <stdexcept>

#include <pier/plugin.hpp>

namespace {
void registerPlugin(pier::PluginRegistry& registry) {
  registry.storageDriver("throws-int",
                         [](const Poco::JSON::Object&) -> std::shared_ptr<pier::StorageDriver> { throw 7; });
  registry.storageDriver("throws-std", [](const Poco::JSON::Object&) -> std::shared_ptr<pier::StorageDriver> {
    throw std::logic_error("the fixture's factory gave up");
  });
  registry.storageDriver(
      "returns-null",
      [](const Poco::JSON::Object&) -> std::shared_ptr<pier::StorageDriver> { return nullptr; });
}
} // namespace

PIER_PLUGIN(registerPlugin, "misbehaving", "1.0.0", "Test fixture: factories that throw or return nothing")
