// The pier command line: version, plugins, and startup errors that name their cause.
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <pier/version.hpp>

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

TEST(CommandLine, PluginsListsKindNameVersionAbiAndFile) {
  auto result = runPier({"plugins"});
  ASSERT_EQ(result.exitCode, 0) << result.output;
  const std::string abi = std::to_string(PIER_PLUGIN_ABI_VERSION);
  for (const char* row : {"storage driver         filesystem     filesystem   " PIER_VERSION,
                          "storage driver         s3-aws         s3           " PIER_VERSION,
                          "blob descriptor cache  inmemory       inmemory     " PIER_VERSION,
                          "access controller      token          token        " PIER_VERSION})
    EXPECT_NE(result.output.find(row), std::string::npos) << row << "\n" << result.output;
  EXPECT_NE(result.output.find(" " + abi + "    " + PIER_TEST_PLUGIN_DIR + "/libpier-storage-driver-s3.so"),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("plugin ABI version " + abi + ", built by "), std::string::npos)
      << result.output;
}

TEST(CommandLine, PluginsJsonDescribesEachPluginAndWhatItProvides) {
  auto result = runPier({"plugins", "--json"});
  ASSERT_EQ(result.exitCode, 0) << result.output;
  auto root = Poco::JSON::Parser().parse(result.output).extract<Poco::JSON::Object::Ptr>();
  auto server = root->getObject("server");
  ASSERT_TRUE(server);
  EXPECT_EQ(server->getValue<int>("abi"), PIER_PLUGIN_ABI_VERSION);
  const std::string poco = server->getObject("build")->getValue<std::string>("poco");
  const std::string compiler = server->getObject("build")->getValue<std::string>("compiler");
  EXPECT_FALSE(compiler.empty());
  auto plugins = root->getArray("plugins");
  ASSERT_TRUE(plugins);
  EXPECT_EQ(plugins->size(), 9U);
  bool sawS3 = false;
  for (std::size_t i = 0; i < plugins->size(); ++i) {
    auto plugin = plugins->getObject(i);
    const std::string name = plugin->getValue<std::string>("name");
    EXPECT_EQ(plugin->getValue<std::string>("version"), PIER_VERSION) << name;
    EXPECT_EQ(plugin->getValue<int>("abi"), PIER_PLUGIN_ABI_VERSION) << name;
    EXPECT_FALSE(plugin->getValue<std::string>("description").empty()) << name;
    EXPECT_TRUE(plugin->getValue<std::string>("file").starts_with(PIER_TEST_PLUGIN_DIR)) << name;
    auto build = plugin->getObject("build");
    EXPECT_EQ(build->getValue<std::string>("standardLibrary"), "libstdc++") << name;
    EXPECT_EQ(build->getValue<int>("cxx11Abi"), 1) << name;
    EXPECT_EQ(build->getValue<std::string>("poco"), poco) << name;
    EXPECT_EQ(build->getValue<std::string>("compiler"), compiler) << name;
    auto provides = plugin->getArray("provides");
    ASSERT_TRUE(provides && provides->size() > 0) << name;
    if (name == "s3") {
      sawS3 = true;
      ASSERT_EQ(provides->size(), 2U);
      EXPECT_EQ(provides->getObject(0)->getValue<std::string>("kind"), "storage driver");
      EXPECT_EQ(provides->getObject(0)->getValue<std::string>("name"), "s3");
      EXPECT_EQ(provides->getObject(1)->getValue<std::string>("name"), "s3-aws");
    }
  }
  EXPECT_TRUE(sawS3);
}

TEST(CommandLine, PluginsRefusesAnUnknownFlag) {
  auto result = runPier({"plugins", "--frobnicate"});
  EXPECT_EQ(result.exitCode, 2);
  EXPECT_NE(result.output.find("unexpected argument \"--frobnicate\""), std::string::npos) << result.output;
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
  const std::string versions = "built for plugin ABI version " +
                               std::to_string(PIER_PLUGIN_ABI_VERSION + 1000) +
                               ", this server speaks version " + std::to_string(PIER_PLUGIN_ABI_VERSION) +
                               "; rebuild it against this server's SDK";
  EXPECT_NE(result.output.find(versions), std::string::npos) << result.output;
}

TEST(CommandLine, FactoryThatThrowsAnIntIsAConfigErrorNotACrash) {
  auto result = serveWithPlugins("factories", "throws-int");
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_NE(result.output.find("configuration error: the storage driver plugin \"throws-int\""),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("libpier-storage-factories.so"), std::string::npos) << result.output;
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

TEST(CommandLine, PluginBuiltAgainstAnotherPocoIsRefusedByName) {
  auto result = serveWithPlugins("otherpoco");
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_NE(result.output.find("libpier-storage-otherpoco.so"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("built against Poco 1.9.0"), std::string::npos) << result.output;
}

TEST(CommandLine, RegisterFunctionThatThrowsIsAPluginErrorNotACrash) {
  auto result = serveWithPlugins("registerthrows");
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_NE(result.output.find("plugin error"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("libpier-storage-registerthrows.so failed to register"), std::string::npos)
      << result.output;
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
