// The pull-through cache (proxy) in the real server, against a second real
// Pier as the upstream: manifests by tag and digest, blobs, an index, later
// pulls served from local storage with the upstream stopped, tags re-checked
// after their ttl, writes refused on proxied prefixes and accepted elsewhere,
// what the upstream does not have, content that does not match its digest,
// concurrent pulls, a client that goes away mid-blob, and config errors.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include "ApiClient.hpp"

namespace pier::test::api {
namespace {

using namespace std::chrono_literals;

std::string patterned(std::size_t size, unsigned seed) {
  std::string bytes(size, '\0');
  unsigned state = seed * 2654435761u + 1;
  for (auto& c : bytes) {
    state = state * 1103515245u + 12345u;
    c = static_cast<char>(state >> 24);
  }
  return bytes;
}

std::string upstreamSection(std::uint16_t port, const std::string& ttl, const std::string& extra = {}) {
  return "proxy:\n  upstreams:\n    - prefix: hub/\n      remoteurl: http://127.0.0.1:" +
         std::to_string(port) + "\n      ttl: " + ttl + "\n" + extra;
}

class ProxyTest : public ::testing::Test {
protected:
  void SetUp() override {
    upstream = std::make_unique<PierServer>(filesystemConfig(upstreamRoot.path()));
    Client origin(upstream->port());
    image = origin.pushImage("library/app", "v1", patterned(3 << 20, 1), "{\"architecture\":\"amd64\"}");
    unpulled = makeContent(patterned(1000, 2));
    origin.pushBlob("library/app", unpulled);
  }

  void startProxy(const std::string& ttl = "1h", const std::string& extra = {}) {
    proxy = std::make_unique<PierServer>(
        filesystemConfig(proxyRoot.path(), upstreamSection(upstream->port(), ttl, extra)));
  }

  bool storedLocally(const std::string& digest) const {
    return std::filesystem::exists(blobDataPath(proxyRoot.path(), digest));
  }

  TempDir upstreamRoot, proxyRoot;
  std::unique_ptr<PierServer> upstream, proxy;
  Client::PushedImage image;
  Content unpulled;
};

TEST_F(ProxyTest, PullsThroughThenServesFromStorageWithTheUpstreamDown) {
  startProxy("1h");
  Client client(proxy->port());
  auto manifest = client.get("/v2/hub/library/app/manifests/v1");
  ASSERT_EQ(manifest.status, 200) << manifest.body;
  EXPECT_EQ(manifest.body, image.manifest);
  EXPECT_EQ(manifest.header("Docker-Content-Digest"), image.digest);
  EXPECT_EQ(manifest.header("Content-Type"), std::string(mediatype::kOciManifest));
  // HEAD of an uncached blob answers from the upstream and stores nothing.
  auto head = client.head("/v2/hub/library/app/blobs/" + image.layer.digest);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("Content-Length"), std::to_string(image.layer.size()));
  EXPECT_FALSE(storedLocally(image.layer.digest));
  for (const Content* blob : {&image.layer, &image.config}) {
    auto got = client.get("/v2/hub/library/app/blobs/" + blob->digest);
    ASSERT_EQ(got.status, 200);
    EXPECT_EQ(got.body, blob->bytes);
    EXPECT_TRUE(storedLocally(blob->digest));
  }
  EXPECT_EQ(entryCount(uploadsPath(proxyRoot.path(), "hub/library/app")), 0u);

