// A plugin built unlike the server: CMake compiles it once with
// -D_GLIBCXX_USE_CXX11_ABI=0 (the old std::string) and once against a Poco
// version header that says 1.9. The loader must refuse both from
// pier_plugin_info before their Register function runs, which would
// register the storage driver "must-not-register".
#include <pier/plugin.hpp>

namespace {
void registerPlugin(pier::PluginRegistry& registry) {
  registry.storageDriver(
      "must-not-register",
      [](const Poco::JSON::Object&) -> std::shared_ptr<pier::StorageDriver> { return nullptr; });
}
} // namespace

PIER_PLUGIN(registerPlugin, "other-build", "1.0.0", "Test fixture: built with another string ABI or Poco")
