#include "plugin/PluginLoader.hpp"

#include <algorithm>

#include <boost/dll/runtime_symbol_info.hpp>

namespace pier {

namespace {

std::string textOf(const char* text) {
  return text != nullptr ? text : "";
}

LoadedPlugin describedBy(const PierPluginInfo& info, const std::filesystem::path& file) {
  return LoadedPlugin{file,
                      textOf(info.name),
                      textOf(info.version),
                      textOf(info.description),
                      info.abiVersion,
                      textOf(info.standardLibrary),
                      info.cxx11Abi,
                      info.pocoVersion,
                      textOf(info.compiler)};
}

// What must match for C++ types to cross between server and plugin: the
// standard library and its string ABI (std::string's layout), and Poco's
// major.minor (Poco::JSON::Object crosses; Poco's soname changes with it).
// The compiler is only recorded: GCC and clang share the Itanium C++ ABI.
void checkBuiltLikeTheServer(const std::string& file, const LoadedPlugin& plugin) {
  const LoadedPlugin server = serverBuild();
  auto refuse = [&](const std::string& what) {
    throw PluginError("cannot load plugin " + file + ": " + what +
                      "; rebuild it with this server's compiler setup and Poco (`pier plugins --json` "
                      "shows the server's build)");
  };
  if (plugin.standardLibrary != server.standardLibrary)
    refuse("it was built with the C++ standard library " + plugin.standardLibrary + ", this server with " +
           server.standardLibrary);
  if (plugin.cxx11Abi != server.cxx11Abi)
    refuse("it was built with _GLIBCXX_USE_CXX11_ABI=" + std::to_string(plugin.cxx11Abi) +
           ", this server with _GLIBCXX_USE_CXX11_ABI=" + std::to_string(server.cxx11Abi) +
           " (std::string differs between the two)");
  if ((plugin.pocoVersion >> 16) != (server.pocoVersion >> 16))
    refuse("it was built against Poco " + pocoRelease(plugin.pocoVersion) + ", this server against Poco " +
           pocoRelease(server.pocoVersion) + " (Poco's classes cross between them)");
}

} // namespace

std::string pocoRelease(unsigned long version) {
  return std::to_string(version >> 24) + "." + std::to_string((version >> 16) & 0xff) + "." +
         std::to_string((version >> 8) & 0xff);
}

LoadedPlugin serverBuild() {
  return LoadedPlugin{boost::dll::program_location(),
                      "pier",
                      PIER_VERSION,
                      "the Pier registry",
                      PIER_PLUGIN_ABI_VERSION,
                      PIER_BUILD_STANDARD_LIBRARY,
                      PIER_BUILD_CXX11_ABI,
                      POCO_VERSION,
                      PIER_BUILD_COMPILER};
}

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
  if (error) {
    std::string message = "cannot load plugin " + name + ": " + error.message();
    // Most often a plugin built against another Poco, SDK or string ABI.
    if (message.find("undefined symbol") != std::string::npos)
      message +=
          " (was it built against another Poco or Pier SDK than this server's? rebuild it against them)";
    throw PluginError(message);
  }
  if (!library.has("pier_plugin_abi_version") || !library.has("pier_plugin_register"))
    throw PluginError(
        "cannot load plugin " + name +
        ": it does not export pier_plugin_abi_version and pier_plugin_register (use PIER_PLUGIN)");
  // Read before anything else: only this function is the same in every ABI.
  const int abi = library.get<int()>("pier_plugin_abi_version")();
  if (abi != PIER_PLUGIN_ABI_VERSION)
    throw PluginError("cannot load plugin " + name + ": it was built for plugin ABI version " +
                      std::to_string(abi) + ", this server speaks version " +
                      std::to_string(PIER_PLUGIN_ABI_VERSION) + "; rebuild it against this server's SDK");
  const PierPluginInfo* info =
      library.has("pier_plugin_info") ? library.get<const PierPluginInfo*()>("pier_plugin_info")() : nullptr;
  if (info == nullptr)
    throw PluginError("cannot load plugin " + name + ": it does not describe itself (pier_plugin_info; use " +
                      "PIER_PLUGIN)");
  LoadedPlugin plugin = describedBy(*info, file);
  if (plugin.abiVersion != abi)
    throw PluginError("cannot load plugin " + name + ": its pier_plugin_info says ABI version " +
                      std::to_string(plugin.abiVersion) + ", its pier_plugin_abi_version " +
                      std::to_string(abi) + "; rebuild it with PIER_PLUGIN");
  if (plugin.name.empty()) throw PluginError("cannot load plugin " + name + ": PIER_PLUGIN gives it no name");
  checkBuiltLikeTheServer(name, plugin);

  auto registerPlugin = library.get<void(PluginRegistry&)>("pier_plugin_register");
  // Kept loaded from here on: a Register function that fails half way may
  // already have left factories in the catalog.
  libraries_.push_back(std::move(library));
  plugins_.push_back(std::move(plugin));
  catalog_.setRegisteringFile(name);
  try {
    registerPlugin(catalog_);
  } catch (const PluginError&) {
    throw; // the catalog's own, e.g. a name registered twice
  } catch (const std::exception& e) {
    throw PluginError("plugin " + name + " failed to register: " + e.what());
  } catch (...) {
    throw PluginError("plugin " + name +
                      " failed to register: it threw something that is not a std::exception");
  }
}

std::filesystem::path defaultPluginDirectory() {
  std::filesystem::path executable = boost::dll::program_location();
  return (executable.parent_path() / ".." / "lib" / "pier" / "plugins").lexically_normal();
}

} // namespace pier