  ASSERT_EQ(upstream->stop(SIGTERM), 0);
  // Within the ttl and by digest: local storage, no upstream needed.
  EXPECT_EQ(client.get("/v2/hub/library/app/manifests/v1").body, image.manifest);
  EXPECT_EQ(client.get("/v2/hub/library/app/manifests/" + image.digest).status, 200);
  EXPECT_EQ(client.head("/v2/hub/library/app/manifests/v1").status, 200);
  EXPECT_EQ(client.get("/v2/hub/library/app/blobs/" + image.layer.digest).body, image.layer.bytes);
  EXPECT_EQ(client.head("/v2/hub/library/app/blobs/" + image.config.digest).status, 200);
  // What was never pulled cannot be served: 503, worth a retry once the upstream is back.
  EXPECT_TRUE(isError(client.get("/v2/hub/library/app/blobs/" + unpulled.digest), 503, "UNAVAILABLE"));
  EXPECT_TRUE(isError(client.get("/v2/hub/library/other/manifests/v1"), 503, "UNAVAILABLE"));
}

TEST_F(ProxyTest, TagPastItsTtlWithTheUpstreamDownIsServedFromStorage) {
  startProxy("1s");
  Client client(proxy->port());
  ASSERT_EQ(client.get("/v2/hub/library/app/manifests/v1").status, 200);
  ASSERT_EQ(upstream->stop(SIGTERM), 0);
  std::this_thread::sleep_for(1200ms);
  auto again = client.get("/v2/hub/library/app/manifests/v1");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.header("Docker-Content-Digest"), image.digest);
  EXPECT_NE(proxy->log().find("past its ttl"), std::string::npos);
}

TEST_F(ProxyTest, TagChangedUpstreamIsSeenAfterTheTtlNotBefore) {
  startProxy("2s");
  Client client(proxy->port());
  ASSERT_EQ(client.get("/v2/hub/library/app/manifests/v1").header("Docker-Content-Digest"), image.digest);
  auto changed = Client(upstream->port()).pushImage("library/app", "v1", "new layer", "{\"v\":2}");
  ASSERT_NE(changed.digest, image.digest);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(client.get("/v2/hub/library/app/manifests/v1").header("Docker-Content-Digest"), image.digest);
  EXPECT_TRUE(eventually([&] {
    return client.get("/v2/hub/library/app/manifests/v1").header("Docker-Content-Digest") == changed.digest;
  }));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1500ms); // not before the ttl
  // The old revision stays served by digest.
  EXPECT_EQ(client.get("/v2/hub/library/app/manifests/" + image.digest).body, image.manifest);
}

TEST_F(ProxyTest, WritesAreRefusedOnProxiedPrefixesAndAcceptedElsewhere) {
  startProxy();
  Client client(proxy->port());
  EXPECT_TRUE(isError(client.request("POST", "/v2/hub/library/app/blobs/uploads/"), 405, "UNSUPPORTED"));
  EXPECT_TRUE(isError(client.putManifest("hub/library/app", "v2", image.manifest, mediatype::kOciManifest),
                      405, "UNSUPPORTED"));
  EXPECT_TRUE(isError(client.del("/v2/hub/library/app/manifests/" + image.digest), 405, "UNSUPPORTED"));
  EXPECT_TRUE(isError(client.del("/v2/hub/library/app/blobs/" + image.layer.digest), 405, "UNSUPPORTED"));
  // Outside the prefix Pier is a normal registry: pushes, pulls, and no upstream asked.
  auto local = client.pushImage("team/app", "v1", "local layer", "{}");
  EXPECT_EQ(client.get("/v2/team/app/manifests/v1").body, local.manifest);
  EXPECT_TRUE(isError(client.get("/v2/library/app/manifests/v1"), 404, "MANIFEST_UNKNOWN"));
  // "hub/" alone names no upstream repository: an ordinary name, writable.
  EXPECT_EQ(client.request("POST", "/v2/hub/blobs/uploads/").status, 202);
}

TEST_F(ProxyTest, WhatTheUpstreamDoesNotHaveIsUnknown) {
  startProxy();
  Client client(proxy->port());
  EXPECT_TRUE(isError(client.get("/v2/hub/library/app/manifests/v9"), 404, "MANIFEST_UNKNOWN"));
  EXPECT_TRUE(isError(client.get("/v2/hub/library/nothing/manifests/v1"), 404, "MANIFEST_UNKNOWN"));
  const std::string absent = sha256Of("absent");
  EXPECT_TRUE(isError(client.get("/v2/hub/library/app/manifests/" + absent), 404, "MANIFEST_UNKNOWN"));
  EXPECT_TRUE(isError(client.get("/v2/hub/library/app/blobs/" + absent), 404, "BLOB_UNKNOWN"));
  EXPECT_EQ(client.head("/v2/hub/library/app/blobs/" + absent).status, 404);
}

