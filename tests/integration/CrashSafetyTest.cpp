// Crash safety of the filesystem driver: pier is SIGKILLed at random points
// while clients push blobs (monolithic, chunked, resumed) and manifests, and
// restarted on the same root. What was acknowledged (201) must be intact, what
// was not must not be visible half written, interrupted uploads resume or are
// unknown, and the upload purger leaves no temporary file behind.
//
// A SIGKILL keeps the page cache, so this proves atomicity and ordering
// (nothing appears under a final name before it is complete), not durability
// on power loss, which rests on the fsyncs of storage.filesystem.sync.
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "ApiClient.hpp"
#include "PierProcess.hpp"

namespace pier::test {
namespace {

using namespace api;
using Clock = std::chrono::steady_clock;

constexpr int kKills = 5;
constexpr int kWriters = 4;
constexpr std::size_t kChunk = 16 * 1024;

std::string crashConfig(const std::filesystem::path& root, bool purging) {
  return "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: " + root.string() +
         "\n  maintenance:\n    uploadpurging:\n      enabled: " + (purging ? "true" : "false") +
         "\n      age: 1s\n      interval: 300ms\nhttp:\n  addr: 127.0.0.1:0\n";
}

struct Manifest {
  std::string repo, tag, digest, body;
};
struct Interrupted {
  std::string repo, location;
  Content blob;
  std::size_t acknowledged = 0; // bytes a 202 confirmed
};

// What the server acknowledged, shared by the writers.
struct Ledger {
  std::mutex mutex;
  std::map<std::string, std::vector<Content>> blobs; // by repository
  std::vector<Manifest> manifests;
  std::vector<Interrupted> interrupted;
};

// An upload's size from its Range "0-<last>"; "0-0" is taken for empty (it is also one byte).
std::size_t rangeEnd(const HttpResponse& response) {
  std::smatch match;
  std::string range = response.header("Range");
  if (!std::regex_match(range, match, std::regex("0-(\\d+)")) || match[1] == "0") return 0;
  return std::stoull(match[1]) + 1;
}

std::string contentRange(std::size_t from, std::size_t size) {
  return std::to_string(from) + "-" + std::to_string(from + size - 1);
}

// One writer's pushes until the server dies; every step that was not answered is recorded as interrupted.
void pushUntilKilled(std::uint16_t port, const std::string& repo, std::mt19937_64 random, Ledger& ledger,
                     const std::atomic<bool>& stop) {
  const std::string octets = "application/octet-stream";
  for (int step = 0; step < 100000 && !stop; ++step) {
    std::string bytes(1 + random() % (4 * kChunk), '\0');
    for (auto& c : bytes) c = static_cast<char>(random());
    Interrupted upload{repo, {}, makeContent(std::move(bytes)), 0};
    const int kind = static_cast<int>(random() % 4);
    try {
      if (kind == 0) { // monolithic
        auto put = httpRequest(port, "POST", "/v2/" + repo + "/blobs/uploads/?digest=" + upload.blob.digest,
                               upload.blob.bytes, {{"Content-Type", octets}});
        if (put.status != 201) continue;
      } else if (kind == 3) { // a manifest of blobs acknowledged before
        std::vector<Content> blobs;
        {
          std::lock_guard lock(ledger.mutex);
          blobs = ledger.blobs[repo];
        }
        if (blobs.size() < 2) continue;
        const Content& config = blobs[random() % blobs.size()];
        const Content& layer = blobs[random() % blobs.size()];
        std::string body = imageManifest(mediatype::kOciManifest, descriptorJson(media::kOciConfig, config),
                                         {descriptorJson(media::kOciLayer, layer)},
                                         ",\"annotations\":{\"n\":\"" + std::to_string(random()) + "\"}");
        std::string tag = random() % 2 ? "t" + std::to_string(random() % 3) : "";
        std::string digest = sha256Of(body);
        auto put = httpRequest(port, "PUT", "/v2/" + repo + "/manifests/" + (tag.empty() ? digest : tag),
                               body, {{"Content-Type", std::string(mediatype::kOciManifest)}});
        if (put.status == 201) {
          std::lock_guard lock(ledger.mutex);
          ledger.manifests.push_back({repo, tag, digest, body});
        }
        continue;
      } else { // chunked (1) or resumed (2): PATCHes, a status check between them, PUT
        auto started = httpRequest(port, "POST", "/v2/" + repo + "/blobs/uploads/");
        if (started.status != 202) continue;
        upload.location = started.header("Location");
        const std::string& bytes = upload.blob.bytes;
        bool failed = false;
        while (!failed && upload.acknowledged + kChunk < bytes.size()) {
          auto patch = httpRequest(
              port, "PATCH", upload.location, bytes.substr(upload.acknowledged, kChunk),
              {{"Content-Type", octets}, {"Content-Range", contentRange(upload.acknowledged, kChunk)}});
          failed = patch.status != 202;
          if (!failed) upload.acknowledged += kChunk;
          if (!failed && kind == 2)
            failed = rangeEnd(httpRequest(port, "GET", upload.location)) != upload.acknowledged;
        }
        if (failed) continue;
        std::string target = withQuery(upload.location, "digest=" + upload.blob.digest);
        if (httpRequest(port, "PUT", target, bytes.substr(upload.acknowledged), {{"Content-Type", octets}})
                .status != 201)
          continue;
      }
      std::lock_guard lock(ledger.mutex);
      ledger.blobs[repo].push_back(upload.blob);
    } catch (const std::exception&) { // the server went away
      if (!upload.location.empty()) {
        std::lock_guard lock(ledger.mutex);
        ledger.interrupted.push_back(upload);
      }
      return;
    }
  }
}

// Walks the root: every blob's bytes match its digest, every link names a
// blob whose data is there, every tag a revision. Returns the temporary files seen.
std::size_t expectConsistentStorage(const std::filesystem::path& root) {
  std::size_t temporaries = 0;
  const auto v2 = root / "docker/registry/v2";
  std::error_code error;
  for (std::filesystem::recursive_directory_iterator it(v2, error), end; !error && it != end;
       it.increment(error)) {
    if (!it->is_regular_file()) continue;
    const auto& path = it->path();
    const std::string name = path.filename().string();
    if (name.starts_with(".pier-tmp.") || name.starts_with(".pier-partial.")) {
      ++temporaries;
      continue;
    }
    const std::string relative = path.lexically_relative(v2).string();
    if (relative.starts_with("blobs/")) {
      EXPECT_EQ(name, "data") << relative;
      EXPECT_EQ(sha256Of(readFile(path)), "sha256:" + path.parent_path().filename().string())
          << relative << " holds bytes that are not its digest's";
      continue;
    }
    if (name != "link" || relative.find("/_uploads/") != std::string::npos) continue;
    const std::string target = readFile(path);
    if (!std::regex_match(target, std::regex("sha256:[0-9a-f]{64}"))) {
      ADD_FAILURE() << relative << " is not a whole digest: " << target;
      continue;
    }
    EXPECT_TRUE(std::filesystem::is_regular_file(blobDataPath(root, target)))
        << relative << " links " << target << ", whose data is missing";
    std::smatch tag;
    if (std::regex_search(relative, tag,
                          std::regex("^repositories/(.+)/_manifests/tags/[^/]+/current/link$"))) {
      auto revision =
          repositoryPath(root, tag[1]) / "_manifests/revisions/sha256" / target.substr(7) / "link";
      EXPECT_TRUE(std::filesystem::is_regular_file(revision)) << relative << " names a missing revision";
    }
  }
  EXPECT_FALSE(error) << error.message();
  return temporaries;
}

void expectAcknowledgedIntact(const Client& client, Ledger& ledger) {
  std::lock_guard lock(ledger.mutex);
  for (const auto& [repo, blobs] : ledger.blobs) {
    for (const auto& blob : blobs) {
      auto get = client.get("/v2/" + repo + "/blobs/" + blob.digest);
      EXPECT_EQ(get.status, 200) << repo << " " << blob.digest;
      EXPECT_EQ(get.body.size(), blob.size()) << blob.digest;
      EXPECT_EQ(sha256Of(get.body), blob.digest);
    }
  }
  std::map<std::string, std::string> lastByTag; // tags move: the last acknowledged push is current
  for (const auto& manifest : ledger.manifests) {
    auto get = client.get("/v2/" + manifest.repo + "/manifests/" + manifest.digest);
    EXPECT_EQ(get.status, 200) << manifest.digest;
    EXPECT_EQ(get.body, manifest.body) << manifest.digest;
    if (!manifest.tag.empty()) lastByTag[manifest.repo + "/manifests/" + manifest.tag] = manifest.digest;
  }
  // A tag push whose answer was lost may have moved the tag later: check only that it names a manifest.
  for (const auto& [target, digest] : lastByTag) {
    auto get = client.head("/v2/" + target);
    EXPECT_EQ(get.status, 200) << target;
  }
}

// An interrupted upload resumes from what was acknowledged (or from one more
// chunk whose answer was lost), or is unknown; a chunk cut in the middle is
// refused as invalid and the upload dropped.
void expectResumesOrUnknown(const Client& client, const Interrupted& upload) {
  auto status = client.get(upload.location);
  if (status.status == 404) {
    EXPECT_TRUE(isError(status, 404, "BLOB_UPLOAD_UNKNOWN"));
    return;
  }
  ASSERT_EQ(status.status, 204) << upload.location << " " << status.body;
  const std::size_t size = rangeEnd(status);
  ASSERT_GE(size, upload.acknowledged) << "acknowledged bytes of " << upload.location << " were lost";
  ASSERT_LE(size, upload.blob.size());
  const std::string rest = upload.blob.bytes.substr(size);
  auto patch = client.patch(upload.location, rest, rest.empty() ? "" : contentRange(size, rest.size()));
  if (patch.status == 400) {
    EXPECT_TRUE(isError(patch, 400, "BLOB_UPLOAD_INVALID"));
    EXPECT_GT(size, upload.acknowledged) << "an acknowledged chunk's hash state was lost";
    EXPECT_TRUE(isError(client.get(upload.location), 404, "BLOB_UPLOAD_UNKNOWN"));
    return;
  }
  ASSERT_EQ(patch.status, 202) << patch.body;
  auto put = client.finish(upload.location, upload.blob.digest);
  ASSERT_EQ(put.status, 201) << put.body;
  auto get = client.get("/v2/" + upload.repo + "/blobs/" + upload.blob.digest);
  EXPECT_EQ(get.body, upload.blob.bytes);
}

TEST(CrashSafety, AcknowledgedPushesSurviveSigkill) {
  const auto seed = std::random_device{}();
  std::cout << "crash test seed " << seed << std::endl;
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 random(seed);
  TempDir root;
  Ledger ledger;
  std::size_t temporariesSeen = 0;
  const auto started = Clock::now();
  for (int kill = 0; kill < kKills; ++kill) {
    PierServer server(crashConfig(root.path(), false));
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int i = 0; i < kWriters; ++i)
      writers.emplace_back(pushUntilKilled, server.port(), "crash/w" + std::to_string(i),
                           std::mt19937_64(random()), std::ref(ledger), std::cref(stop));
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + random() % 1200));
    server.stop(SIGKILL);
    stop = true;
    for (auto& writer : writers) writer.join();

