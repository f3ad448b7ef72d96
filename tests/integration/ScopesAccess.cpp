#include "ScopesAccess.hpp"

#include <regex>

namespace pier::test {

std::string withDebugLog(const std::string& config) {
  return std::regex_replace(config, std::regex("level: info"), "level: debug");
}

std::string scopesConfig(const TempDir& root, const TempDir& pluginDir, const std::string& extra) {
  std::filesystem::path directory = pluginDir / "lib";
  std::filesystem::create_directories(directory);
  for (const auto& entry : std::filesystem::directory_iterator(PIER_TEST_PLUGIN_DIR))
    std::filesystem::create_symlink(entry.path(), directory / entry.path().filename());
  std::filesystem::path controller =
      std::filesystem::path(PIER_TEST_FIXTURE_PLUGIN_DIR) / "access" / "libpier-access-scopes.so";
  std::filesystem::create_symlink(controller, directory / controller.filename());
  return withDebugLog(filesystemConfig(root.path(), "plugins:\n  directory: " + directory.string() +
                                                        "\nauth:\n  scopes: {}\n" + extra));
}

std::map<std::string, std::string> scopes(const std::string& user, const std::string& list) {
  return {{"Authorization", "Scopes " + user + " " + list}};
}

} // namespace pier::test
