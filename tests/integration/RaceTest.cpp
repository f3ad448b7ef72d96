// Races between clients on the same names: the same blob, tag or manifest
// pushed by many at once, a tag PUT against a tag DELETE, pulls during
// deletes, a blob DELETE against a manifest PUT that names the blob. Each
// ends in one consistent state, with only the answers the spec allows. Run on
// the filesystem driver with the in-memory cache and with Redis (whose
// entries could outlive a delete); the s3 cases are in RaceS3Test.cpp.
// Every loop is bounded in rounds and time; the seed of the jitter is printed.
#include <chrono>
#include <iostream>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "ApiClient.hpp"
#include "RaceSupport.hpp"
#include "RedisServerProcess.hpp"
#include "SlowClient.hpp"

namespace pier::test::api {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int kClients = 32;

// Files under root the drivers write before a rename (".pier-tmp.*").
std::size_t temporaryFiles(const std::filesystem::path& root) {
  std::size_t count = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root))
    if (entry.path().filename().string().starts_with(".pier-tmp.")) ++count;
  return count;
}

std::filesystem::path tagPath(const std::filesystem::path& root, const std::string& repo,
                              const std::string& tag) {
  return repositoryPath(root, repo) / "_manifests/tags" / tag;
}

std::string hexOf(const std::string& digest) {
  return digest.substr(digest.find(':') + 1);
}

// A 200 whose body is all of Content-Length and has the digest, or a 404 with the code.
::testing::AssertionResult wholeOrUnknown(const HttpResponse& response, const std::string& digest,
                                          const std::string& unknownCode) {
  if (response.status == 404) return isError(response, 404, unknownCode);
  if (response.status != 200) return ::testing::AssertionFailure() << "status " << response.status;
  if (response.header("Content-Length") != std::to_string(response.body.size()))
    return ::testing::AssertionFailure() << "a 200 with " << response.body.size() << " of "
                                         << response.header("Content-Length") << " bytes";
  if (sha256Of(response.body) != digest || response.header("Docker-Content-Digest") != digest)
    return ::testing::AssertionFailure() << "a 200 whose body is not " << digest;
  return ::testing::AssertionSuccess();
}

enum class Cache { inmemory, redis };

class RaceTest : public ::testing::TestWithParam<Cache> {
protected:
  void SetUp() override {
    std::string config = filesystemConfig(root.path());
    if (GetParam() == Cache::redis) {
      if (!RedisServerProcess::available()) GTEST_SKIP() << "redis-server is not installed";
      redis = std::make_unique<RedisServerProcess>();
      config.replace(config.find("blobdescriptor: inmemory"), 24, "blobdescriptor: redis");
      config += "redis:\n  addr: " + redis->address() + "\n";
    }
    server = std::make_unique<PierServer>(config);
    client = std::make_unique<Client>(server->port());
    config_ = makeContent(R"({"architecture":"amd64","os":"linux"})");
  }

  // An OCI manifest of the shared config and these layers, with a note making it unique.
  std::string manifestOf(const std::vector<Content>& layers, const std::string& note) const {
    std::vector<std::string> descriptors;
    for (const auto& layer : layers) descriptors.push_back(descriptorJson(media::kOciLayer, layer));
    return imageManifest(mediatype::kOciManifest, descriptorJson(media::kOciConfig, config_), descriptors,
                         ",\"annotations\":{\"note\":\"" + note + "\"}");
  }

  // Storage holds no temporary file and no open upload of repo. Background
  // writers (the catalog index's snapshot) may hold one for a moment.
  void expectNothingLeft(const std::string& repo) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (temporaryFiles(root.path()) > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(temporaryFiles(root.path()), 0u);
    EXPECT_EQ(entryCount(uploadsPath(root.path(), repo)), 0u);
  }

  TempDir root;
  std::unique_ptr<RedisServerProcess> redis;
  std::unique_ptr<PierServer> server;
  std::unique_ptr<Client> client;
  Content config_;
};

