#pragma once

#include <filesystem>
#include <vector>

#include <boost/dll/shared_library.hpp>

#include "plugin/PluginCatalog.hpp"

namespace pier {

// Loads plugin shared libraries with Boost.DLL, checks their ABI version and
// calls their Register function into the catalog. The libraries stay loaded
// as long as the loader lives; instances made from the catalog must be
// destroyed before it.
class PluginLoader {
public:
  PluginLoader() = default;
  PluginLoader(const PluginLoader&) = delete;
  PluginLoader& operator=(const PluginLoader&) = delete;
  ~PluginLoader();

  // Loads every *.so in the directory in lexical order. Throws PluginError
  // naming the file on a load failure, a missing symbol, an ABI mismatch or a
  // name registered twice.
  void loadDirectory(const std::filesystem::path& directory);
  void loadFile(const std::filesystem::path& file);

  PluginCatalog& catalog() { return catalog_; }
  const PluginCatalog& catalog() const { return catalog_; }
  const std::vector<std::filesystem::path>& files() const { return files_; }

private:
  // Declared before the catalog so that the catalog's factories, whose code
  // lives in the libraries, are destroyed first.
  std::vector<boost::dll::shared_library> libraries_;
  std::vector<std::filesystem::path> files_;
  PluginCatalog catalog_;
};

// ../lib/pier/plugins relative to the running executable's folder.
std::filesystem::path defaultPluginDirectory();

} // namespace pier