TEST_F(ProxyTest, ContentThatDoesNotMatchItsDigestIsNeverStored) {
  // The upstream's files corrupted in place, same sizes: it still names the old digests.
  std::string layer = patterned(image.layer.size(), 9);
  writeFile(blobDataPath(upstreamRoot.path(), image.layer.digest), layer);
  std::string manifest = image.manifest;
  manifest[manifest.size() - 2] = manifest[manifest.size() - 2] == ' ' ? '\n' : ' ';
  writeFile(blobDataPath(upstreamRoot.path(), image.digest), manifest);
  startProxy();
  Client client(proxy->port());

  auto byDigest = client.get("/v2/hub/library/app/manifests/" + image.digest);
  EXPECT_TRUE(isError(byDigest, 503, "UNAVAILABLE")) << byDigest.body;
  EXPECT_TRUE(isError(client.get("/v2/hub/library/app/manifests/v1"), 503, "UNAVAILABLE"));
  EXPECT_FALSE(storedLocally(image.digest));

  // The blob's headers are out before its end arrives: the client gets less than the whole.
  std::string received;
  try {
    received = httpRequest(proxy->port(), "GET", "/v2/hub/library/app/blobs/" + image.layer.digest).body;
  } catch (const std::exception&) {
  }
  EXPECT_LT(received.size(), layer.size());
  EXPECT_FALSE(storedLocally(image.layer.digest));
  EXPECT_TRUE(eventually([&] { return entryCount(uploadsPath(proxyRoot.path(), "hub/library/app")) == 0; }));
}

TEST_F(ProxyTest, AnIndexAndItsImagesPullThrough) {
  Client origin(upstream->port());
  auto arm = origin.pushImage("library/multi", "arm64", "arm layer", "{\"architecture\":\"arm64\"}");
  auto amd = origin.pushImage("library/multi", "amd64", "amd layer", "{\"architecture\":\"amd64\"}");
  std::string index = indexManifest(
      mediatype::kOciIndex,
      {descriptorJson(mediatype::kOciManifest, makeContent(arm.manifest), platformField("arm64")),
       descriptorJson(mediatype::kOciManifest, makeContent(amd.manifest), platformField("amd64"))});
  std::string indexDigest = origin.pushManifest("library/multi", "latest", index, mediatype::kOciIndex);
  startProxy();
  Client client(proxy->port());
  auto got = client.get("/v2/hub/library/multi/manifests/latest");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.header("Docker-Content-Digest"), indexDigest);
  EXPECT_EQ(got.header("Content-Type"), std::string(mediatype::kOciIndex));
  EXPECT_EQ(client.head("/v2/hub/library/multi/manifests/" + arm.digest).status, 200);
  EXPECT_EQ(client.get("/v2/hub/library/multi/manifests/" + amd.digest).body, amd.manifest);
  EXPECT_EQ(client.get("/v2/hub/library/multi/blobs/" + amd.layer.digest).body, amd.layer.bytes);
  ASSERT_EQ(upstream->stop(SIGTERM), 0);
  EXPECT_EQ(client.get("/v2/hub/library/multi/manifests/" + arm.digest).body, arm.manifest);
  EXPECT_EQ(client.get("/v2/hub/library/multi/blobs/" + amd.layer.digest).body, amd.layer.bytes);
}

TEST_F(ProxyTest, ARangeOfAnUncachedBlobIsServedAfterTheBlobIsStored) {
  startProxy();
  Client client(proxy->port());
  auto part = client.request("GET", "/v2/hub/library/app/blobs/" + image.layer.digest, {},
                             {{"Range", "bytes=1000-1999"}});
  ASSERT_EQ(part.status, 206);
  EXPECT_EQ(part.body, image.layer.bytes.substr(1000, 1000));
  EXPECT_TRUE(storedLocally(image.layer.digest));
}