// kClients at a time: as many uploads as http.maxuploads lets in by default
// (half of 64 threads). No lock guards this: content addressing does (each
// upload renames whole bytes onto the same data path); with nothing to
// remove, it has not been made to fail.
TEST_P(RaceTest, TheSameBlobPushedByManyAtOnceIsStoredOnce) {
  const Content blob = makeContent(bytesOf(256 * 1024, 1));
  const Content source = makeContent(bytesOf(100 * 1024, 2));
  client->pushBlob("mount/source", source);
  std::vector<int> statuses(kClients);
  auto expectAll = [&](const std::string& how, std::initializer_list<int> allowed) {
    for (int i = 0; i < kClients; ++i)
      EXPECT_NE(std::find(allowed.begin(), allowed.end(), statuses[i]), allowed.end())
          << how << " " << i << ": " << statuses[i];
    statuses.assign(kClients, 0);
  };

  together(kClients, [&](int i) {
    statuses[i] = Client(server->port())
                      .request("POST", "/v2/same/blob/blobs/uploads/?digest=" + blob.digest, blob.bytes,
                               {{"Content-Type", "application/octet-stream"}})
                      .status;
  });
  expectAll("monolithic", {201});
  together(kClients, [&](int i) {
    Client(server->port()).pushBlobChunked("same/blob", blob, 64 * 1024);
    statuses[i] = 201;
  });
  expectAll("chunked", {201});
  together(kClients, [&](int i) {
    Client own(server->port());
    auto mounted =
        own.request("POST", "/v2/same/mounted/blobs/uploads/?mount=" + source.digest + "&from=mount/source");
    statuses[i] = mounted.status;
    if (mounted.status == 202) { // fell back to an upload: finish it
      EXPECT_EQ(own.finish(mounted.header("Location"), source.digest, source.bytes).status, 201);
    }
  });
  expectAll("mounted", {201, 202});

  for (const auto& [repo, content] : {std::pair{"same/blob", &blob}, std::pair{"same/mounted", &source}}) {
    auto pulled = client->get(std::string("/v2/") + repo + "/blobs/" + content->digest);
    ASSERT_EQ(pulled.status, 200);
    EXPECT_TRUE(pulled.body == content->bytes);
    EXPECT_EQ(entryCount(blobDataPath(root.path(), content->digest).parent_path()), 1u); // data alone
    expectNothingLeft(repo);
  }
}

// Guarded by the driver's write-then-rename of every link and the tag lock;
// it passed with the tag lock removed (the rename alone keeps one link whole).
TEST_P(RaceTest, ManyManifestsPutToOneTagAtOnceLeaveItOnOne) {
  const Content layer = makeContent("one layer for every manifest");
  client->pushBlob("tag/race", config_);
  client->pushBlob("tag/race", layer);
  std::vector<std::string> manifests, digests;
  for (int i = 0; i < kClients; ++i) {
    manifests.push_back(manifestOf({layer}, "client " + std::to_string(i)));
    digests.push_back(sha256Of(manifests.back()));
  }
  std::vector<int> statuses(kClients);

  together(kClients, [&](int i) {
    statuses[i] = Client(server->port())
                      .putManifest("tag/race", "latest", manifests[i], mediatype::kOciManifest)
                      .status;
  });

  for (int i = 0; i < kClients; ++i) EXPECT_EQ(statuses[i], 201) << i;
  auto byTag = client->get("/v2/tag/race/manifests/latest");
  ASSERT_EQ(byTag.status, 200);
  const std::string current = byTag.header("Docker-Content-Digest");
  EXPECT_EQ(sha256Of(byTag.body), current);
  EXPECT_NE(std::find(digests.begin(), digests.end(), current), digests.end());
  EXPECT_EQ(readFile(tagPath(root.path(), "tag/race", "latest") / "current/link"), current);
  EXPECT_EQ(tagListed(*client, "tag/race", "latest"), 1);
  EXPECT_EQ(entryCount(tagPath(root.path(), "tag/race", "latest") / "index/sha256"), std::size_t{kClients});
  for (int i = 0; i < kClients; ++i)
    EXPECT_EQ(client->get("/v2/tag/race/manifests/" + digests[i]).body, manifests[i]) << i;
  expectNothingLeft("tag/race");
}

// Content addressing again: one revision whatever the order; no lock to remove.
TEST_P(RaceTest, TheSameManifestPutByManyAtOnceIsOneRevision) {
  const Content layer = makeContent("the layer of the one manifest");
  client->pushBlob("same/manifest", config_);
  client->pushBlob("same/manifest", layer);
  const std::string manifest = manifestOf({layer}, "the same");
  const std::string digest = sha256Of(manifest);
  std::vector<int> statuses(kClients);

  together(kClients, [&](int i) {
    const std::string reference = i % 2 ? digest : "v1";
    auto answer =
        Client(server->port()).putManifest("same/manifest", reference, manifest, mediatype::kOciManifest);
    statuses[i] = answer.status;
    EXPECT_EQ(answer.header("Docker-Content-Digest"), digest);
  });

  for (int i = 0; i < kClients; ++i) EXPECT_EQ(statuses[i], 201) << i;
  EXPECT_EQ(entryCount(repositoryPath(root.path(), "same/manifest") / "_manifests/revisions/sha256"), 1u);
  EXPECT_EQ(client->get("/v2/same/manifest/manifests/v1").header("Docker-Content-Digest"), digest);
  EXPECT_EQ(client->get("/v2/same/manifest/manifests/" + digest).body, manifest);
  expectNothingLeft("same/manifest");
}

