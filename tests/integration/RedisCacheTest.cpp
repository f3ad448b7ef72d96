// The server with the redis blob descriptor cache: blob stats land in Redis,
// and while Redis is down requests are served from storage (no 5xx), with
// Redis used again once it is back, without a restart; an entry Redis keeps
// for a blob storage lost never decides what a write keeps or accepts.
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "ApiClient.hpp"
#include "PierProcess.hpp"
#include "RedisServerProcess.hpp"
#include "storage/Digester.hpp"

namespace pier::test {
namespace {

using Clock = std::chrono::steady_clock;

std::string pushBlob(std::uint16_t port, const std::string& repository, const std::string& content) {
  std::string digest = sha256Of(content).toString();
  auto response = httpRequest(port, "POST", "/v2/" + repository + "/blobs/uploads/?digest=" + digest, content,
                              {{"Content-Type", "application/octet-stream"}});
  EXPECT_EQ(response.status, 201) << response.body;
  return digest;
}

bool cachedInRedis(RedisServerProcess& redis, const std::string& digest) {
  return redis.command({"EXISTS", "blobs::" + digest}).integer == 1;
}

class RedisCacheTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (!RedisServerProcess::available()) GTEST_SKIP() << "redis-server is not installed";
    redis = std::make_unique<RedisServerProcess>();
    std::string config = filesystemConfig(root.path());
    config.replace(config.find("blobdescriptor: inmemory"), 24, "blobdescriptor: redis");
    config += "redis:\n  addr: " + redis->address() +
              "\n  dialtimeout: 200ms\n  readtimeout: 200ms\n  writetimeout: 200ms\n";
    server = std::make_unique<PierServer>(config);
  }

  TempDir root;
  std::unique_ptr<RedisServerProcess> redis;
  std::unique_ptr<PierServer> server;
};

TEST_F(RedisCacheTest, BlobDescriptorsAreCachedInRedis) {
  std::string digest = pushBlob(server->port(), "cache/repo", "cached content");
  auto head = httpRequest(server->port(), "HEAD", "/v2/cache/repo/blobs/" + digest);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("Content-Length"), "14");
  EXPECT_TRUE(cachedInRedis(*redis, digest));
  EXPECT_EQ(redis->command({"SISMEMBER", "repository::cache/repo::blobs", digest}).integer, 1);
}

TEST_F(RedisCacheTest, RedisDownServesFromStorageAndIsUsedAgainWhenBack) {
  std::string before = pushBlob(server->port(), "cache/repo", "pushed while redis runs");
  redis->stop();

  // Reads and writes go on from storage, each within the cache's timeouts.
  for (int i = 0; i < 5; ++i) {
    auto started = Clock::now();
    auto head = httpRequest(server->port(), "HEAD", "/v2/cache/repo/blobs/" + before);
    EXPECT_EQ(head.status, 200);
    EXPECT_LT(Clock::now() - started, std::chrono::seconds(2));
  }
  auto get = httpRequest(server->port(), "GET", "/v2/cache/repo/blobs/" + before);
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, "pushed while redis runs");
  std::string during = pushBlob(server->port(), "cache/repo", "pushed while redis is down");
  EXPECT_EQ(httpRequest(server->port(), "HEAD", "/v2/cache/repo/blobs/" + during).status, 200);
  EXPECT_EQ(httpRequest(server->port(), "HEAD", "/v2/cache/repo/blobs/sha256:" + std::string(64, '0')).status,
            404);

  // Back: the same server fills Redis again (the plugin backs off for at most a second or so).
  redis->start();
  bool cachedAgain = false;
  for (auto deadline = Clock::now() + std::chrono::seconds(10); Clock::now() < deadline && !cachedAgain;) {
    EXPECT_EQ(httpRequest(server->port(), "HEAD", "/v2/cache/repo/blobs/" + during).status, 200);
    cachedAgain = cachedInRedis(*redis, during);
    if (!cachedAgain) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(cachedAgain) << "the descriptor never reached the restarted Redis";
  EXPECT_EQ(server->log().find("status=5"), std::string::npos) << server->log();
}

// As when garbage collection deleted a blob and a shared Redis still lists it.
TEST_F(RedisCacheTest, AStaleEntryNeverDropsAnUploadOrAdmitsAManifest) {
  api::Client client(server->port());
  api::Content layer = api::makeContent("layer lost behind redis's back");
  api::Content config = api::makeContent("{\"stale\":true}");
  client.pushBlob("stale/repo", layer);
  client.pushBlob("stale/repo", config);
  ASSERT_EQ(client.head("/v2/stale/repo/blobs/" + layer.digest).status, 200);
  std::filesystem::remove(api::blobDataPath(root.path(), layer.digest));
  ASSERT_TRUE(cachedInRedis(*redis, layer.digest));

  std::string manifest =
      api::imageManifest(mediatype::kOciManifest, api::descriptorJson(api::media::kOciConfig, config),
                         {api::descriptorJson(api::media::kOciLayer, layer)});
  EXPECT_TRUE(api::isError(client.putManifest("stale/repo", "v1", manifest, mediatype::kOciManifest), 400,
                           "MANIFEST_BLOB_UNKNOWN"));
  client.pushBlobChunked("stale/repo", layer, 7);
  EXPECT_EQ(readFile(api::blobDataPath(root.path(), layer.digest)), layer.bytes);
  EXPECT_EQ(client.putManifest("stale/repo", "v1", manifest, mediatype::kOciManifest).status, 201);
  EXPECT_EQ(client.get("/v2/stale/repo/blobs/" + layer.digest).body, layer.bytes);
}

} // namespace
} // namespace pier::test
