// The races of RaceTest.cpp on the s3 driver against a real RGW, with the
// redis cache: a pull whose storage read breaks off after the head went out
// ends its connection (the body short of Content-Length, never a complete
// looking 200); a tag PUT racing a tag DELETE ends in one of the two states;
// the same blob pushed by many at once is stored once and reads back.
#include <chrono>
#include <memory>

#include <gtest/gtest.h>

#include "ApiClient.hpp"
#include "RaceSupport.hpp"
#include "RedisServerProcess.hpp"
#include "RgwProcess.hpp"
#include "SlowClient.hpp"

namespace pier::test::api {
namespace {

using namespace std::chrono_literals;
constexpr std::size_t kMiB = 1024 * 1024;

class RaceS3Test : public ::testing::Test {
protected:
  void SetUp() override {
    if (!RgwProcess::available())
      GTEST_SKIP() << "scripts/deps installs ceph-mon, ceph-osd, radosgw, ceph-common";
    if (!RedisServerProcess::available()) GTEST_SKIP() << "redis-server is not installed";
    rgw = std::make_unique<RgwProcess>();
    redis = std::make_unique<RedisServerProcess>();
    server = std::make_unique<PierServer>(
        "version: 0.1\nlog:\n  level: info\nstorage:\n  s3:\n    region: " + rgw->region() +
        "\n    regionendpoint: " + rgw->endpoint() + "\n    bucket: " + rgw->bucket() +
        "\n    rootdirectory: /pier\n    accesskey: " + rgw->accessKey() +
        "\n    secretkey: " + rgw->secretKey() +
        "\n    forcepathstyle: true\n    secure: false\n  cache:\n    blobdescriptor: redis\n"
        "  delete:\n    enabled: true\n  redirect:\n    disable: true\nredis:\n  addr: " +
        redis->address() + "\nhttp:\n  addr: 127.0.0.1:0\n");
    client = std::make_unique<Client>(server->port());
  }

  // The object at a driver path (rootdirectory /pier), when there is one.
  std::optional<std::string> object(const std::string& path) const {
    auto answer = rgw->request("GET", "/" + rgw->bucket() + "/pier" + path);
    if (answer.status == 404) return std::nullopt;
    EXPECT_EQ(answer.status, 200) << path << ": " << answer.body;
    return answer.body;
  }
  // Whether any object has this driver path prefix.
  bool anyUnder(const std::string& prefix) const {
    std::string encoded;
    for (char c : "pier" + prefix) encoded += c == '/' ? std::string("%2F") : std::string(1, c);
    auto answer = rgw->request("GET", "/" + rgw->bucket() + "?list-type=2&prefix=" + encoded);
    EXPECT_EQ(answer.status, 200) << answer.body;
    return answer.body.find("<Key>") != std::string::npos;
  }

  std::unique_ptr<RgwProcess> rgw;
  std::unique_ptr<RedisServerProcess> redis;
  std::unique_ptr<PierServer> server;
  std::unique_ptr<Client> client;
};

// Guards HttpServer::serveRequest closing a connection whose response failed
// after its head: the s3 reader's stream breaks off, its resumes find the
// gateway gone, and the client must see the connection end short of the body.
TEST_F(RaceS3Test, AStorageReadBreakingOffAfterTheHeadEndsTheConnection) {
  const Content blob = makeContent(bytesOf(40 * kMiB, 5));
  client->pushBlob("cut/short", blob);
  SlowRequest pull(server->port(),
                   "GET /v2/cut/short/blobs/" + blob.digest + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "",
                   0ms);
  auto head = pull.response(20s);
  ASSERT_EQ(head.status, 200) << head.body;
  ASSERT_EQ(head.header("content-length"), std::to_string(blob.size()));
  rgw->stop(); // the rest of the body cannot be read any more
  std::string rest = pull.readUntilClosed(20s);
  EXPECT_TRUE(pull.closed()) << "the connection stayed open after a short body";
  EXPECT_LT(head.body.size() + rest.size(), blob.size());
}

TEST_F(RaceS3Test, ATagPutRacingATagDeleteEndsInOneOfTheTwoStates) {
  const std::string repo = "tag/delete";
  const Content config = makeContent(R"({"architecture":"amd64","os":"linux"})");
  const Content layer = makeContent("layer of the raced tag");
  client->pushBlob(repo, config);
  client->pushBlob(repo, layer);
  auto manifestOf = [&](const std::string& note) {
    return imageManifest(mediatype::kOciManifest, descriptorJson(media::kOciConfig, config),
                         {descriptorJson(media::kOciLayer, layer)},
                         ",\"annotations\":{\"note\":\"" + note + "\"}");
  };
  const std::string manifests[] = {manifestOf("a"), manifestOf("b")};
  client->pushManifest(repo, "keep", manifests[0], mediatype::kOciManifest); // the list never goes away
  const std::string tag = "/docker/registry/v2/repositories/" + repo + "/_manifests/tags/raced";
  TagLinks links{[&] { return object(tag + "/current/link"); },
                 [&](const std::string& digest) {
                   return object(tag + "/index/sha256/" + digest.substr(7) + "/link").has_value();
                 },
                 [&] { return anyUnder(tag + "/"); }};
  int rounds = raceTagPutAgainstDelete(*client, repo, "raced", manifests, links, 40, 8s, 15ms,
                                       seedOf("RaceS3Test.ATagPutRacingATagDeleteEndsInOneOfTheTwoStates"));
  EXPECT_TRUE(HasFailure() || rounds >= 15) << rounds;
}

TEST_F(RaceS3Test, TheSameBlobPushedByManyAtOnceIsStoredOnce) {
  const Content blob = makeContent(bytesOf(6 * kMiB, 6)); // more than one 5 MiB part
  std::vector<int> statuses(16);
  together(16, [&](int i) {
    Client own(server->port());
    if (i % 2) {
      own.pushBlobChunked("same/blob", blob, 2 * kMiB);
      statuses[i] = 201;
    } else {
      statuses[i] = own.request("POST", "/v2/same/blob/blobs/uploads/?digest=" + blob.digest, blob.bytes,
                                {{"Content-Type", "application/octet-stream"}})
                        .status;
    }
  });
  for (int i = 0; i < 16; ++i) EXPECT_EQ(statuses[i], 201) << i;
  auto pulled = client->get("/v2/same/blob/blobs/" + blob.digest);
  ASSERT_EQ(pulled.status, 200);
  EXPECT_TRUE(pulled.body == blob.bytes);
  EXPECT_FALSE(anyUnder("/docker/registry/v2/repositories/same/blob/_uploads/"))
      << "an upload was left behind";
}

} // namespace
} // namespace pier::test::api
