// The installed SDK: `cmake --install` puts pier, its plugins and the SDK
// under a prefix; plugins/example, a plugin outside the tree, builds against
// it with find_package(PierSDK), runs the SDK's conformance suite on its sink
// (pier::sdk_testing), and the installed pier loads it.
#include <regex>

#include <gtest/gtest.h>

#include <pier/version.hpp>

#include "PierProcess.hpp"

namespace pier::test {
namespace {

const std::string kCmake = "/usr/bin/cmake";
const std::string kCtest = "/usr/bin/ctest";

std::string sanitizeFlags() {
  const std::string sanitizers = PIER_TEST_SANITIZE;
  return sanitizers.empty() ? "" : "-fsanitize=" + sanitizers;
}

void expectSucceeded(const CommandResult& result, const std::string& what) {
  ASSERT_EQ(result.exitCode, 0) << what << ":\n" << result.output;
}

TEST(Sdk, PluginBuiltOutsideTheTreeAgainstTheInstalledSdkIsLoaded) {
  TempDir dir;
  const auto prefix = dir / "prefix";
  expectSucceeded(runCommand(kCmake, {"--install", PIER_BUILD_DIR, "--prefix", prefix.string()}, {}, {},
                             std::chrono::seconds(120)),
                  "installing Pier");
  ASSERT_TRUE(std::filesystem::exists(prefix / "lib/cmake/PierSDK/PierSDKConfig.cmake"));
  ASSERT_TRUE(std::filesystem::exists(prefix / "include/pier/plugin.hpp"));
  ASSERT_TRUE(std::filesystem::exists(prefix / "lib/libpier_sdk_testing.a"));
  ASSERT_TRUE(std::filesystem::exists(prefix / "include/pier/testing/notification_sink_suite.hpp"));

  const auto build = dir / "example-build";
  expectSucceeded(
      runCommand(kCmake,
                 {"-S", std::string(PIER_SOURCE_DIR) + "/plugins/example", "-B", build.string(),
                  "-DCMAKE_PREFIX_PATH=" + prefix.string(), "-DCMAKE_BUILD_TYPE=Release",
                  // A sanitized build installs a sanitized libpier_sdk_testing.a: its tests link the runtime.
                  "-DCMAKE_EXE_LINKER_FLAGS=" + sanitizeFlags(), "-DCMAKE_CXX_FLAGS=" + sanitizeFlags()},
                 {}, {}, std::chrono::seconds(120)),
      "configuring the example");
  expectSucceeded(runCommand(kCmake, {"--build", build.string()}, {}, {}, std::chrono::seconds(300)),
                  "building the example");
  // Its tests: the suite's TEST_P bodies come from the installed static library.
  auto tests = runCommand(kCtest, {"--test-dir", build.string(), "--output-on-failure"}, {}, {},
                          std::chrono::seconds(300));
  ASSERT_EQ(tests.exitCode, 0) << "the example's tests:\n" << tests.output;
  std::smatch count;
  ASSERT_TRUE(std::regex_search(tests.output, count,
                                std::regex(R"((\d+)% tests passed, 0 tests failed out of (\d+))")))
      << tests.output;
  EXPECT_GE(std::stoi(count[2]), 5) << "the notification sink suite has five tests:\n" << tests.output;
  EXPECT_NE(
      tests.output.find("Example/NotificationSinkConformance.DeliversEventsInOrderWithTheirIds/jsonlines"),
      std::string::npos)
      << tests.output;
  expectSucceeded(runCommand(kCmake, {"--install", build.string(), "--prefix", prefix.string()}, {}, {},
                             std::chrono::seconds(60)),
                  "installing the example");

  const std::string pier = (prefix / "bin/pier").string();
  auto plugins = runCommand(pier, {"plugins"});
  ASSERT_EQ(plugins.exitCode, 0) << plugins.output;
  // Its own name and version (the example project's) and the ABI it was built for.
  EXPECT_NE(plugins.output.find("notification sink      jsonlines      jsonlines    1.0.0     " +
                                std::to_string(PIER_PLUGIN_ABI_VERSION)),
            std::string::npos)
      << plugins.output;
  EXPECT_NE(
      plugins.output.find((prefix / "lib/pier/plugins/libpier-notification-sink-jsonlines.so").string()),
      std::string::npos)
      << plugins.output;

  // The installed server creates the sink from its endpoint's parameters, and
  // the plugin's own ConfigError reaches the operator.
  const std::string base = "version: 0.1\nstorage:\n  inmemory: {}\nhttp:\n  addr: 127.0.0.1:0\n"
                           "notifications:\n  endpoints:\n    - name: audit\n      type: jsonlines\n"
                           "      url: file:///unused\n";
  // In-memory storage keeps no directory: the queue's is named.
  const std::string queue = "  queue:\n    directory: " + (dir / "queue").string() + "\n";
  writeFile(dir / "missing.yml", base + queue);
  auto missing = runCommand(pier, {"serve", (dir / "missing.yml").string()});
  EXPECT_EQ(missing.exitCode, 1);
  EXPECT_NE(missing.output.find("notifications.endpoints.parameters.path: is required"), std::string::npos)
      << missing.output;

  writeFile(dir / "ok.yml",
            base + "      parameters:\n        path: " + (dir / "events.jsonl").string() + "\n" + queue);
  auto started = runCommand(pier, {"serve", (dir / "ok.yml").string()}, {}, {}, std::chrono::seconds(3));
  EXPECT_NE(started.output.find("msg=listening"), std::string::npos) << started.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "events.jsonl"));
}

} // namespace
} // namespace pier::test
