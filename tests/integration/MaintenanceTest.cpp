// storage.maintenance: read-only mode and the purging of abandoned uploads;
// and config keys Pier does not act on yet stop it instead of being ignored.
#include <chrono>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "PierProcess.hpp"
#include "storage/Digester.hpp"

namespace pier::test {
namespace {

using Clock = std::chrono::steady_clock;

// A filesystem config with a storage.maintenance section.
std::string configWithMaintenance(const std::filesystem::path& root, const std::string& maintenance) {
  return "version: 0.1\n"
         "storage:\n  filesystem:\n    rootdirectory: " +
         root.string() + "\n  delete:\n    enabled: true\n  maintenance:\n" + maintenance +
         "http:\n  addr: 127.0.0.1:0\n";
}

TEST(Maintenance, ReadOnlyRefusesWritesAndServesReads) {
  TempDir root;
  const std::string content = "written before read-only";
  const std::string digest = sha256Of(content).toString();
  {
    PierServer writable(filesystemConfig(root.path()));
    ASSERT_EQ(
        httpRequest(writable.port(), "POST", "/v2/ro/repo/blobs/uploads/?digest=" + digest, content).status,
        201);
  }
  PierServer server(configWithMaintenance(root.path(), "    readonly:\n      enabled: true\n"));
  auto get = httpRequest(server.port(), "GET", "/v2/ro/repo/blobs/" + digest);
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, content);
  for (const auto& [method, target] :
       std::vector<std::pair<std::string, std::string>>{{"POST", "/v2/ro/repo/blobs/uploads/"},
                                                        {"DELETE", "/v2/ro/repo/blobs/" + digest},
                                                        {"PUT", "/v2/ro/repo/manifests/latest"}}) {
    auto refused = httpRequest(server.port(), method, target, method == "PUT" ? "{}" : "");
    EXPECT_EQ(refused.status, 405) << method << " " << target;
    EXPECT_NE(refused.body.find("UNSUPPORTED"), std::string::npos) << refused.body;
  }
  EXPECT_EQ(httpRequest(server.port(), "GET", "/v2/ro/repo/blobs/" + digest).status, 200);
}

TEST(Maintenance, AbandonedUploadsArePurged) {
  TempDir root;
  PierServer server(configWithMaintenance(
      root.path(), "    uploadpurging:\n      enabled: true\n      age: 1s\n      interval: 500ms\n"));
  auto started = httpRequest(server.port(), "POST", "/v2/purge/repo/blobs/uploads/");
  ASSERT_EQ(started.status, 202);
  const std::string location = started.header("Location");
  const auto uploads = root.path() / "docker/registry/v2/repositories/purge/repo/_uploads";
  ASSERT_FALSE(std::filesystem::is_empty(uploads));

  bool purged = false;
  for (auto deadline = Clock::now() + std::chrono::seconds(15); Clock::now() < deadline && !purged;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    purged = std::filesystem::is_empty(uploads);
  }
  EXPECT_TRUE(purged) << server.log();
  auto status = httpRequest(server.port(), "GET", location);
  EXPECT_EQ(status.status, 404);
  EXPECT_NE(status.body.find("BLOB_UPLOAD_UNKNOWN"), std::string::npos) << status.body;
  EXPECT_NE(server.log().find("purging upload"), std::string::npos) << server.log();
}

TEST(Maintenance, DryRunOnlyLogs) {
  TempDir root;
  PierServer server(configWithMaintenance(
      root.path(),
      "    uploadpurging:\n      enabled: true\n      age: 1s\n      interval: 500ms\n      dryrun: true\n"));
  auto started = httpRequest(server.port(), "POST", "/v2/purge/repo/blobs/uploads/");
  ASSERT_EQ(started.status, 202);
  bool logged = false;
  for (auto deadline = Clock::now() + std::chrono::seconds(15); Clock::now() < deadline && !logged;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    logged = server.log().find("would purge upload") != std::string::npos;
  }
  EXPECT_TRUE(logged) << server.log();
  EXPECT_EQ(httpRequest(server.port(), "GET", started.header("Location")).status, 204);
}

TEST(Maintenance, KeysNotSupportedYetStopTheServer) {
  TempDir root;
  TempDir dir;
  writeFile(dir / "tls.yml",
            filesystemConfig(root.path(), "  tls:\n    certificate: /c.pem\n    key: /k.pem\n"));
  auto tls = runPier({"serve", (dir / "tls.yml").string()});
  EXPECT_EQ(tls.exitCode, 1);
  EXPECT_NE(tls.output.find("http.tls"), std::string::npos) << tls.output;
}

} // namespace
} // namespace pier::test
