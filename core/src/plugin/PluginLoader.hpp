#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <boost/dll/shared_library.hpp>

#include "plugin/PluginCatalog.hpp"

namespace pier {

// A loaded plugin as it describes itself (PierPluginInfo), copied out of its
// library.
struct LoadedPlugin {
  std::filesystem::path file;
  std::string name;
  std::string version;
  std::string description;
  int abiVersion = 0;
  std::string standardLibrary;
  int cxx11Abi = -1;
  unsigned long pocoVersion = 0;
  std::string compiler;
};

// Loads plugin shared libraries with Boost.DLL, checks that each was built
// for this server (ABI version, C++ standard library and its string ABI,
// Poco major.minor) and calls its Register function into the catalog. The
// libraries stay loaded as long as the loader lives; instances made from the
// catalog must be destroyed before it.
class PluginLoader {
public:
  PluginLoader() = default;
  PluginLoader(const PluginLoader&) = delete;
  PluginLoader& operator=(const PluginLoader&) = delete;
  ~PluginLoader();

  // Loads every *.so in the directory in lexical order. Throws PluginError
  // naming the file on a load failure, a missing symbol, a build that does
  // not match the server's, a Register function that throws, or a name
  // registered twice.
  void loadDirectory(const std::filesystem::path& directory);
  void loadFile(const std::filesystem::path& file);

  PluginCatalog& catalog() { return catalog_; }
  const PluginCatalog& catalog() const { return catalog_; }
  const std::vector<LoadedPlugin>& plugins() const { return plugins_; }

private:
  // Declared before the catalog so that the catalog's factories, whose code
  // lives in the libraries, are destroyed first.
  std::vector<boost::dll::shared_library> libraries_;
  std::vector<LoadedPlugin> plugins_;
  PluginCatalog catalog_;
};

// "1.12.4" from POCO_VERSION's 0xMMmmppbb.
std::string pocoRelease(unsigned long version);

// The server's own build, in the terms of PierPluginInfo (name "pier").
LoadedPlugin serverBuild();

// ../lib/pier/plugins relative to the running executable's folder.
std::filesystem::path defaultPluginDirectory();

} // namespace pier