TEST_F(ProxyTest, ConcurrentPullsOfOneBlobAllGetItAndItIsStoredOnce) {
  startProxy();
  constexpr int kPullers = 6;
  std::atomic<int> correct{0};
  std::vector<std::thread> pullers;
  for (int i = 0; i < kPullers; ++i)
    pullers.emplace_back([&] {
      try {
        auto got = httpRequest(proxy->port(), "GET", "/v2/hub/library/app/blobs/" + image.layer.digest);
        if (got.status == 200 && got.body == image.layer.bytes) ++correct;
      } catch (const std::exception&) {
      }
    });
  for (auto& puller : pullers) puller.join();
  EXPECT_EQ(correct.load(), kPullers);
  EXPECT_EQ(readFile(blobDataPath(proxyRoot.path(), image.layer.digest)), image.layer.bytes);
  EXPECT_EQ(entryCount(uploadsPath(proxyRoot.path(), "hub/library/app")), 0u);
  // Waiters took the stored blob: one GET of the layer reached the upstream.
  const std::string fetch = "method=GET path=/v2/library/app/blobs/" + image.layer.digest;
  std::size_t fetches = 0;
  std::string log = upstream->log();
  for (std::size_t at = log.find(fetch); at != std::string::npos; at = log.find(fetch, at + 1)) ++fetches;
  EXPECT_EQ(fetches, 1u) << log;
}

TEST_F(ProxyTest, AClientGoneMidBlobLeavesNothingBehind) {
  Client origin(upstream->port());
  Content big = makeContent(patterned(24 << 20, 5));
  origin.pushBlob("library/app", big);
  startProxy();
  {
    Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", proxy->port()));
    std::string request = "GET /v2/hub/library/app/blobs/" + big.digest + " HTTP/1.1\r\nHost: x\r\n\r\n";
    socket.sendBytes(request.data(), static_cast<int>(request.size()));
    char buffer[65536];
    std::size_t got = 0;
    while (got < (1 << 20)) {
      int n = socket.receiveBytes(buffer, sizeof buffer);
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    EXPECT_GE(got, std::size_t(1) << 20);
    socket.close();
  }
  EXPECT_TRUE(eventually([&] { return proxy->log().find("nothing stored") != std::string::npos; }, 60s));
  EXPECT_FALSE(storedLocally(big.digest));
  EXPECT_EQ(entryCount(uploadsPath(proxyRoot.path(), "hub/library/app")), 0u);
  // The next pull fetches it whole.
  EXPECT_EQ(httpRequest(proxy->port(), "GET", "/v2/hub/library/app/blobs/" + big.digest).body, big.bytes);
  EXPECT_TRUE(storedLocally(big.digest));
}

TEST(ProxyConfig, ErrorsNameTheKey) {
  TempDir root;
  auto refused = [&](const std::string& section, const std::string& key) {
    TempDir dir;
    writeFile(dir / "config.yml", filesystemConfig(root.path(), section));
    auto result = runPier({"serve", (dir / "config.yml").string()});
    EXPECT_EQ(result.exitCode, 1) << section;
    EXPECT_NE(result.output.find(key), std::string::npos) << result.output;
  };
  refused("proxy:\n  remoteurl: ftp://example.com\n", "proxy.remoteurl");
  refused("proxy:\n  remoteurl: http://127.0.0.1:1\n  ttl: soon\n", "proxy.ttl");
  refused("proxy:\n  username: a\n", "proxy.username");
  refused("proxy:\n  upstreams:\n    - prefix: hub\n      remoteurl: http://127.0.0.1:1\n",
          "proxy.upstreams[0].prefix");
  refused("proxy:\n  upstreams:\n    - prefix: a/\n      remoteurl: http://127.0.0.1:1\n"
          "    - prefix: a/\n      remoteurl: http://127.0.0.1:2\n",
          "proxy.upstreams[1].prefix");
  refused("proxy:\n  upstreams:\n    - prefix: a/\n", "proxy.upstreams[0].remoteurl");
  refused("proxy:\n  remoteurl: http://127.0.0.1:1\n  exec:\n    command: helper\n", "proxy.exec");
}

} // namespace
} // namespace pier::test::api
