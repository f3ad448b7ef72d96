#include "RaceSupport.hpp"

#include <algorithm>
#include <barrier>
#include <iostream>
#include <random>
#include <thread>
#include <vector>

namespace pier::test::api {

void together(int n, const std::function<void(int)>& body) {
  std::barrier start(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      try {
        body(i);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "client " << i << ": " << e.what();
      }
    });
  for (auto& thread : threads) thread.join();
}

unsigned seedOf(const std::string& test) {
  unsigned seed = std::random_device{}();
  std::cout << test << ": seed " << seed << std::endl;
  return seed;
}

std::string bytesOf(std::size_t size, unsigned seed) {
  std::mt19937 random(seed);
  std::string out(size, '\0');
  for (auto& c : out) c = static_cast<char>(random());
  return out;
}

int tagListed(const Client& client, const std::string& repo, const std::string& tag) {
  auto list = client.get("/v2/" + repo + "/tags/list");
  if (list.status != 200) return 0;
  auto tags = stringArray(parseJson(list.body), "tags");
  return static_cast<int>(std::count(tags.begin(), tags.end(), tag));
}

int raceTagPutAgainstDelete(const Client& client, const std::string& repo, const std::string& tag,
                            const std::string (&manifests)[2], const TagLinks& links, int rounds,
                            std::chrono::seconds limit, std::chrono::microseconds maxJitter, unsigned seed) {
  std::mt19937 random(seed);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int round = 0, present = 0;
  for (; round < rounds && std::chrono::steady_clock::now() < deadline; ++round) {
    const std::string& manifest = manifests[round % 2];
    const std::string digest = sha256Of(manifest);
    const auto jitter = std::chrono::microseconds(random() % maxJitter.count());
    int putStatus = 0, deleteStatus = 0;
    together(2, [&](int i) {
      Client own(client.port());
      if (i == 0) {
        putStatus = own.putManifest(repo, tag, manifest, mediatype::kOciManifest).status;
      } else {
        std::this_thread::sleep_for(jitter);
        deleteStatus = own.del("/v2/" + repo + "/manifests/" + tag).status;
      }
    });
    EXPECT_EQ(putStatus, 201) << "round " << round;
    EXPECT_TRUE(deleteStatus == 202 || deleteStatus == 404) << "round " << round << ": " << deleteStatus;

    auto byTag = client.get("/v2/" + repo + "/manifests/" + tag);
    if (byTag.status == 200) {
      ++present;
      EXPECT_EQ(byTag.header("Docker-Content-Digest"), digest) << "round " << round;
      EXPECT_EQ(tagListed(client, repo, tag), 1) << "round " << round;
      EXPECT_EQ(links.current(), digest) << "round " << round;
      EXPECT_TRUE(links.indexHas(digest))
          << "round " << round << ": the current revision is not in the index";
    } else {
      EXPECT_TRUE(isError(byTag, 404, "MANIFEST_UNKNOWN")) << "round " << round;
      EXPECT_EQ(tagListed(client, repo, tag), 0) << "round " << round;
      EXPECT_FALSE(links.anyLeft()) << "round " << round << ": a half-deleted tag";
    }
    if (::testing::Test::HasFailure()) break; // one broken round says it; the rest would repeat it
  }
  std::cout << round << " rounds, the tag stayed in " << present << std::endl;
  return round;
}

} // namespace pier::test::api
