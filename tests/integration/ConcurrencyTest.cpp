// Many clients at once: pushes of distinct and of identical blobs, chunked
// and monolithic, pulls, HEADs, manifest and tag writes in one repository,
// all concurrent. Every answer is right and the server keeps serving.
#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "ApiClient.hpp"

namespace pier::test::api {
namespace {

constexpr int kThreads = 8;
constexpr int kRounds = 12;

TEST(Concurrency, ParallelPushesAndPullsStayConsistent) {
  TempDir root;
  PierServer server(filesystemConfig(root.path()));
  const Content shared = makeContent(std::string(300000, 's'));
  const Content config = makeContent(R"({"architecture":"amd64","os":"linux"})");
  Client(server.port()).pushBlob("race/repo", config);

  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Client client(server.port());
      auto fail = [&](const std::string& what) {
        ++failures;
        ADD_FAILURE() << "thread " << t << ": " << what;
      };
      try {
        for (int round = 0; round < kRounds; ++round) {
          const Content own = makeContent("thread " + std::to_string(t) + " round " + std::to_string(round) +
                                          std::string(static_cast<std::size_t>(1000 * (round + 1)), 'x'));
          client.pushBlob("race/repo", own);
          client.pushBlobChunked("race/repo", shared, 65536); // the same blob, from every thread at once
          auto pulled = client.get("/v2/race/repo/blobs/" + own.digest);
          if (pulled.status != 200 || pulled.body != own.bytes) fail("own blob came back wrong");
          auto head = client.head("/v2/race/repo/blobs/" + shared.digest);
          if (head.status != 200 || head.header("Content-Length") != std::to_string(shared.bytes.size()))
            fail("shared blob HEAD: " + std::to_string(head.status));
          std::string manifest =
              imageManifest(mediatype::kOciManifest, descriptorJson(media::kOciConfig, config),
                            {descriptorJson(media::kOciLayer, own)});
          // 't', not "t": GCC 12 -Wrestrict misfires at -O3 on "literal" + a temporary string.
          std::string digest =
              client.pushManifest("race/repo", 't' + std::to_string(t), manifest, mediatype::kOciManifest);
          auto byTag = client.get("/v2/race/repo/manifests/t" + std::to_string(t));
          if (byTag.status != 200 || byTag.header("Docker-Content-Digest") != digest)
            fail("tag t" + std::to_string(t) + " does not name the manifest just pushed");
        }
      } catch (const std::exception& e) {
        fail(e.what());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);

  Client client(server.port());
  auto pulled = client.get("/v2/race/repo/blobs/" + shared.digest);
  EXPECT_EQ(pulled.status, 200);
  EXPECT_TRUE(pulled.body == shared.bytes);
  auto tags = client.get("/v2/race/repo/tags/list");
  for (int t = 0; t < kThreads; ++t)
    EXPECT_NE(tags.body.find("\"t" + std::to_string(t) + "\""), std::string::npos);
  EXPECT_EQ(entryCount(uploadsPath(root.path(), "race/repo")), 0u); // every upload finished and cleaned up
  EXPECT_EQ(client.get("/v2/").status, 200);
}

} // namespace
} // namespace pier::test::api