// Guards the tag lock in ManifestService: without it the DELETE's removal of
// the tag's directory interleaves with the PUT's two links (a 500, or a
// current link without its index entry).
TEST_P(RaceTest, ATagPutRacingATagDeleteEndsInOneOfTheTwoStates) {
  const std::string repo = "tag/delete";
  const Content layer = makeContent("layer of the raced tag");
  client->pushBlob(repo, config_);
  client->pushBlob(repo, layer);
  const std::string manifests[] = {manifestOf({layer}, "a"), manifestOf({layer}, "b")};
  client->pushManifest(repo, "keep", manifests[0], mediatype::kOciManifest); // the list never goes away
  const auto tag = tagPath(root.path(), repo, "raced");
  TagLinks links{[&]() -> std::optional<std::string> {
                   if (!std::filesystem::exists(tag / "current/link")) return std::nullopt;
                   return readFile(tag / "current/link");
                 },
                 [&](const std::string& digest) {
                   return std::filesystem::exists(tag / "index/sha256" / hexOf(digest) / "link");
                 },
                 [&] { return std::filesystem::exists(tag); }};
  int rounds = raceTagPutAgainstDelete(*client, repo, "raced", manifests, links, 150, 12s, 2ms,
                                       seedOf("ATagPutRacingATagDeleteEndsInOneOfTheTwoStates"));
  EXPECT_TRUE(HasFailure() || rounds >= 40) << rounds;
  expectNothingLeft(repo);
}

// A blob DELETE unlinks, the data stays (and an open file keeps its bytes), a
// manifest is read whole before its answer: each pull is whole or a 404. The
// end state guards BlobStore::unlink forgetting the cache entries (it fails
// with those forgets removed).
TEST_P(RaceTest, APullDuringADeleteIsWholeOrNotFound) {
  const std::string repo = "pull/delete";
  const Content layer = makeContent(bytesOf(4 * 1024 * 1024, 3));
  client->pushBlob(repo, config_);
  client->pushBlob(repo, layer);
  const std::string manifest = manifestOf({layer}, "pulled while deleted");
  const std::string digest = sha256Of(manifest);
  client->pushManifest(repo, "v1", manifest, mediatype::kOciManifest);
  std::mt19937 random(seedOf("APullDuringADeleteIsWholeOrNotFound"));

  std::atomic<bool> done{false};
  std::atomic<int> whole{0}, unknown{0};
  const auto deadline = Clock::now() + 6s;
  together(4, [&](int i) {
    Client own(server->port());
    if (i == 0) { // deletes and pushes again, in rounds
      for (int round = 0; round < 60 && Clock::now() < deadline; ++round) {
        std::this_thread::sleep_for(std::chrono::milliseconds(random() % 20));
        EXPECT_EQ(own.del("/v2/" + repo + "/manifests/" + digest).status, 202);
        EXPECT_EQ(own.del("/v2/" + repo + "/blobs/" + layer.digest).status, 202);
        std::this_thread::sleep_for(std::chrono::milliseconds(random() % 20));
        own.pushBlob(repo, layer);
        own.pushManifest(repo, digest, manifest, mediatype::kOciManifest);
      }
      EXPECT_EQ(own.del("/v2/" + repo + "/manifests/" + digest).status, 202);
      EXPECT_EQ(own.del("/v2/" + repo + "/blobs/" + layer.digest).status, 202);
      done = true;
      return;
    }
    while (!done && Clock::now() < deadline + 5s) {
      auto blob = own.get("/v2/" + repo + "/blobs/" + layer.digest);
      EXPECT_TRUE(wholeOrUnknown(blob, layer.digest, "BLOB_UNKNOWN"));
      auto pulled = own.get("/v2/" + repo + "/manifests/" + digest);
      EXPECT_TRUE(wholeOrUnknown(pulled, digest, "MANIFEST_UNKNOWN"));
      (blob.status == 200 ? whole : unknown)++;
      (pulled.status == 200 ? whole : unknown)++;
    }
  });
  std::cout << whole << " whole pulls, " << unknown << " not found" << std::endl;
  // Deleted at the end: no cache entry outlives the deletes (BlobStore::unlink forgets them).
  for (const auto& [target, code] : {std::pair{"/blobs/" + layer.digest, "BLOB_UNKNOWN"},
                                     std::pair{"/manifests/" + digest, "MANIFEST_UNKNOWN"}}) {
    auto gone = client->get("/v2/" + repo + target);
    EXPECT_EQ(gone.status, 404) << target << " is still served after its delete";
    if (gone.status == 404) {
      EXPECT_TRUE(isError(gone, 404, code));
    }
  }
  EXPECT_GT(whole.load(), 0);
  expectNothingLeft(repo);
}

