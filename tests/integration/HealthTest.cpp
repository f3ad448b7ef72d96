// /debug/health and Distribution's health section, through the real server:
// the storage driver check, and the file, http and tcp checks, each failing
// and recovering while the server runs, and their config errors.
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "EventReceiver.hpp"
#include "PierProcess.hpp"

namespace pier::test {
namespace {

// GET /debug/health, polled until it answers `status` or 10 s passed.
HttpResponse waitForHealth(std::uint16_t port, int status) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  HttpResponse response = httpRequest(port, "GET", "/debug/health");
  while (response.status != status && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    response = httpRequest(port, "GET", "/debug/health");
  }
  return response;
}

// The background health.storagedriver check: a root the driver cannot stat
// makes the server unhealthy after `threshold` failed checks, and healthy
// again once it can.
TEST(ServerHealth, StorageDriverCheckFollowsTheRoot) {
  namespace fs = std::filesystem;
  TempDir dir;
  const fs::path root = dir / "root";
  fs::create_directory(root);
  PierServer server(filesystemConfig(
      root, "health:\n  storagedriver:\n    enabled: true\n    interval: 100ms\n    threshold: 2\n"));
  EXPECT_EQ(httpRequest(server.port(), "GET", "/debug/health").status, 200);

  // A symlink to itself: stat fails with ELOOP, a storage error (a missing root
  // or a file there would still be an answer).
  fs::rename(root, dir / "aside");
  fs::create_symlink("root", root);
  auto unhealthy = waitForHealth(server.port(), 503);
  ASSERT_EQ(unhealthy.status, 503) << unhealthy.body;
  EXPECT_EQ(unhealthy.header("Content-Type"), "application/json");
  auto body = parseJson(unhealthy.body);
  ASSERT_EQ(body->size(), 1u) << unhealthy.body;
  EXPECT_NE(body->optValue<std::string>("storagedriver_filesystem", "").find("cannot stat"),
            std::string::npos)
      << unhealthy.body;
  EXPECT_NE(server.log().find("storagedriver_filesystem is unhealthy"), std::string::npos) << server.log();

  fs::remove(root);
  fs::rename(dir / "aside", root);
  auto healthy = waitForHealth(server.port(), 200);
  EXPECT_EQ(healthy.status, 200) << healthy.body;
  EXPECT_EQ(healthy.body, "{}");
}

TEST(ServerHealth, FileHttpAndTcpChecksFailAndRecoverWhileServing) {
  TempDir dir;
  const std::filesystem::path down = dir / "down";
  EventReceiver receiver; // answers the http check, and is the tcp check's listener
  receiver.start();
  const std::string tcpAddress = "127.0.0.1:" + std::to_string(receiver.port());
  PierServer server(filesystemConfig(
      dir / "root", "health:\n  storagedriver:\n    enabled: false\n  file:\n    - file: " + down.string() +
                        "\n      interval: 100ms\n  http:\n    - uri: " + receiver.url("/healthz") +
                        "\n      headers:\n        X-Probe: [pier]\n      statuscode: 200\n"
                        "      interval: 100ms\n      threshold: 2\n  tcp:\n    - addr: " +
                        tcpAddress + "\n      timeout: 500ms\n      interval: 100ms\n"));
  auto failing = [&](int status) { return parseJson(waitForHealth(server.port(), status).body); };
  EXPECT_EQ(waitForHealth(server.port(), 200).body, "{}");

  // The operator's switch: the file's presence takes the instance out of rotation.
  writeFile(down, "");
  auto file = failing(503);
  ASSERT_EQ(file->size(), 1u);
  EXPECT_NE(file->optValue<std::string>(down.string(), "").find("file exists"), std::string::npos);
  std::filesystem::remove(down);
  EXPECT_EQ(waitForHealth(server.port(), 200).body, "{}");

  // The http check: a HEAD with the configured header, expecting the status.
  receiver.setStatus(500);
  auto http = failing(503);
  ASSERT_EQ(http->size(), 1u) << waitForHealth(server.port(), 503).body;
  EXPECT_NE(http->optValue<std::string>(receiver.url("/healthz"), "").find("answered 500, not 200"),
            std::string::npos);
  auto probes = receiver.requests();
  ASSERT_FALSE(probes.empty());
  EXPECT_EQ(probes.back().method, "HEAD");
  EXPECT_EQ(probes.back().target, "/healthz");
  EXPECT_EQ(probes.back().header("X-Probe"), "pier");
  receiver.setStatus(200);
  EXPECT_EQ(waitForHealth(server.port(), 200).body, "{}");

  // Nothing listening: the tcp check fails, and the http check with it.
  receiver.stop();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  Poco::JSON::Object::Ptr both = failing(503);
  while (both->size() < 2 && std::chrono::steady_clock::now() < deadline) both = failing(503);
  EXPECT_TRUE(both->has(tcpAddress));
  EXPECT_TRUE(both->has(receiver.url("/healthz")));
  receiver.start();
  EXPECT_EQ(waitForHealth(server.port(), 200).body, "{}");
}

TEST(ServerHealth, CheckConfigErrorsNameTheKey) {
  TempDir dir;
  struct Case {
    std::string yaml, key;
  } cases[] = {
      {"health:\n  tcp:\n    - addr: nohost\n", "health.tcp[0].addr"},
      {"health:\n  http:\n    - uri: ftp://example/\n", "health.http[0].uri"},
      {"health:\n  file:\n    - file: ''\n", "health.file[0].file"},
      {"health:\n  http:\n    - uri: http://127.0.0.1:9/\n      statuscode: 42\n",
       "health.http[0].statuscode"},
  };
  for (const auto& c : cases) {
    writeFile(dir / "config.yml", filesystemConfig(dir / "root", c.yaml));
    auto result = runPier({"serve", (dir / "config.yml").string()}, {}, {}, std::chrono::seconds(10));
    EXPECT_EQ(result.exitCode, 1) << c.yaml;
    EXPECT_NE(result.output.find(c.key), std::string::npos) << c.yaml << result.output;
  }
}

} // namespace
} // namespace pier::test