    PierServer restarted(crashConfig(root.path(), false));
    Client client(restarted.port());
    expectAcknowledgedIntact(client, ledger);
    temporariesSeen += expectConsistentStorage(root.path());
    restarted.stop(SIGKILL);
  }
  {
    std::lock_guard lock(ledger.mutex);
    std::size_t blobs = 0;
    for (const auto& entry : ledger.blobs) blobs += entry.second.size();
    std::cout << "acknowledged " << blobs << " blobs, " << ledger.manifests.size() << " manifests; "
              << ledger.interrupted.size() << " uploads interrupted; " << temporariesSeen
              << " temporary files seen after kills" << std::endl;
    EXPECT_GT(blobs, 20u);
    EXPECT_GT(ledger.manifests.size(), 5u);
  }

  PierServer purging(crashConfig(root.path(), true));
  Client client(purging.port());
  for (const auto& upload : ledger.interrupted) expectResumesOrUnknown(client, upload);
  expectAcknowledgedIntact(client, ledger);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100)); // past the purge age
  EXPECT_TRUE(eventually([&] { return expectConsistentStorage(root.path()) == 0; }))
      << "temporary files remain after upload purging";
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(60));
}

// What a kill in the middle of a putContent or an upload leaves: temporary
// and partial files next to final names. The purger removes them once older
// than its age, along with the abandoned upload.
TEST(CrashSafety, PurgerRemovesLeftoverTemporaries) {
  TempDir root;
  std::string digest;
  {
    PierServer server(crashConfig(root.path(), false));
    Client client(server.port());
    digest = client.pushImage("crash/left", "latest", "layer bytes", "{}").digest;
    client.patch(client.startUpload("crash/left"), "cut off");
  }
  const auto old = std::filesystem::file_time_type::clock::now() - std::chrono::hours(1);
  std::vector<std::filesystem::path> leftovers{
      blobDataPath(root.path(), digest).parent_path() / ".pier-tmp.data.0123456789abcdef",
      repositoryPath(root.path(), "crash/left") /
          "_manifests/tags/latest/current/.pier-tmp.link.00000000000000aa"};
  for (const auto& file : leftovers) {
    writeFile(file, "half");
    std::filesystem::last_write_time(file, old);
  }
  PierServer purging(crashConfig(root.path(), true));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_TRUE(eventually([&] { return expectConsistentStorage(root.path()) == 0; })) << purging.log();
  for (const auto& file : leftovers) EXPECT_FALSE(std::filesystem::exists(file)) << file;
  EXPECT_TRUE(std::filesystem::is_empty(uploadsPath(root.path(), "crash/left")));
  EXPECT_EQ(Client(purging.port()).get("/v2/crash/left/manifests/latest").status, 200);
}

// storage.filesystem.sync: a boolean (also from the environment), the key named when it is not one.
TEST(CrashSafety, SyncSettingIsValidated) {
  TempDir root, dir;
  writeFile(dir / "bad.yml",
            "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: " + root.path().string() +
                "\n    sync: sometimes\nhttp:\n  addr: 127.0.0.1:0\n");
  auto bad = runPier({"serve", (dir / "bad.yml").string()});
  EXPECT_EQ(bad.exitCode, 1);
  EXPECT_NE(bad.output.find("storage.filesystem.sync: must be true or false"), std::string::npos)
      << bad.output;

  PierServer unsynced(filesystemConfig(root.path()), {{"REGISTRY_STORAGE_FILESYSTEM_SYNC", "false"}});
  Client client(unsynced.port());
  auto image = client.pushImage("crash/nosync", "v1", "layer", "{}");
  EXPECT_EQ(client.get("/v2/crash/nosync/manifests/v1").body, image.manifest);
  EXPECT_EQ(expectConsistentStorage(root.path()), 0u);
}

} // namespace
} // namespace pier::test