// Guards ManifestService::put checking references in storage before any
// write: with the check moved after the writes a refused manifest stays.
TEST_P(RaceTest, ABlobDeleteRacingAManifestPutIsOneOrTheOther) {
  const std::string repo = "delete/put";
  client->pushBlob(repo, config_);
  std::mt19937 random(seedOf("ABlobDeleteRacingAManifestPutIsOneOrTheOther"));
  const auto deadline = Clock::now() + 6s;
  int rounds = 0, accepted = 0;
  for (; rounds < 80 && Clock::now() < deadline; ++rounds) {
    const Content layer = makeContent("layer of round " + std::to_string(rounds));
    client->pushBlob(repo, layer);
    const std::string manifest = manifestOf({layer}, "round " + std::to_string(rounds));
    const std::string digest = sha256Of(manifest);
    const auto jitter = std::chrono::microseconds(random() % 3000);
    HttpResponse put, removed;
    together(2, [&](int i) {
      Client own(server->port());
      if (i == 0) {
        put = own.putManifest(repo, "v" + std::to_string(rounds), manifest, mediatype::kOciManifest);
      } else {
        std::this_thread::sleep_for(jitter);
        removed = own.del("/v2/" + repo + "/blobs/" + layer.digest);
      }
    });
    ASSERT_EQ(removed.status, 202) << "round " << rounds;
    auto byDigest = client->get("/v2/" + repo + "/manifests/" + digest);
    if (put.status == 201) {
      ++accepted;
      ASSERT_EQ(byDigest.status, 200) << "round " << rounds;
      ASSERT_TRUE(std::filesystem::exists(blobDataPath(root.path(), layer.digest))) << "round " << rounds;
    } else {
      ASSERT_TRUE(isError(put, 400, "MANIFEST_BLOB_UNKNOWN")) << "round " << rounds << ": " << put.body;
      // Nothing of the refused manifest stays.
      ASSERT_TRUE(isError(byDigest, 404, "MANIFEST_UNKNOWN")) << "round " << rounds;
      ASSERT_EQ(tagListed(*client, repo, "v" + std::to_string(rounds)), 0) << "round " << rounds;
    }
  }
  std::cout << rounds << " rounds, " << accepted << " manifests accepted" << std::endl;
  EXPECT_GE(rounds, 20);
  expectNothingLeft(repo);
}

// Guards the sendfile path's end of a file cut short (HttpServer::flush): the
// connection closes, so the client can tell the body is short of Content-Length.
TEST(PullCutShort, ABlobFileCutShortWhileSentEndsTheConnection) {
  constexpr std::size_t kMiB = 1024 * 1024;
  TempDir root;
  PierServer server(filesystemConfig(root.path()));
  const Content blob = makeContent(bytesOf(32 * kMiB, 4));
  Client(server.port()).pushBlob("cut/short", blob);
  SlowRequest pull(server.port(),
                   "GET /v2/cut/short/blobs/" + blob.digest + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "",
                   0ms);
  auto head = pull.response(10s);
  ASSERT_EQ(head.status, 200);
  ASSERT_EQ(head.header("content-length"), std::to_string(blob.size()));
  // In place, past what the socket buffers can hold: the descriptor being sent sees the end move.
  std::filesystem::resize_file(blobDataPath(root.path(), blob.digest), 16 * kMiB);
  std::string rest = pull.readUntilClosed(15s);
  EXPECT_TRUE(pull.closed()) << "the connection stayed open after a short body";
  EXPECT_EQ(head.body.size() + rest.size(), 16 * kMiB);
}

INSTANTIATE_TEST_SUITE_P(Caches, RaceTest, ::testing::Values(Cache::inmemory, Cache::redis),
                         [](const auto& info) { return info.param == Cache::redis ? "redis" : "inmemory"; });

} // namespace
} // namespace pier::test::api
