// `pier verify CONFIG [--repair] [--json]` on roots the real server wrote:
// a clean root reports nothing and exits 0; a corrupt blob, a link to a blob
// that was never stored, a layer deleted under its manifest and a manifest
// deleted under its tag are each named, in text and JSON, with exit 1;
// --repair removes exactly the dangling links and no blob, after which only
// what cannot be repaired is left. Also a 64 MiB blob hashed in bounded
// memory, a verify beside a server taking pushes, S3 (RGW), and bad usage.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include <sys/wait.h>

#include <gtest/gtest.h>

#include <Poco/JSON/Array.h>

#include "ApiClient.hpp"
#include "PierProcess.hpp"
#include "RgwProcess.hpp"

namespace pier::test {
namespace {

namespace fs = std::filesystem;
using api::Content;
using api::makeContent;

struct VerifyRun {
  int exitCode = -1;
  std::string report;                // stdout
  std::string progress;              // stderr
  std::int64_t peakResidentKiB = -1; // VmHWM, as last seen while it ran
};

// (kind, repository, digest) of each problem in a JSON report.
using Problem = std::tuple<std::string, std::string, std::string>;

std::vector<Poco::JSON::Object::Ptr> members(const Poco::JSON::Object::Ptr& report, const std::string& key) {
  std::vector<Poco::JSON::Object::Ptr> objects;
  auto array = report->getArray(key);
  if (!array) return objects;
  for (std::size_t i = 0; i < array->size(); ++i)
    objects.push_back(array->getObject(static_cast<unsigned>(i)));
  return objects;
}

std::set<Problem> problemsOf(const Poco::JSON::Object::Ptr& report, bool repaired) {
  std::set<Problem> problems;
  for (const auto& problem : members(report, "problems"))
    if (problem->getValue<bool>("repaired") == repaired)
      problems.emplace(problem->getValue<std::string>("kind"), problem->getValue<std::string>("repository"),
                       problem->getValue<std::string>("digest"));
  return problems;
}

std::size_t total(const Poco::JSON::Object::Ptr& report, const std::string& key) {
  return report->getObject("totals")->getValue<std::size_t>(key);
}

// Every blob data file under the root, with its bytes.
std::map<std::string, std::string> blobFiles(const fs::path& root) {
  std::map<std::string, std::string> files;
  fs::path base = root / "docker/registry/v2/blobs";
  if (!fs::exists(base)) return files;
  for (const auto& entry : fs::recursive_directory_iterator(base))
    if (entry.is_regular_file())
      files[entry.path().lexically_relative(base).string()] = readFile(entry.path());
  return files;
}

std::string storagePath(const std::string& digest) {
  return "/docker/registry/v2/blobs/sha256/" + digest.substr(7, 2) + "/" + digest.substr(7) + "/data";
}

class VerifyTest : public ::testing::Test {
protected:
  // Runs `pier verify` on config (the filesystem root's by default), the report apart from the progress.
  VerifyRun verify(const std::vector<std::string>& flags, const std::string& config = {}) {
    writeFile(dir / "config.yml", config.empty() ? filesystemConfig(root.path()) : config);
    const fs::path report = dir / "report.txt", progress = dir / "progress.txt";
    std::vector<std::string> arguments{"-c", "exec \"$0\" \"$@\" 2>\"" + progress.string() + "\"",
                                       PIER_TEST_BINARY, "verify", (dir / "config.yml").string()};
    arguments.insert(arguments.end(), flags.begin(), flags.end());
    pid_t pid = spawnProcess("/bin/sh", arguments, {}, dir.path(), report);
    // Polled, not waitForExit: the peak resident memory of pier's own image
    // (VmHWM starts anew at exec; the exit's ru_maxrss counts the test's before it).
    VerifyRun run;
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (waitpid(pid, &status, WNOHANG) == 0) {
      std::ifstream proc("/proc/" + std::to_string(pid) + "/status");
      for (std::string line; std::getline(proc, line);)
        if (line.starts_with("VmHWM:"))
          run.peakResidentKiB = std::max<std::int64_t>(run.peakResidentKiB, std::stoll(line.substr(6)));
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        ADD_FAILURE() << "pier verify ran for more than 120 s";
        return run;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    run.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    run.report = readFile(report);
    run.progress = readFile(progress);
    return run;
  }

  Poco::JSON::Object::Ptr verifyJson(const std::vector<std::string>& flags, int expectedExit,
                                     const std::string& config = {}) {
    std::vector<std::string> withJson = flags;
    withJson.push_back("--json");
    auto run = verify(withJson, config);
    EXPECT_EQ(run.exitCode, expectedExit) << run.report << run.progress;
    return parseJson(run.report);
  }

  fs::path repositoryFile(const std::string& repo, const std::string& relative) const {
    return api::repositoryPath(root.path(), repo) / relative;
  }

  TempDir root;
  TempDir dir;
};

struct Image {
  Content config, layer1, layer2, manifest;
};

Image pushImage(const api::Client& client, const std::string& repo, const std::string& tag,
                const std::string& name) {
  Image image{makeContent(R"({"architecture":"amd64","os":"linux","name":")" + name + "\"}"),
              makeContent("first layer of " + name),
              makeContent("second layer of " + name),
              {}};
  image.manifest = makeContent(
      api::imageManifest(mediatype::kOciManifest, api::descriptorJson(api::media::kOciConfig, image.config),
                         {api::descriptorJson(api::media::kOciLayer, image.layer1),
                          api::descriptorJson(api::media::kOciLayer, image.layer2)}));
  for (const auto* blob : {&image.config, &image.layer1, &image.layer2}) client.pushBlob(repo, *blob);
  EXPECT_EQ(client.pushManifest(repo, tag, image.manifest.bytes, mediatype::kOciManifest),
            image.manifest.digest);
  return image;
}

TEST_F(VerifyTest, ACleanRootHasNoProblemsAndExitsZero) {
  Image a, b;
  {
    PierServer server(filesystemConfig(root.path()));
    api::Client client(server.port());
    a = pushImage(client, "library/app", "a", "a");
    b = pushImage(client, "library/app", "b", "b");
    client.pushBlob("other/app", a.layer1);
    ASSERT_EQ(server.stop(SIGTERM), 0) << server.log();
  }
  auto text = verify({});
  EXPECT_EQ(text.exitCode, 0) << text.report << text.progress;
  EXPECT_NE(text.report.find("verified 8 blobs ("), std::string::npos) << text.report;
  EXPECT_NE(text.report.find("2 repositories, 7 layer links, 2 manifests, 2 tags, 0 uploads\nno problems"),
            std::string::npos)
      << text.report;
  EXPECT_NE(text.progress.find("verify: 8 blobs"), std::string::npos) << text.progress;

  auto json = verifyJson({}, 0);
  EXPECT_TRUE(members(json, "problems").empty());
  EXPECT_EQ(total(json, "blobs"), 8u);
  std::size_t bytes = 0;
  for (const auto* content :
       {&a.config, &a.layer1, &a.layer2, &a.manifest, &b.config, &b.layer1, &b.layer2, &b.manifest})
    bytes += content->size();
  EXPECT_EQ(total(json, "bytesHashed"), bytes);
  EXPECT_EQ(total(json, "repositories"), 2u);
  EXPECT_EQ(total(json, "manifests"), 2u);
  EXPECT_EQ(total(json, "tags"), 2u);
  EXPECT_EQ(total(json, "problems"), 0u);
}

TEST_F(VerifyTest, CorruptBlobCutLinksAndDeletedLayerAreReportedAndOnlyDanglingLinksRepaired) {
  const std::string app = "library/app", other = "other/app";
  Image a, b;
  {
    PierServer server(filesystemConfig(root.path()));
    api::Client client(server.port());
    a = pushImage(client, app, "a", "a");
    b = pushImage(client, other, "b", "b");
    ASSERT_EQ(server.stop(SIGTERM), 0) << server.log();
  }
  // A blob's bytes change, size kept.
  std::string corrupted = a.layer1.bytes;
  corrupted[3] ^= 0x20;
  writeFile(api::blobDataPath(root.path(), a.layer1.digest), corrupted);
  // A link to a blob that was never stored.
  Content ghost = makeContent("never pushed");
  writeFile(repositoryFile(app, "_layers/sha256/" + ghost.digest.substr(7) + "/link"), ghost.digest);
  // A layer deleted under its manifest (its link stays).
  fs::remove_all(api::blobDataPath(root.path(), a.layer2.digest).parent_path());
  // A manifest deleted under its tag.
  fs::remove_all(api::blobDataPath(root.path(), b.manifest.digest).parent_path());

  const std::set<Problem> repairable{{"dangling link", app, ghost.digest},
                                     {"dangling link", app, a.layer2.digest},
                                     {"dangling link", other, b.manifest.digest},
                                     {"dangling tag", other, b.manifest.digest}};
  const std::set<Problem> lasting{{"corrupt blob", "", a.layer1.digest},
                                  {"missing reference", app, a.manifest.digest}};
  std::set<Problem> all = repairable;
  all.insert(lasting.begin(), lasting.end());

  auto text = verify({});
  EXPECT_EQ(text.exitCode, 1) << text.report;
  const std::string appRoot = "/docker/registry/v2/repositories/library/app";
  for (const std::string& line :
       {"corrupt blob: " + a.layer1.digest + ": its " + std::to_string(corrupted.size()) + " bytes hash to " +
            api::sha256Of(corrupted) + " (" + storagePath(a.layer1.digest) + ")",
        "dangling link: " + app + ": " + ghost.digest +
            ": layer link to a blob that is not in the blob store (" + appRoot + "/_layers/sha256/" +
            ghost.digest.substr(7) + "/link)",
        "missing reference: " + app + ": " + a.manifest.digest + ": its layer " + a.layer2.digest +
            " is not in the blob store (" + appRoot + "/_manifests/revisions/sha256/" +
            a.manifest.digest.substr(7) + "/link)",
        "dangling tag: " + other + ": " + b.manifest.digest +
            ": tag b points at a manifest the repository does not have"})
    EXPECT_NE(text.report.find(line), std::string::npos) << line << "\nin:\n" << text.report;
  EXPECT_NE(text.report.find("6 problems, 6 not repaired"), std::string::npos) << text.report;

  auto json = verifyJson({}, 1);
  EXPECT_EQ(problemsOf(json, false), all) << text.report;
  EXPECT_EQ(total(json, "problems"), 6u);
  for (const auto& problem : members(json, "problems")) {
    if (problem->getValue<std::string>("kind") == "missing reference") {
      EXPECT_EQ(problem->getValue<std::string>("reference"), a.layer2.digest);
    }
  }

  // Repair: the four dangling links go, every blob stays byte for byte.
  auto blobsBefore = blobFiles(root.path());
  auto repaired = verifyJson({"--repair"}, 1);
  EXPECT_EQ(problemsOf(repaired, true), repairable);
  EXPECT_EQ(problemsOf(repaired, false), lasting);
  EXPECT_EQ(total(repaired, "repaired"), 4u);
  EXPECT_EQ(blobFiles(root.path()), blobsBefore);
  EXPECT_FALSE(fs::exists(repositoryFile(app, "_layers/sha256/" + ghost.digest.substr(7))));
  EXPECT_FALSE(fs::exists(repositoryFile(app, "_layers/sha256/" + a.layer2.digest.substr(7))));
  EXPECT_FALSE(
      fs::exists(repositoryFile(other, "_manifests/revisions/sha256/" + b.manifest.digest.substr(7))));
  EXPECT_FALSE(fs::exists(repositoryFile(other, "_manifests/tags/b")));
  // What still holds: the corrupt blob's link, the manifest that misses a layer, its tag.
  EXPECT_TRUE(fs::exists(repositoryFile(app, "_layers/sha256/" + a.layer1.digest.substr(7) + "/link")));
  EXPECT_TRUE(fs::exists(
      repositoryFile(app, "_manifests/revisions/sha256/" + a.manifest.digest.substr(7) + "/link")));
  EXPECT_TRUE(fs::exists(repositoryFile(app, "_manifests/tags/a/current/link")));

  // Again: only what repair must not touch.
  auto again = verifyJson({}, 1);
  EXPECT_EQ(problemsOf(again, false), lasting);
  EXPECT_TRUE(problemsOf(again, true).empty());
  auto againRepair = verifyJson({"--repair"}, 1);
  EXPECT_EQ(total(againRepair, "repaired"), 0u);
}

TEST_F(VerifyTest, RepairingEveryProblemExitsZeroAndTheServerAgrees) {
  const std::string repo = "library/app";
  Image a;
  Content ghost = makeContent("never pushed either");
  {
    PierServer server(filesystemConfig(root.path()));
    api::Client client(server.port());
    a = pushImage(client, repo, "a", "a");
    ASSERT_EQ(server.stop(SIGTERM), 0) << server.log();
  }
  writeFile(repositoryFile(repo, "_layers/sha256/" + ghost.digest.substr(7) + "/link"), ghost.digest);
  auto repaired = verifyJson({"--repair"}, 0);
  EXPECT_EQ(problemsOf(repaired, true), (std::set<Problem>{{"dangling link", repo, ghost.digest}}));
  EXPECT_EQ(total(repaired, "unrepaired"), 0u);
  auto clean = verify({});
  EXPECT_EQ(clean.exitCode, 0) << clean.report;
  EXPECT_NE(clean.report.find("no problems"), std::string::npos) << clean.report;
  PierServer server(filesystemConfig(root.path()));
  EXPECT_EQ(httpRequest(server.port(), "HEAD", "/v2/" + repo + "/blobs/" + ghost.digest).status, 404);
  for (const auto* blob : {&a.config, &a.layer1, &a.layer2})
    EXPECT_EQ(httpRequest(server.port(), "HEAD", "/v2/" + repo + "/blobs/" + blob->digest).status, 200);
}

TEST_F(VerifyTest, ALargeBlobIsHashedStreamingInBoundedMemory) {
  const std::string repo = "big/app";
  std::string bytes(64u << 20, '\0');
  std::uint32_t state = 12345;
  for (char& c : bytes) c = static_cast<char>((state = state * 1103515245u + 12345u) >> 24);
  Content big = makeContent(bytes);
  {
    PierServer server(filesystemConfig(root.path()));
    api::Client client(server.port());
    client.pushBlob(repo, big);
    ASSERT_EQ(server.stop(SIGTERM), 0) << server.log();
  }
  auto clean = verifyJson({}, 0);
  EXPECT_EQ(total(clean, "bytesHashed"), bytes.size());
  auto run = verify({});
  ASSERT_EQ(run.exitCode, 0) << run.report;
  // Loading the blob whole would take 64 MiB at least.
  EXPECT_GT(run.peakResidentKiB, 0);
  if (!kSanitized) {
    EXPECT_LT(run.peakResidentKiB, 40 * 1024) << "verify's peak resident memory hashing a 64 MiB blob";
  }

  bytes[bytes.size() / 2] ^= 1;
  writeFile(api::blobDataPath(root.path(), big.digest), bytes);
  auto corrupt = verifyJson({}, 1);
  EXPECT_EQ(problemsOf(corrupt, false), (std::set<Problem>{{"corrupt blob", "", big.digest}}));
}

// Pushes go on while verify --repair runs: nothing they write is reported or removed.
TEST_F(VerifyTest, VerifyBesideAServerTakingPushesReportsAndRemovesNothing) {
  PierServer server(filesystemConfig(root.path()));
  api::Client client(server.port());
  std::atomic<int> pushed{0};
  // Each push is fsynced: a few a second on a busy machine. Verify runs until they are done.
  constexpr int kImages = 12;
  std::vector<Image> images(kImages);
  std::atomic<bool> done{false};
  std::thread pusher([&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (int i = 0; i < kImages && std::chrono::steady_clock::now() < deadline; ++i) {
      try {
        images[static_cast<std::size_t>(i)] = pushImage(client, "live/app" + std::to_string(i % 4),
                                                        "t" + std::to_string(i), "live " + std::to_string(i));
      } catch (const std::exception& e) {
        ADD_FAILURE() << "push " << i << ": " << e.what() << "\n" << server.log();
        break;
      }
      ++pushed;
    }
    done = true;
  });
  int runs = 0;
  for (; runs < 200 && (!done || runs < 2); ++runs) {
    auto result = verify({"--repair", "--json"});
    EXPECT_EQ(result.exitCode, 0) << result.report << result.progress;
    EXPECT_TRUE(members(parseJson(result.report), "problems").empty()) << result.report;
  }
  pusher.join();
  EXPECT_GE(runs, 3) << "verify ran while the pushes went on";
  EXPECT_EQ(pushed, kImages);
  for (int i = 0; i < pushed; ++i) {
    const auto& image = images[static_cast<std::size_t>(i)];
    const std::string repo = "live/app" + std::to_string(i % 4);
    EXPECT_EQ(httpRequest(server.port(), "HEAD", "/v2/" + repo + "/manifests/t" + std::to_string(i), "",
                          {{"Accept", std::string(mediatype::kOciManifest)}})
                  .status,
              200);
    for (const auto* blob : {&image.config, &image.layer1, &image.layer2})
      EXPECT_EQ(httpRequest(server.port(), "HEAD", "/v2/" + repo + "/blobs/" + blob->digest).status, 200);
  }
}

TEST_F(VerifyTest, BadUsageAndConfigExitTwoWithAMessage) {
  auto missing = runPier({"verify"});
  EXPECT_EQ(missing.exitCode, 2);
  EXPECT_NE(missing.output.find("pier verify: CONFIG is required"), std::string::npos) << missing.output;
  EXPECT_NE(missing.output.find("usage: pier"), std::string::npos) << missing.output;

  writeFile(dir / "config.yml", filesystemConfig(root.path()));
  auto unknown = runPier({"verify", (dir / "config.yml").string(), "--frobnicate"});
  EXPECT_EQ(unknown.exitCode, 2);
  EXPECT_NE(unknown.output.find("unexpected argument \"--frobnicate\""), std::string::npos) << unknown.output;

  auto twoConfigs = runPier({"verify", (dir / "config.yml").string(), (dir / "config.yml").string()});
  EXPECT_EQ(twoConfigs.exitCode, 2) << twoConfigs.output;

  auto noFile = runPier({"verify", (dir / "absent.yml").string()});
  EXPECT_EQ(noFile.exitCode, 2);
  EXPECT_NE(noFile.output.find("configuration error"), std::string::npos) << noFile.output;

  writeFile(dir / "bad.yml", filesystemConfig(root.path(), "frobnicate: true\n"));
  auto badKey = runPier({"verify", (dir / "bad.yml").string()});
  EXPECT_EQ(badKey.exitCode, 2);
  EXPECT_NE(badKey.output.find("frobnicate"), std::string::npos) << badKey.output;
}

// The same checks through the s3 driver on a real RGW: objects changed and deleted behind the registry.
TEST_F(VerifyTest, OnS3ACorruptObjectAndADeletedLayerAreFoundAndTheDanglingLinkRemoved) {
  RgwProcess rgw;
  const std::string config = "version: 0.1\nstorage:\n  s3:\n    region: " + rgw.region() +
                             "\n    regionendpoint: " + rgw.endpoint() + "\n    bucket: " + rgw.bucket() +
                             "\n    rootdirectory: /pier\n    accesskey: " + rgw.accessKey() +
                             "\n    secretkey: " + rgw.secretKey() +
                             "\n    forcepathstyle: true\n    secure: false\n  delete:\n    enabled: true\n"
                             "http:\n  addr: 127.0.0.1:0\n";
  const std::string repo = "s3/app";
  Image a;
  {
    PierServer server(config);
    a = pushImage(api::Client(server.port()), repo, "a", "a");
    ASSERT_EQ(server.stop(SIGTERM), 0) << server.log();
  }
  auto object = [&](const std::string& path) { return "/" + rgw.bucket() + "/pier" + path; };
  auto clean = verifyJson({}, 0, config);
  EXPECT_EQ(total(clean, "blobs"), 4u);

  std::string corrupted = a.config.bytes;
  corrupted[0] = '[';
  ASSERT_EQ(rgw.request("PUT", object(storagePath(a.config.digest)), corrupted).status, 200);
  ASSERT_EQ(rgw.request("DELETE", object(storagePath(a.layer1.digest))).status, 204);
  const std::set<Problem> found{{"corrupt blob", "", a.config.digest},
                                {"dangling link", repo, a.layer1.digest},
                                {"missing reference", repo, a.manifest.digest}};
  auto report = verifyJson({}, 1, config);
  EXPECT_EQ(problemsOf(report, false), found);

  auto repaired = verifyJson({"--repair"}, 1, config);
  EXPECT_EQ(problemsOf(repaired, true), (std::set<Problem>{{"dangling link", repo, a.layer1.digest}}));
  const std::string link =
      "/docker/registry/v2/repositories/" + repo + "/_layers/sha256/" + a.layer1.digest.substr(7) + "/link";
  EXPECT_EQ(rgw.request("GET", object(link)).status, 404);
  EXPECT_EQ(rgw.request("GET", object(storagePath(a.config.digest))).body, corrupted); // never a blob
}

} // namespace
} // namespace pier::test
