// The installed SDK: `cmake --install` puts pier, its plugins and the SDK
// under a prefix; plugins/example, a plugin outside the tree, builds against
// it with find_package(PierSDK), runs the SDK's conformance suite on its sink
// (pier::sdk_testing), and the installed pier loads it.
#include <regex>

#include <gtest/gtest.h>

#include <pier/version.hpp>

#include "ApiClient.hpp"
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
  EXPECT_GE(std::stoi(count[2]), 30) << tests.output;
  // One suite per kind, from the installed library, and the examples' own tests.
  for (const char* test :
       {"Example/NotificationSinkConformance.DeliversEventsInOrderWithTheirIds/jsonlines",
        "Example/BlobDescriptorCacheConformance.ConcurrentUseFromEightThreads/tinylru",
        "Example/AccessControllerConformance.GarbageAuthorizationHeadersAreRefusedWithoutAnException/"
        "statictoken",
        "TinyLruCache.KeepsTheMostRecentlyUsedEntriesWithinItsBound",
        "ReadOnlyDirectoryDriverTest.EveryWriteIsRefusedAndChangesNothing"})
    EXPECT_NE(tests.output.find(test), std::string::npos) << test << "\n" << tests.output;
  expectSucceeded(runCommand(kCmake, {"--install", build.string(), "--prefix", prefix.string()}, {}, {},
                             std::chrono::seconds(60)),
                  "installing the example");

  const std::string pier = (prefix / "bin/pier").string();
  auto plugins = runCommand(pier, {"plugins"});
  ASSERT_EQ(plugins.exitCode, 0) << plugins.output;
  // Their own names and version (the example project's) and the ABI they were built for.
  for (const std::string row : {"notification sink      jsonlines      jsonlines    1.0.0     ",
                                "storage driver         readonlydir    readonlydir  1.0.0     ",
                                "blob descriptor cache  tinylru        tinylru      1.0.0     ",
                                "access controller      statictoken    statictoken  1.0.0     "})
    EXPECT_NE(plugins.output.find(row + std::to_string(PIER_PLUGIN_ABI_VERSION)), std::string::npos)
        << row << "\n"
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
  EXPECT_NE(missing.output.find("notifications.endpoints[audit].parameters.path: is required"),
            std::string::npos)
      << missing.output;

  writeFile(dir / "ok.yml",
            base + "      parameters:\n        path: " + (dir / "events.jsonl").string() + "\n" + queue);
  auto started = runCommand(pier, {"serve", (dir / "ok.yml").string()}, {}, {}, std::chrono::seconds(3));
  EXPECT_NE(started.output.find("msg=listening"), std::string::npos) << started.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "events.jsonl"));

  // The other three examples serve together: a blob laid out on disk by hand
  // is read through readonlydir, its descriptor cached by tinylru, behind
  // statictoken.
  const std::string blob = "read-only bytes";
  const std::string digest = api::sha256Of(blob);
  const auto v2 = dir / "ro/docker/registry/v2";
  writeFile(v2 / "blobs/sha256" / digest.substr(7, 2) / digest.substr(7) / "data", blob);
  writeFile(v2 / "repositories/example/_layers/sha256" / digest.substr(7) / "link", digest);
  const std::string token = "example-token-of-32-characters!!";
  PierServer server("version: 0.1\nstorage:\n  readonlydir:\n    rootdirectory: " + (dir / "ro").string() +
                    "\n  cache:\n    blobdescriptor: tinylru\n  maintenance:\n    readonly:\n      enabled: "
                    "true\nauth:\n  statictoken:\n    realm: https://auth.example.com/token\n    service: "
                    "registry.example.com\n    token: " +
                    token + "\nhttp:\n  addr: 127.0.0.1:0\nplugins:\n  directory: " +
                    (prefix / "lib/pier/plugins").string() + "\n");
  const std::string target = "/v2/example/blobs/" + digest;
  auto challenged = httpRequest(server.port(), "GET", target);
  EXPECT_EQ(challenged.status, 401) << challenged.body;
  EXPECT_NE(challenged.header("www-authenticate").find("scope=\"repository:example:pull\""),
            std::string::npos)
      << challenged.header("www-authenticate");
  for (int i = 0; i < 2; ++i) { // the second through the cache
    auto pulled = httpRequest(server.port(), "GET", target, "", {{"Authorization", "Bearer " + token}});
    EXPECT_EQ(pulled.status, 200) << pulled.body;
    EXPECT_EQ(pulled.body, blob);
  }
  auto pushed = httpRequest(server.port(), "POST", "/v2/example/blobs/uploads/", "",
                            {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(pushed.status, 405) << pushed.body;
  EXPECT_NE(server.log().find("storage driver"), std::string::npos);
}

} // namespace
} // namespace pier::test
