#include "plugin/PluginLoader.hpp"

#include <algorithm>

#include <boost/dll/runtime_symbol_info.hpp>

namespace pier {

PluginLoader::~PluginLoader() = default;

void PluginLoader::loadDirectory(const std::filesystem::path& directory) {
  std::error_code error;
  if (!std::filesystem::is_directory(directory, error))
    throw PluginError("plugin directory " + directory.string() + " does not exist or is not a directory");
  std::vector<std::filesystem::path> found;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    if (entry.path().extension() == ".so" && !entry.is_directory()) found.push_back(entry.path());
  }
  std::sort(found.begin(), found.end());
  for (const auto& file : found) loadFile(file);
}

void PluginLoader::loadFile(const std::filesystem::path& file) {
  const std::string name = file.string();
  boost::dll::shared_library library;
  boost::dll::fs::error_code error;
  // RTLD_LOCAL: a plugin's own symbols never resolve another plugin's.
  library.load(file, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, error);
  if (error) throw PluginError("cannot load plugin " + name + ": " + error.message());
  if (!library.has("pier_plugin_abi_version") || !library.has("pier_plugin_register"))
    throw PluginError(
        "cannot load plugin " + name +
        ": it does not export pier_plugin_abi_version and pier_plugin_register (use PIER_PLUGIN)");
  int abi = library.get<int()>("pier_plugin_abi_version")();
  if (abi != PIER_PLUGIN_ABI_VERSION)
    throw PluginError("cannot load plugin " + name + ": it was built for plugin ABI version " +
                      std::to_string(abi) + ", this server speaks version " +
                      std::to_string(PIER_PLUGIN_ABI_VERSION) + "; rebuild it against this SDK");
  auto registerPlugin = library.get<void(PluginRegistry&)>("pier_plugin_register");
  // Kept loaded from here on: a Register function that fails half way may
  // already have left factories in the catalog.
  libraries_.push_back(std::move(library));
  files_.push_back(file);
  catalog_.setRegisteringFile(name);
  try {
    registerPlugin(catalog_);
  } catch (const PluginError&) {
    throw;
  } catch (const std::exception& e) {
    throw PluginError("plugin " + name + " failed to register: " + e.what());
  }
}

std::filesystem::path defaultPluginDirectory() {
  std::filesystem::path executable = boost::dll::program_location();
  return (executable.parent_path() / ".." / "lib" / "pier" / "plugins").lexically_normal();
}

} // namespace pier
