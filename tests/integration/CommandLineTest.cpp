// The pier command line: version, plugins, and startup errors that name their cause.
#include <gtest/gtest.h>

#include "PierProcess.hpp"

namespace pier::test {
namespace {

const std::string kFixturePlugins = PIER_TEST_FIXTURE_PLUGIN_DIR;

TEST(CommandLine, VersionPrintsTheVersion) {
  auto result = runPier({"version"});
  EXPECT_EQ(result.exitCode, 0);
  EXPECT_NE(result.output.find("pier " PIER_VERSION), std::string::npos) << result.output;
}

TEST(CommandLine, UnknownCommandFailsWithUsage) {
  auto result = runPier({"frobnicate"});
  EXPECT_EQ(result.exitCode, 2);
  EXPECT_NE(result.output.find("unknown command \"frobnicate\""), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("usage: pier"), std::string::npos);
}

TEST(CommandLine, PluginsListsKindNameAndFile) {
  auto result = runPier({"plugins"});
  ASSERT_EQ(result.exitCode, 0) << result.output;
  EXPECT_NE(result.output.find("storage driver"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("libpier-storage-driver-filesystem.so"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("libpier-storage-driver-inmemory.so"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("blob descriptor cache"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("libpier-blob-descriptor-cache-inmemory.so"), std::string::npos)
      << result.output;
}

// Starts `pier serve` on a config whose plugin directory is one of the fixture cases.
CommandResult serveWithPlugins(const std::string& pluginCase, const std::string& driver = "inmemory") {
  TempDir dir;
  writeFile(dir / "config.yml", "version: 0.1\nstorage:\n  " + driver +
                                    ": {}\nhttp:\n  addr: 127.0.0.1:0\nplugins:\n  directory: " +
                                    kFixturePlugins + "/" + pluginCase + "\n");
  return runPier({"serve", (dir / "config.yml").string()}, {}, {}, std::chrono::seconds(20));
}

TEST(CommandLine, PluginOfAnotherAbiIsRefusedByName) {
  auto result = serveWithPlugins("badabi");
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_NE(result.output.find("libpier-storage-badabi.so"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("ABI version"), std::string::npos) << result.output;
}

TEST(CommandLine, TwoPluginsRegisteringOneNameIsAnError) {
  auto result = serveWithPlugins("duplicate");
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_NE(result.output.find("\"duplicate\" is registered twice"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("libpier-storage-first.so"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("libpier-storage-second.so"), std::string::npos) << result.output;
}

TEST(CommandLine, FileThatIsNotALibraryIsRefusedByName) {
  auto result = serveWithPlugins("corrupt");
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_NE(result.output.find("cannot load plugin"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("libpier-corrupt.so"), std::string::npos) << result.output;
}

TEST(CommandLine, LibraryWithoutRegisterFunctionIsRefusedByName) {
  auto result = serveWithPlugins("noregister");
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_NE(result.output.find("libpier-storage-noregister.so"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("pier_plugin_register"), std::string::npos) << result.output;
}

TEST(CommandLine, UnknownDriverListsTheRegisteredOnes) {
  TempDir dir;
  writeFile(dir / "config.yml", "version: 0.1\nstorage:\n  nosuchdriver: {}\nhttp:\n  addr: 127.0.0.1:0\n");
  auto result = runPier({"serve", (dir / "config.yml").string()});
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_NE(result.output.find("\"nosuchdriver\""), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("registered: filesystem, inmemory"), std::string::npos) << result.output;
}

TEST(CommandLine, ConfigErrorNamesTheKey) {
  TempDir dir;
  writeFile(dir / "config.yml", "version: 0.1\nstorage:\n  inmemory: {}\n  delete:\n    enabled: maybe\n");
  auto result = runPier({"serve", (dir / "config.yml").string()});
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_NE(result.output.find("storage.delete.enabled"), std::string::npos) << result.output;
}

TEST(CommandLine, MissingConfigFileIsAnError) {
  auto result = runPier({"serve", "/nonexistent/pier/config.yml"});
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_NE(result.output.find("/nonexistent/pier/config.yml"), std::string::npos) << result.output;
}

TEST(CommandLine, AddressInUseIsAnError) {
  TempDir root;
  PierServer first(filesystemConfig(root.path()));
  TempDir dir;
  writeFile(dir / "config.yml", "version: 0.1\nstorage:\n  inmemory: {}\nhttp:\n  addr: 127.0.0.1:" +
                                    std::to_string(first.port()) + "\n");
  auto result = runPier({"serve", (dir / "config.yml").string()});
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_NE(result.output.find("http.addr"), std::string::npos) << result.output;
}

} // namespace
} // namespace pier::test
