#include <gtest/gtest.h>

#include "plugin/PluginLoader.hpp"

namespace pier {
namespace {

const std::filesystem::path kPlugins = PIER_TEST_PLUGIN_DIR;
const std::filesystem::path kFixtures = PIER_TEST_FIXTURE_PLUGIN_DIR;

std::string loadError(const std::filesystem::path& directory) {
  PluginLoader loader;
  try {
    loader.loadDirectory(directory);
  } catch (const PluginError& e) {
    return e.what();
  }
  return {};
}

TEST(PluginLoader, LoadsEveryInTreePluginAndRecordsItsFile) {
  PluginLoader loader;
  loader.loadDirectory(kPlugins);
  auto drivers = loader.catalog().names(PluginKind::storageDriver);
  EXPECT_NE(std::find(drivers.begin(), drivers.end(), "filesystem"), drivers.end());
  EXPECT_NE(std::find(drivers.begin(), drivers.end(), "inmemory"), drivers.end());
  auto caches = loader.catalog().names(PluginKind::blobDescriptorCache);
  EXPECT_NE(std::find(caches.begin(), caches.end(), "inmemory"), caches.end());
  for (const auto& entry : loader.catalog().entries())
    EXPECT_EQ(std::filesystem::path(entry.file).parent_path(), kPlugins) << entry.name;
}

TEST(PluginLoader, CreatesAnInstanceByName) {
  PluginLoader loader;
  loader.loadDirectory(kPlugins);
  Poco::JSON::Object none;
  auto driver = loader.catalog().createStorageDriver("inmemory", none);
  ASSERT_TRUE(driver);
  EXPECT_EQ(driver->name(), "inmemory");
}

TEST(PluginLoader, UnknownNameListsRegisteredNames) {
  PluginLoader loader;
  loader.loadDirectory(kPlugins);
  Poco::JSON::Object none;
  try {
    loader.catalog().createStorageDriver("nosuch", none);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("registered: filesystem, inmemory"), std::string::npos) << e.what();
  }
}

TEST(PluginLoader, RefusesAnotherAbiVersionNamingTheFile) {
  std::string error = loadError(kFixtures / "badabi");
  EXPECT_NE(error.find("libpier-storage-badabi.so"), std::string::npos) << error;
  EXPECT_NE(error.find("ABI version"), std::string::npos) << error;
}

TEST(PluginLoader, RefusesANameRegisteredTwiceNamingBothFiles) {
  std::string error = loadError(kFixtures / "duplicate");
  EXPECT_NE(error.find("libpier-storage-first.so"), std::string::npos) << error;
  EXPECT_NE(error.find("libpier-storage-second.so"), std::string::npos) << error;
}

TEST(PluginLoader, RefusesAFileThatIsNoLibrary) {
  std::string error = loadError(kFixtures / "corrupt");
  EXPECT_NE(error.find("cannot load plugin"), std::string::npos) << error;
  EXPECT_NE(error.find("libpier-corrupt.so"), std::string::npos) << error;
}

TEST(PluginLoader, RefusesALibraryWithoutPluginSymbols) {
  std::string error = loadError(kFixtures / "noregister");
  EXPECT_NE(error.find("libpier-storage-noregister.so"), std::string::npos) << error;
}

TEST(PluginLoader, MissingDirectoryIsAnError) {
  std::string error = loadError("/nonexistent/plugins");
  EXPECT_NE(error.find("/nonexistent/plugins"), std::string::npos) << error;
}

} // namespace
} // namespace pier
