// Garbage collection while the registry serves (storage.maintenance.gc and
// `pier garbage-collect --grace`): writers that name a blob a sweep condemned
// wait for it and check again; pushes, mounts and manifest puts racing with
// collections end with every acknowledged image whole, and what was
// unreferenced for longer than the grace period gone.
#include <atomic>
#include <chrono>
#include <csignal>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "ApiClient.hpp"
#include "PierProcess.hpp"

namespace pier::test {
namespace {

namespace fs = std::filesystem;
using api::Content;
using api::descriptorJson;
using api::imageManifest;
using api::makeContent;
using Clock = std::chrono::steady_clock;

const std::string kOciManifest = "application/vnd.oci.image.manifest.v1+json";
const std::string kLayer = "application/vnd.oci.image.layer.v1.tar";
const std::string kConfig = "application/vnd.oci.image.config.v1+json";

std::string manifestOf(const Content& config, const Content& layer) {
  return imageManifest(kOciManifest, descriptorJson(kConfig, config), {descriptorJson(kLayer, layer)});
}

// As if the blob had been written two hours ago.
void age(const fs::path& root, const std::string& digest) {
  fs::last_write_time(api::blobDataPath(root, digest),
                      fs::file_time_type::clock::now() - std::chrono::hours(2));
}

bool stored(const fs::path& root, const std::string& digest) {
  return fs::exists(api::blobDataPath(root, digest));
}

fs::path gcDirectory(const fs::path& root) {
  return root / "docker/registry/v2/pier/gc";
}

std::int64_t nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Writes the state a collector in its sweep writes, condemning digests.
// As the filesystem driver writes it (a rename): the server polls the state
// while a test changes it and must never read it half written.
void writeState(const fs::path& root, const std::string& text) {
  const fs::path state = gcDirectory(root) / "state";
  writeFile(state.string() + ".writing", text);
  fs::rename(state.string() + ".writing", state);
}

void pretendSweep(const fs::path& root, const std::string& run, const std::vector<std::string>& digests,
                  const std::string& phase = "sweeping", std::int64_t heartbeat = nowSeconds()) {
  for (const auto& digest : digests) {
    fs::path marker = gcDirectory(root) / "runs" / run / "sha256" / digest.substr(7);
    fs::create_directories(marker.parent_path());
    writeFile(marker, "");
  }
  fs::create_directories(gcDirectory(root));
  writeState(root, R"({"run":")" + run + R"(","phase":")" + phase + R"(","owner":"test","heartbeat":)" +
                       std::to_string(heartbeat) + R"(,"finished":0})");
}

void endSweep(const fs::path& root, const std::string& run) {
  writeState(root, R"({"run":")" + run + R"(","phase":"done","owner":"test","heartbeat":1,"finished":1})");
}

// Every blob the manifest at reference names is served with its digest.
void expectWholeImage(const api::Client& client, const std::string& repo, const std::string& reference,
                      const std::vector<Content>& blobs) {
  SCOPED_TRACE(repo + ":" + reference);
  auto manifest = client.get("/v2/" + repo + "/manifests/" + reference);
  ASSERT_EQ(manifest.status, 200) << manifest.body;
  for (const auto& blob : blobs) {
    auto got = client.get("/v2/" + repo + "/blobs/" + blob.digest);
    ASSERT_EQ(got.status, 200) << blob.digest;
    EXPECT_EQ(api::sha256Of(got.body), blob.digest);
  }
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t count = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

class OnlineCollectionTest : public ::testing::Test {
protected:
  std::map<std::string, std::string> gcEnv(const std::string& interval, const std::string& grace) {
    return {{"REGISTRY_STORAGE_MAINTENANCE_GC_ENABLED", "true"},
            {"REGISTRY_STORAGE_MAINTENANCE_GC_INTERVAL", interval},
            {"REGISTRY_STORAGE_MAINTENANCE_GC_GRACE", grace},
            {"REGISTRY_LOG_LEVEL", "debug"}};
  }
  // Waits (bounded) until the server logged `count` finished collections.
  bool waitForCollections(const PierServer& server, std::size_t count, std::chrono::seconds limit) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      if (occurrences(server.log(), "garbage collection finished") >= count) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  TempDir root;
};

TEST_F(OnlineCollectionTest, ScheduledCollectionDeletesOnlyWhatWasUnreferencedLongerThanTheGrace) {
  auto env = gcEnv("1s", "1h");
  env["REGISTRY_HTTP_DEBUG_ADDR"] = "127.0.0.1:0";
  env["REGISTRY_HTTP_DEBUG_PROMETHEUS_ENABLED"] = "true";
  PierServer server(filesystemConfig(root.path()), env);
  api::Client client(server.port());
  auto kept = client.pushImage("app/kept", "v1", "kept layer", R"({"kept":1})");
  auto deleted = client.pushImage("app/gone", "v1", "deleted layer", R"({"gone":1})");
  ASSERT_EQ(client.del("/v2/app/gone/manifests/" + deleted.digest).status, 202);
  Content oldOrphan = makeContent("uploaded two hours ago, never referenced");
  Content youngOrphan = makeContent("uploaded just now, its manifest is still to come");
  client.pushBlob("app/kept", oldOrphan);
  client.pushBlob("app/kept", youngOrphan);
  for (const auto& digest : {oldOrphan.digest, deleted.layer.digest, deleted.config.digest, deleted.digest,
                             kept.layer.digest, kept.digest})
    age(root.path(), digest);

  std::size_t before = occurrences(server.log(), "garbage collection finished");
  ASSERT_TRUE(waitForCollections(server, before + 1, std::chrono::seconds(20))) << server.log();

  for (const auto& digest : {oldOrphan.digest, deleted.layer.digest, deleted.config.digest, deleted.digest})
    EXPECT_FALSE(stored(root.path(), digest)) << digest;
  EXPECT_EQ(client.head("/v2/app/kept/blobs/" + oldOrphan.digest).status, 404);
  EXPECT_EQ(client.head("/v2/app/kept/blobs/" + youngOrphan.digest).status, 200);
  expectWholeImage(client, "app/kept", "v1", {kept.layer, kept.config});
  std::string log = server.log();
  EXPECT_NE(log.find("4 blobs, " +
                     std::to_string(oldOrphan.size() + deleted.layer.size() + deleted.config.size() +
                                    deleted.manifest.size()) +
                     " bytes freed"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("1 young"), std::string::npos) << log;
  // The same on /metrics: the first collection freed them, later ones nothing.
  auto metrics = httpRequest(debugPort(server), "GET", "/metrics").body;
  EXPECT_NE(metrics.find("pier_gc_blobs_deleted_total 4\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("pier_gc_bytes_freed_total " +
                         std::to_string(oldOrphan.size() + deleted.layer.size() + deleted.config.size() +
                                        deleted.manifest.size()) +
                         "\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("pier_gc_runs_total{result=\"ok\"}"), std::string::npos) << metrics;
}

TEST_F(OnlineCollectionTest, ManifestPutNamingACondemnedBlobWaitsForTheSweepAndChecksAgain) {
  PierServer server(filesystemConfig(root.path()));
  api::Client client(server.port());
  Content config = makeContent(R"({"config":"fresh"})");
  Content layer = makeContent("an old layer a sweep condemned");
  client.pushBlob("app/racing", config);
  client.pushBlob("app/racing", layer);
  std::string manifest = manifestOf(config, layer);

  // The sweep survives: the put answers 201 only after it is over.
  pretendSweep(root.path(), "run-1", {layer.digest});
  auto put = std::async(std::launch::async,
                        [&] { return client.putManifest("app/racing", "v1", manifest, kOciManifest); });
  EXPECT_EQ(put.wait_for(std::chrono::milliseconds(1500)), std::future_status::timeout);
  endSweep(root.path(), "run-1");
  ASSERT_EQ(put.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(put.get().status, 201);
  expectWholeImage(client, "app/racing", "v1", {config, layer});

  // The sweep deletes the layer: the put is refused and its tag taken back.
  Content other = makeContent("another condemned layer");
  client.pushBlob("app/racing", other);
  std::string second = manifestOf(config, other);
  pretendSweep(root.path(), "run-2", {other.digest});
  auto refused = std::async(std::launch::async,
                            [&] { return client.putManifest("app/racing", "v1", second, kOciManifest); });
  EXPECT_EQ(refused.wait_for(std::chrono::milliseconds(1500)), std::future_status::timeout);
  fs::remove_all(api::blobDataPath(root.path(), other.digest).parent_path());
  fs::remove_all(api::repositoryPath(root.path(), "app/racing") / "_layers/sha256" / other.digest.substr(7));
  endSweep(root.path(), "run-2");
  ASSERT_EQ(refused.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto answer = refused.get();
  EXPECT_EQ(answer.status, 400) << answer.body;
  EXPECT_NE(answer.body.find("MANIFEST_BLOB_UNKNOWN"), std::string::npos) << answer.body;
  EXPECT_NE(answer.body.find(other.digest), std::string::npos) << answer.body;
  // v1 still names the first manifest, which is whole.
  expectWholeImage(client, "app/racing", "v1", {config, layer});
  EXPECT_EQ(client.get("/v2/app/racing/manifests/v1").body, manifest);
  EXPECT_EQ(client.head("/v2/app/racing/manifests/" + api::sha256Of(second)).status, 404);
}

TEST_F(OnlineCollectionTest, UploadAndMountOfACondemnedBlobSurviveItsSweep) {
  PierServer server(filesystemConfig(root.path()));
  api::Client client(server.port());
  Content blob = makeContent("a blob some repository holds, condemned");
  client.pushBlob("app/source", blob);

  // An upload of the same bytes while the sweep deletes the stored copy: the upload's copy stays.
  pretendSweep(root.path(), "run-3", {blob.digest});
  auto upload = std::async(std::launch::async, [&] {
    std::string location = client.startUpload("app/upload");
    return client.finish(location, blob.digest, blob.bytes);
  });
  EXPECT_EQ(upload.wait_for(std::chrono::milliseconds(1500)), std::future_status::timeout);
  fs::remove_all(api::blobDataPath(root.path(), blob.digest).parent_path());
  endSweep(root.path(), "run-3");
  ASSERT_EQ(upload.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(upload.get().status, 201);
  auto got = client.get("/v2/app/upload/blobs/" + blob.digest);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, blob.bytes);

  // A mount while the sweep deletes the blob: no link to nothing, an upload starts instead.
  pretendSweep(root.path(), "run-4", {blob.digest});
  auto mount = std::async(std::launch::async, [&] {
    return client.request("POST", "/v2/app/mounted/blobs/uploads/?mount=" + blob.digest + "&from=app/upload");
  });
  EXPECT_EQ(mount.wait_for(std::chrono::milliseconds(1500)), std::future_status::timeout);
  fs::remove_all(api::blobDataPath(root.path(), blob.digest).parent_path());
  endSweep(root.path(), "run-4");
  ASSERT_EQ(mount.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(mount.get().status, 202);
  EXPECT_FALSE(
      fs::exists(api::repositoryPath(root.path(), "app/mounted") / "_layers/sha256" / blob.digest.substr(7)));
}

TEST_F(OnlineCollectionTest, ADeadCollectorBlocksNobodyAndALiveOneKeepsASecondOut) {
  PierServer server(filesystemConfig(root.path()));
  api::Client client(server.port());
  Content config = makeContent(R"({"config":"dead"})");
  Content layer = makeContent("condemned by a collector that died");
  client.pushBlob("app/dead", config);
  client.pushBlob("app/dead", layer);
  pretendSweep(root.path(), "run-dead", {layer.digest}, "sweeping", nowSeconds() - 600);
  auto started = Clock::now();
  EXPECT_EQ(client.putManifest("app/dead", "v1", manifestOf(config, layer), kOciManifest).status, 201);
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(1));

  pretendSweep(root.path(), "run-live", {}, "marking");
  writeFile(root.path() / "config.yml", filesystemConfig(root.path()));
  auto second =
      runPier({"garbage-collect", (root.path() / "config.yml").string()}, {}, {}, std::chrono::seconds(30));
  EXPECT_EQ(second.exitCode, 1) << second.output;
  EXPECT_NE(second.output.find("another garbage collection is running"), std::string::npos) << second.output;
  EXPECT_TRUE(stored(root.path(), layer.digest));
}

TEST_F(OnlineCollectionTest, PushesMountsAndManifestPutsRacingCollectionsLoseNoAcknowledgedImage) {
  PierServer server(filesystemConfig(root.path()), gcEnv("1s", "1h"));
  const fs::path base = root.path();
  api::Client seedClient(server.port());

  // Old, unreferenced blobs a writer picks up as layers: each is a candidate
  // for the collections running meanwhile.
  std::mutex mutex;
  std::deque<Content> orphans;
  std::vector<Content> allOrphans;
  std::atomic<bool> stop{false};
  std::thread seeder([&] {
    for (int i = 0; i < 2000 && !stop; ++i) {
      Content orphan = makeContent("orphan " + std::to_string(i));
      seedClient.pushBlob("seed/orphans", orphan);
      age(base, orphan.digest);
      std::lock_guard lock(mutex);
      orphans.push_back(orphan);
      allOrphans.push_back(orphan);
      if (orphans.size() > 20) orphans.pop_front(); // left unreferenced: the collections take it
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  auto takeOrphan = [&]() -> std::optional<Content> {
    std::lock_guard lock(mutex);
    if (orphans.empty()) return std::nullopt;
    Content orphan = orphans.front();
    orphans.pop_front();
    return orphan;
  };

  struct Acknowledged {
    std::string repo, tag;
    std::vector<Content> blobs;
  };
  std::vector<Acknowledged> acknowledged;
  std::set<std::string> referencedOrphans, uploadedAgain;
  std::atomic<int> refused{0}, unexpected{0};
  std::vector<std::string> unexpectedAnswers;
  auto writer = [&](int id) {
    api::Client client(server.port());
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    for (int n = 0; n < 200 && Clock::now() < deadline;) {
      auto orphan = takeOrphan();
      if (!orphan) { // the seeder is behind: wait, bounded by the deadline
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      ++n;
      const std::string repo = "writer/" + std::to_string(id);
      const std::string tag = "t" + std::to_string(n);
      Content config =
          makeContent(R"({"writer":)" + std::to_string(id) + R"(,"n":)" + std::to_string(n) + "}");
      Content fresh = makeContent("fresh layer " + std::to_string(id) + "/" + std::to_string(n));
      try {
        client.pushBlob(repo, config);
        client.pushBlob(repo, fresh);
        // The old layer: mounted (even ids) or named where it is linked already (odd ids).
        std::string target = repo;
        if (id % 2 == 0) {
          auto mount = client.request("POST", "/v2/" + repo + "/blobs/uploads/?mount=" + orphan->digest +
                                                  "&from=seed/orphans");
          if (mount.status == 202) { // gone meanwhile: upload it again (young now)
            client.pushBlob(repo, *orphan);
            std::lock_guard lock(mutex);
            uploadedAgain.insert(orphan->digest);
          } else if (mount.status != 201)
            throw std::runtime_error("mount answered " + std::to_string(mount.status));
        } else {
          target = "seed/orphans";
          client.pushBlob(target, config);
          client.pushBlob(target, fresh);
        }
        std::string body = imageManifest(kOciManifest, descriptorJson(kConfig, config),
                                         {descriptorJson(kLayer, fresh), descriptorJson(kLayer, *orphan)});
        auto put = client.putManifest(target, tag + "-" + std::to_string(id), body, kOciManifest);
        std::lock_guard lock(mutex);
        if (put.status == 201) {
          acknowledged.push_back({target, tag + "-" + std::to_string(id), {config, fresh, *orphan}});
          referencedOrphans.insert(orphan->digest);
        } else if (put.status == 400 && put.body.find("MANIFEST_BLOB_UNKNOWN") != std::string::npos) {
          ++refused; // named a blob its sweep deleted: not acknowledged, nothing half stored
        } else {
          ++unexpected;
          unexpectedAnswers.push_back(std::to_string(put.status) + " " + put.body);
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(mutex);
        ++unexpected;
        unexpectedAnswers.push_back(e.what());
      }
    }
  };
  std::size_t before = occurrences(server.log(), "garbage collection finished");
  std::vector<std::thread> writers;
  for (int id = 0; id < 4; ++id) writers.emplace_back(writer, id);
  for (auto& thread : writers) thread.join();
  stop = true;
  seeder.join();
  std::size_t during = occurrences(server.log(), "garbage collection finished") - before;

  // One more collection after the writers: what nobody acknowledged goes.
  ASSERT_TRUE(waitForCollections(server, before + during + 2, std::chrono::seconds(30))) << server.log();
  EXPECT_GE(during, 2u) << "collections must have run during the writes";
  EXPECT_EQ(unexpected.load(), 0) << (unexpectedAnswers.empty() ? "" : unexpectedAnswers.front());
  EXPECT_GT(acknowledged.size(), 20u);
  api::Client reader(server.port());
  for (const auto& image : acknowledged) expectWholeImage(reader, image.repo, image.tag, image.blobs);
  std::size_t swept = 0;
  for (const auto& orphan : allOrphans) {
    if (referencedOrphans.count(orphan.digest) || uploadedAgain.count(orphan.digest)) continue;
    EXPECT_FALSE(stored(base, orphan.digest)) << orphan.digest << " outlived its grace period unreferenced";
    ++swept;
  }
  EXPECT_GT(swept, 0u);
  std::cout << acknowledged.size() << " images acknowledged, " << refused.load() << " manifest puts refused, "
            << swept << " orphans swept, " << during << " collections during the writes\n";
}

} // namespace
} // namespace pier::test
