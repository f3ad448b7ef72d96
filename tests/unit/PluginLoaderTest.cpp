#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "PierProcess.hpp"
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
  EXPECT_NE(error.find("ABI version " + std::to_string(PIER_PLUGIN_ABI_VERSION + 1000)), std::string::npos)
      << error;
  EXPECT_NE(error.find("speaks version " + std::to_string(PIER_PLUGIN_ABI_VERSION)), std::string::npos)
      << error;
  EXPECT_NE(error.find("rebuild it"), std::string::npos) << error;
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

TEST(PluginLoader, EachPluginDescribesItselfAndWasBuiltLikeTheServer) {
  PluginLoader loader;
  loader.loadDirectory(kPlugins);
  const LoadedPlugin server = serverBuild();
  std::vector<std::string> names;
  for (const LoadedPlugin& plugin : loader.plugins()) {
    names.push_back(plugin.name);
    EXPECT_EQ(plugin.version, PIER_VERSION) << plugin.file;
    EXPECT_EQ(plugin.abiVersion, PIER_PLUGIN_ABI_VERSION) << plugin.file;
    EXPECT_FALSE(plugin.description.empty()) << plugin.file;
    EXPECT_EQ(plugin.standardLibrary, "libstdc++") << plugin.file;
    EXPECT_EQ(plugin.cxx11Abi, server.cxx11Abi) << plugin.file;
    EXPECT_EQ(plugin.pocoVersion, server.pocoVersion) << plugin.file;
    EXPECT_EQ(plugin.compiler, server.compiler) << plugin.file;
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"filesystem", "htpasswd", "inmemory", "inmemory", "redis", "s3",
                                             "silly", "token", "webhook"}));
}

TEST(PluginLoader, RefusesAPluginThatDoesNotDescribeItself) {
  std::string error = loadError(kFixtures / "noinfo");
  EXPECT_NE(error.find("libpier-storage-noinfo.so"), std::string::npos) << error;
  EXPECT_NE(error.find("pier_plugin_info"), std::string::npos) << error;
}

// The fixture's Register function would add "must-not-register": it must not run.
void expectRefusedBeforeRegistering(const std::string& fixture, const std::string& file,
                                    const std::vector<std::string>& phrases) {
  PluginLoader loader;
  std::string error;
  try {
    loader.loadDirectory(kFixtures / fixture);
  } catch (const PluginError& e) {
    error = e.what();
  }
  EXPECT_NE(error.find(file), std::string::npos) << error;
  for (const auto& phrase : phrases) EXPECT_NE(error.find(phrase), std::string::npos) << error;
  EXPECT_NE(error.find("rebuild it"), std::string::npos) << error;
  EXPECT_TRUE(loader.catalog().names(PluginKind::storageDriver).empty());
  EXPECT_TRUE(loader.plugins().empty());
}

TEST(PluginLoader, RefusesAPluginBuiltWithTheOtherStringAbi) {
  expectRefusedBeforeRegistering("stringabi", "libpier-storage-stringabi.so",
                                 {"_GLIBCXX_USE_CXX11_ABI=0", "this server with _GLIBCXX_USE_CXX11_ABI=1"});
}

TEST(PluginLoader, RefusesAPluginBuiltAgainstAnotherPoco) {
  expectRefusedBeforeRegistering("otherpoco", "libpier-storage-otherpoco.so",
                                 {"Poco 1.9.0", "this server against Poco " + pocoRelease(POCO_VERSION)});
}

TEST(PluginLoader, ARegisterFunctionThrowingANonStdExceptionIsAPluginError) {
  std::string error = loadError(kFixtures / "registerthrows");
  EXPECT_NE(error.find("libpier-storage-registerthrows.so"), std::string::npos) << error;
  EXPECT_NE(error.find("failed to register"), std::string::npos) << error;
  EXPECT_NE(error.find("not a std::exception"), std::string::npos) << error;
}

TEST(PluginLoader, FactoriesThatThrowOrReturnNothingAreConfigErrorsNamingThePlugin) {
  PluginLoader loader;
  loader.loadDirectory(kFixtures / "factories");
  Poco::JSON::Object none;
  const std::map<std::string, std::string> expected{{"throws-int", "not a std::exception"},
                                                    {"throws-std", "the fixture's factory gave up"},
                                                    {"returns-null", "returned no instance"}};
  for (const auto& [name, phrase] : expected) {
    try {
      loader.catalog().createStorageDriver(name, none);
      ADD_FAILURE() << name << ": expected a ConfigError";
    } catch (const ConfigError& e) {
      const std::string error = e.what();
      EXPECT_NE(error.find("storage driver plugin \"" + name + "\""), std::string::npos) << error;
      EXPECT_NE(error.find("libpier-storage-factories.so"), std::string::npos) << error;
      EXPECT_NE(error.find(phrase), std::string::npos) << error;
    }
  }
}

// pier_add_plugin's version script: a plugin exports its entry points and the
// SDK's type information, nothing of libstdc++, Poco or its own code.
TEST(PluginLoader, PluginsExportOnlyTheirEntryPointsAndSdkTypeInformation) {
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kPlugins)) {
    if (entry.path().extension() != ".so") continue;
    auto nm = test::runCommand("/usr/bin/nm", {"-D", "--defined-only", "-C", entry.path().string()});
    ASSERT_EQ(nm.exitCode, 0) << nm.output;
    std::istringstream lines(nm.output);
    std::set<std::string> entryPoints;
    for (std::string line; std::getline(lines, line);) {
      // "<address> <type> <name>"
      const auto nameAt = line.find(' ', line.find(' ') + 1);
      ASSERT_NE(nameAt, std::string::npos) << line;
      const std::string symbol = line.substr(nameAt + 1);
      if (symbol.starts_with("pier_plugin_")) {
        entryPoints.insert(symbol);
        continue;
      }
      EXPECT_TRUE(symbol.starts_with("typeinfo for pier::") ||
                  symbol.starts_with("typeinfo name for pier::") || symbol.starts_with("vtable for pier::"))
          << entry.path().filename() << " exports " << symbol;
    }
    EXPECT_EQ(entryPoints,
              (std::set<std::string>{"pier_plugin_abi_version", "pier_plugin_info", "pier_plugin_register"}))
        << entry.path();
    ++checked;
  }
  EXPECT_GE(checked, 9);
}

} // namespace
} // namespace pier
