// `pier garbage-collect CONFIG [--dry-run] [--delete-untagged]` run offline on
// the root a stopped server wrote: a dry run deletes nothing and names what a
// real run deletes; a real run removes exactly the blobs no kept manifest
// references, and a server started again serves what is left byte for byte.
// Also roots written by the Distribution registry 2.8, manifests Pier cannot
// parse, a Redis blob descriptor cache, and config errors.
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include <gtest/gtest.h>

#include "ApiClient.hpp"
#include "DistributionProcess.hpp"
#include "PierProcess.hpp"
#include "RedisServerProcess.hpp"
#include "RegistryClient.hpp"

namespace pier::test {
namespace {

namespace fs = std::filesystem;
using api::Content;
using api::descriptorJson;
using api::imageManifest;
using api::indexManifest;
using api::makeContent;

const std::string kAcceptAll = "application/vnd.oci.image.index.v1+json, "
                               "application/vnd.oci.image.manifest.v1+json, "
                               "application/vnd.docker.distribution.manifest.list.v2+json, "
                               "application/vnd.docker.distribution.manifest.v2+json";

// Every file under root/docker/registry/v2 with its content, and every directory (ending in "/"),
// but for the collector's own records (pier/gc: its state).
std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> files;
  fs::path base = root / "docker/registry/v2";
  if (!fs::exists(base)) return files;
  for (const auto& entry : fs::recursive_directory_iterator(base)) {
    std::string relative = entry.path().lexically_relative(base).string();
    if (relative == "pier" || relative.starts_with("pier/")) continue;
    auto status = entry.symlink_status();
    if (fs::is_symlink(status)) files[relative] = "(symlink)";
    if (fs::is_regular_file(status)) files[relative] = readFile(entry.path());
    if (fs::is_directory(status)) files[relative + "/"] = "(directory)";
  }
  return files;
}

bool blobStored(const fs::path& root, const std::string& digest) {
  return fs::exists(api::blobDataPath(root, digest));
}
bool blobDirectoryStored(const fs::path& root, const std::string& digest) {
  return fs::exists(api::blobDataPath(root, digest).parent_path());
}
fs::path revisionPath(const fs::path& root, const std::string& repo, const std::string& digest) {
  return api::repositoryPath(root, repo) / "_manifests/revisions/sha256" / digest.substr(7);
}
fs::path layerLinkPath(const fs::path& root, const std::string& repo, const std::string& digest) {
  return api::repositoryPath(root, repo) / "_layers/sha256" / digest.substr(7);
}

// The digests the output names on "blob eligible for deletion: <digest>" lines.
std::set<std::string> eligibleBlobs(const std::string& output) {
  std::set<std::string> digests;
  static const std::regex line(R"(blob eligible for deletion: (sha256:[0-9a-f]{64}))");
  for (auto it = std::sregex_iterator(output.begin(), output.end(), line); it != std::sregex_iterator(); ++it)
    digests.insert((*it)[1].str());
  return digests;
}

bool mentions(const std::string& output, const std::string& text) {
  return output.find(text) != std::string::npos;
}

void expectManifestServed(std::uint16_t port, const std::string& repo, const std::string& reference,
                          const std::string& bytes, const std::string& mediaType) {
  SCOPED_TRACE("manifest " + repo + ":" + reference);
  auto got =
      httpRequest(port, "GET", "/v2/" + repo + "/manifests/" + reference, "", {{"Accept", kAcceptAll}});
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body, bytes);
  EXPECT_EQ(got.header("Content-Type"), mediaType);
  EXPECT_EQ(got.header("Docker-Content-Digest"), sha256Digest(bytes));
}

void expectBlobServed(std::uint16_t port, const std::string& repo, const std::string& digest,
                      const std::string& bytes) {
  SCOPED_TRACE("blob " + repo + "@" + digest);
  auto got = httpRequest(port, "GET", "/v2/" + repo + "/blobs/" + digest);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body, bytes);
  EXPECT_EQ(httpRequest(port, "HEAD", "/v2/" + repo + "/blobs/" + digest).status, 200);
}

class GarbageCollectTest : public ::testing::Test {
protected:
  // Writes the config (the one the server used) and runs garbage-collect on it.
  CommandResult collect(const std::vector<std::string>& flags, const std::string& config = {}) {
    writeFile(dir / "config.yml", config.empty() ? filesystemConfig(root.path()) : config);
    std::vector<std::string> arguments{"garbage-collect", (dir / "config.yml").string()};
    arguments.insert(arguments.end(), flags.begin(), flags.end());
    return runPier(arguments, {}, {}, std::chrono::seconds(60));
  }

  TempDir root;
  TempDir dir;
};

// Two images share a layer; one is deleted by digest over HTTP.
TEST_F(GarbageCollectTest, DeletedImageIsSweptAndTheOtherIsServedByteForByte) {
  const std::string repo = "library/app";
  Content shared = makeContent("shared base layer");
  Content layerA = makeContent("layer of image a");
  Content layerB = makeContent("layer of image b");
  Content configA = makeContent(R"({"architecture":"amd64","os":"linux","variant":"a"})");
  Content configB = makeContent(R"({"architecture":"amd64","os":"linux","variant":"b"})");
  Content manifestA = makeContent(imageManifest(
      mediatype::kOciManifest, descriptorJson(api::media::kOciConfig, configA),
      {descriptorJson(api::media::kOciLayer, shared), descriptorJson(api::media::kOciLayer, layerA)}));
  Content manifestB = makeContent(imageManifest(
      mediatype::kOciManifest, descriptorJson(api::media::kOciConfig, configB),
      {descriptorJson(api::media::kOciLayer, shared), descriptorJson(api::media::kOciLayer, layerB)}));
  {
    PierServer server(filesystemConfig(root.path()));
    api::Client client(server.port());
    for (const auto* blob : {&shared, &layerA, &layerB, &configA, &configB}) client.pushBlob(repo, *blob);
    ASSERT_EQ(client.pushManifest(repo, "a", manifestA.bytes, mediatype::kOciManifest), manifestA.digest);
    ASSERT_EQ(client.pushManifest(repo, "b", manifestB.bytes, mediatype::kOciManifest), manifestB.digest);
    ASSERT_EQ(client.del("/v2/" + repo + "/manifests/" + manifestB.digest).status, 202);
    ASSERT_EQ(server.stop(SIGTERM), 0) << server.log();
  }
  const std::set<std::string> garbage{configB.digest, layerB.digest, manifestB.digest};

  // Dry run: names exactly the garbage, changes nothing.
  auto before = snapshot(root.path());
  auto dryRun = collect({"--dry-run"});
  ASSERT_EQ(dryRun.exitCode, 0) << dryRun.output;
  EXPECT_EQ(eligibleBlobs(dryRun.output), garbage) << dryRun.output;
  EXPECT_TRUE(mentions(dryRun.output, repo)) << dryRun.output;
  EXPECT_TRUE(mentions(dryRun.output, "marking manifest " + manifestA.digest)) << dryRun.output;
  EXPECT_TRUE(mentions(dryRun.output, "4 blobs marked, 3 blobs eligible for deletion, 0 manifests eligible"))
      << dryRun.output;
  EXPECT_TRUE(mentions(dryRun.output, "dry run")) << dryRun.output;
  EXPECT_EQ(snapshot(root.path()), before);

  // For real: the garbage goes, with the layer links to it; the rest stays.
  auto real = collect({});
  ASSERT_EQ(real.exitCode, 0) << real.output;
  EXPECT_EQ(eligibleBlobs(real.output), garbage) << real.output;
  for (const auto& digest : garbage) {
    EXPECT_FALSE(blobDirectoryStored(root.path(), digest)) << digest;
    EXPECT_FALSE(fs::exists(layerLinkPath(root.path(), repo, digest))) << digest;
  }
  for (const auto* kept : {&shared, &layerA, &configA, &manifestA}) {
    EXPECT_TRUE(blobStored(root.path(), kept->digest)) << kept->digest;
    EXPECT_EQ(readFile(api::blobDataPath(root.path(), kept->digest)), kept->bytes);
  }
  for (const auto* kept : {&shared, &layerA, &configA})
    EXPECT_TRUE(fs::exists(layerLinkPath(root.path(), repo, kept->digest) / "link")) << kept->digest;

  // A second run finds nothing more.
  auto again = collect({});
  ASSERT_EQ(again.exitCode, 0) << again.output;
  EXPECT_TRUE(eligibleBlobs(again.output).empty()) << again.output;
  EXPECT_TRUE(mentions(again.output, "0 blobs eligible for deletion")) << again.output;

  // Served again, byte for byte; what was deleted is unknown (so a client pushes it anew).
  PierServer server(filesystemConfig(root.path()));
  expectManifestServed(server.port(), repo, "a", manifestA.bytes, std::string(mediatype::kOciManifest));
  expectManifestServed(server.port(), repo, manifestA.digest, manifestA.bytes,
                       std::string(mediatype::kOciManifest));
  for (const auto* kept : {&shared, &layerA, &configA})
    expectBlobServed(server.port(), repo, kept->digest, kept->bytes);
  for (const auto& digest : garbage)
    EXPECT_EQ(httpRequest(server.port(), "HEAD", "/v2/" + repo + "/blobs/" + digest).status, 404) << digest;
  EXPECT_EQ(httpRequest(server.port(), "GET", "/v2/" + repo + "/manifests/" + manifestB.digest, "",
                        {{"Accept", kAcceptAll}})
                .status,
            404);
  api::Client client(server.port());
  for (const auto* blob : {&layerB, &configB}) client.pushBlob(repo, *blob);
  EXPECT_EQ(client.pushManifest(repo, "b", manifestB.bytes, mediatype::kOciManifest), manifestB.digest);
  expectBlobServed(server.port(), repo, layerB.digest, layerB.bytes);
}

TEST_F(GarbageCollectTest, DeleteUntaggedKeepsIndexChildrenAndReferrersOfTaggedImages) {
  const std::string repo = "multi/app", other = "other/app";
  auto image = [](const std::string& name) {
    Content config = makeContent(R"({"architecture":")" + name + R"(","os":"linux"})");
    Content layer = makeContent("layer of " + name);
    Content manifest =
        makeContent(imageManifest(mediatype::kOciManifest, descriptorJson(api::media::kOciConfig, config),
                                  {descriptorJson(api::media::kOciLayer, layer)}));
    return std::vector<Content>{config, layer, manifest};
  };
  auto amd64 = image("amd64"), arm64 = image("arm64"), untagged = image("untagged"), old = image("old"),
       current = image("current");
  Content index = makeContent(
      indexManifest(mediatype::kOciIndex,
                    {descriptorJson(mediatype::kOciManifest, amd64[2], api::platformField("amd64")),
                     descriptorJson(mediatype::kOciManifest, arm64[2], api::platformField("arm64"))}));
  Content empty = makeContent("{}");
  auto artifact = [&](const Content& subject, const std::string& payload) {
    Content blob = makeContent(payload);
    Content manifest =
        makeContent(imageManifest(mediatype::kOciManifest, descriptorJson(mediatype::kOciEmpty, empty),
                                  {descriptorJson("application/vnd.example.payload", blob)},
                                  ",\"artifactType\":\"application/vnd.example\",\"subject\":" +
                                      descriptorJson(mediatype::kOciManifest, subject)));
    return std::vector<Content>{blob, manifest};
  };
  auto sbom = artifact(amd64[2], "sbom of amd64");         // referrer of a child of the tagged index
  auto signature = artifact(sbom[1], "signature of sbom"); // referrer of that referrer
  auto orphan = artifact(untagged[2], "sbom of the untagged image");
  {
    PierServer server(filesystemConfig(root.path()));
    api::Client client(server.port());
    for (const auto& each : {amd64, arm64, untagged, old, current}) {
      client.pushBlob(repo, each[0]);
      client.pushBlob(repo, each[1]);
    }
    client.pushBlob(repo, empty);
    for (const auto& each : {sbom, signature, orphan}) client.pushBlob(repo, each[0]);
    client.pushManifest(repo, amd64[2].digest, amd64[2].bytes, mediatype::kOciManifest);
    client.pushManifest(repo, arm64[2].digest, arm64[2].bytes, mediatype::kOciManifest);
    client.pushManifest(repo, "v1", index.bytes, mediatype::kOciIndex);
    client.pushManifest(repo, untagged[2].digest, untagged[2].bytes, mediatype::kOciManifest);
    for (const auto& each : {sbom, signature, orphan})
      client.pushManifest(repo, each[1].digest, each[1].bytes, mediatype::kOciManifest);
    // A tag moved on: the old manifest stays in the tag's history only.
    client.pushManifest(repo, "latest", old[2].bytes, mediatype::kOciManifest);
    client.pushManifest(repo, "latest", current[2].bytes, mediatype::kOciManifest);
    // The untagged image is tagged in another repository: its blobs stay for that one.
    client.pushBlob(other, untagged[0]);
    client.pushBlob(other, untagged[1]);
    client.pushManifest(other, "v1", untagged[2].bytes, mediatype::kOciManifest);
    ASSERT_EQ(server.stop(SIGTERM), 0) << server.log();
  }
  const fs::path oldIndexEntry = api::repositoryPath(root.path(), repo) /
                                 "_manifests/tags/latest/index/sha256" / old[2].digest.substr(7);
  ASSERT_TRUE(fs::exists(oldIndexEntry));

  // Without --delete-untagged every revision is kept: nothing to collect.
  auto plain = collect({});
  ASSERT_EQ(plain.exitCode, 0) << plain.output;
  EXPECT_TRUE(eligibleBlobs(plain.output).empty()) << plain.output;

  auto before = snapshot(root.path());
  auto dryRun = collect({"--dry-run", "--delete-untagged"});
  ASSERT_EQ(dryRun.exitCode, 0) << dryRun.output;
  EXPECT_EQ(snapshot(root.path()), before);
  const std::set<std::string> untaggedManifests{untagged[2].digest, old[2].digest, orphan[1].digest};
  for (const auto& digest : untaggedManifests)
    EXPECT_TRUE(mentions(dryRun.output, repo + ": manifest eligible for deletion: " + digest))
        << dryRun.output;
  EXPECT_TRUE(mentions(dryRun.output, "3 manifests eligible for deletion")) << dryRun.output;
  // Blobs only the deleted manifests used; the untagged image's are still used by the other repository.
  const std::set<std::string> garbage{old[0].digest, old[1].digest, old[2].digest, orphan[0].digest,
                                      orphan[1].digest};
  EXPECT_EQ(eligibleBlobs(dryRun.output), garbage) << dryRun.output;

  auto real = collect({"--delete-untagged"});
  ASSERT_EQ(real.exitCode, 0) << real.output;
  EXPECT_EQ(eligibleBlobs(real.output), garbage) << real.output;
  for (const auto& digest : untaggedManifests)
    EXPECT_FALSE(fs::exists(revisionPath(root.path(), repo, digest))) << digest;
  EXPECT_FALSE(fs::exists(oldIndexEntry));
  for (const auto& digest : garbage) EXPECT_FALSE(blobDirectoryStored(root.path(), digest)) << digest;
  for (const auto* kept : {&amd64, &arm64, &current, &untagged})
    for (const auto& content : *kept) EXPECT_TRUE(blobStored(root.path(), content.digest)) << content.digest;
  for (const auto* kept : {&index, &empty, &sbom[0], &sbom[1], &signature[0], &signature[1]})
    EXPECT_TRUE(blobStored(root.path(), kept->digest)) << kept->digest;

  PierServer server(filesystemConfig(root.path()));
  std::string oci(mediatype::kOciManifest);
  expectManifestServed(server.port(), repo, "v1", index.bytes, std::string(mediatype::kOciIndex));
  expectManifestServed(server.port(), repo, "latest", current[2].bytes, oci);
  for (const auto* child : {&amd64, &arm64}) {
    expectManifestServed(server.port(), repo, (*child)[2].digest, (*child)[2].bytes, oci);
    expectBlobServed(server.port(), repo, (*child)[0].digest, (*child)[0].bytes);
    expectBlobServed(server.port(), repo, (*child)[1].digest, (*child)[1].bytes);
  }
  expectManifestServed(server.port(), repo, sbom[1].digest, sbom[1].bytes, oci);
  expectManifestServed(server.port(), repo, signature[1].digest, signature[1].bytes, oci);
  expectBlobServed(server.port(), repo, signature[0].digest, signature[0].bytes);
  auto referrers = httpRequest(server.port(), "GET", "/v2/" + repo + "/referrers/" + amd64[2].digest);
  ASSERT_EQ(referrers.status, 200) << referrers.body;
  EXPECT_TRUE(mentions(referrers.body, sbom[1].digest)) << referrers.body;
  for (const auto& digest : untaggedManifests)
    EXPECT_EQ(httpRequest(server.port(), "GET", "/v2/" + repo + "/manifests/" + digest, "",
                          {{"Accept", kAcceptAll}})
                  .status,
              404)
        << digest;
  expectManifestServed(server.port(), other, "v1", untagged[2].bytes, oci);
  expectBlobServed(server.port(), other, untagged[1].digest, untagged[1].bytes);
}

// A manifest Pier does not parse (schema1, as old registries stored) keeps its
// blob and the layers it names, with a warning.
TEST_F(GarbageCollectTest, UnparsableManifestIsKeptWithItsLayersAndAWarning) {
  const std::string repo = "legacy/app";
  Content layer = makeContent("schema1 layer");
  Content stray = makeContent("nobody references this");
  {
    PierServer server(filesystemConfig(root.path()));
    api::Client client(server.port());
    client.pushBlob(repo, layer);
    client.pushBlob(repo, stray);
    ASSERT_EQ(server.stop(SIGTERM), 0);
  }
  Content schema1 =
      makeContent(R"({"schemaVersion":1,"name":"legacy/app","tag":"old","architecture":"amd64",)"
                  R"("fsLayers":[{"blobSum":")" +
                  layer.digest + R"("}],"history":[{"v1Compatibility":"{}"}]})");
  writeFile(api::blobDataPath(root.path(), schema1.digest), schema1.bytes);
  writeFile(revisionPath(root.path(), repo, schema1.digest) / "link", schema1.digest);

  auto result = collect({});
  ASSERT_EQ(result.exitCode, 0) << result.output;
  EXPECT_TRUE(mentions(result.output, "warning:")) << result.output;
  EXPECT_TRUE(mentions(result.output, schema1.digest + " cannot be parsed")) << result.output;
  EXPECT_EQ(eligibleBlobs(result.output), std::set<std::string>{stray.digest}) << result.output;
  EXPECT_TRUE(blobStored(root.path(), schema1.digest));
  EXPECT_TRUE(blobStored(root.path(), layer.digest));
  EXPECT_FALSE(blobStored(root.path(), stray.digest));
}

// A root the Distribution registry 2.8 wrote: Pier's collector deletes what
// Distribution's own would, and both registries serve what is left.
TEST_F(GarbageCollectTest, RootWrittenByDistributionIsCollected) {
  if (!DistributionServer::available())
    GTEST_SKIP() << kDistributionBinary << " is not installed (Debian package docker-registry)";
  const std::string repo = "library/hello";
  auto kept = makeTestImage("amd64", false, "kept image\n");
  auto deleted = makeTestImage("arm64", false, "deleted image\n");
  auto ociKept = makeTestImage("amd64", true, "oci image in an index\n");
  Blob index = makeTestIndex({ociKept}, true);
  {
    DistributionServer distribution(root.path());
    ASSERT_NO_THROW(pushImage(distribution.port(), repo, kept, "kept")) << distribution.log();
    ASSERT_NO_THROW(pushImage(distribution.port(), repo, deleted, "deleted")) << distribution.log();
    ASSERT_NO_THROW(pushImage(distribution.port(), "oci/app", ociKept, ociKept.manifest.digest));
    ASSERT_NO_THROW(pushManifest(distribution.port(), "oci/app", "v1", index));
    auto removed =
        httpRequest(distribution.port(), "DELETE", "/v2/" + repo + "/manifests/" + deleted.manifest.digest);
    ASSERT_EQ(removed.status, 202) << removed.body;
    ASSERT_EQ(distribution.stop(), 0) << distribution.log();
  }
  const std::set<std::string> garbage{deleted.layer.digest, deleted.config.digest, deleted.manifest.digest};

  // What Distribution's own collector would delete.
  writeFile(dir / "distribution.yml",
            "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: " + root.path().string() + "\n");
  auto theirs =
      runCommand(kDistributionBinary, {"garbage-collect", "--dry-run", (dir / "distribution.yml").string()});
  ASSERT_EQ(theirs.exitCode, 0) << theirs.output;
  EXPECT_EQ(eligibleBlobs(theirs.output), garbage) << theirs.output;

  auto dryRun = collect({"--dry-run"});
  ASSERT_EQ(dryRun.exitCode, 0) << dryRun.output;
  EXPECT_EQ(eligibleBlobs(dryRun.output), garbage) << dryRun.output;

  auto real = collect({});
  ASSERT_EQ(real.exitCode, 0) << real.output;
  for (const auto& digest : garbage) EXPECT_FALSE(blobDirectoryStored(root.path(), digest)) << digest;

  {
    PierServer pier(filesystemConfig(root.path()));
    expectManifestServed(pier.port(), repo, "kept", kept.manifest.content, kept.manifest.mediaType);
    expectBlobServed(pier.port(), repo, kept.layer.digest, kept.layer.content);
    expectBlobServed(pier.port(), repo, kept.config.digest, kept.config.content);
    expectManifestServed(pier.port(), "oci/app", "v1", index.content, index.mediaType);
    expectManifestServed(pier.port(), "oci/app", ociKept.manifest.digest, ociKept.manifest.content,
                         ociKept.manifest.mediaType);
    expectBlobServed(pier.port(), "oci/app", ociKept.layer.digest, ociKept.layer.content);
    EXPECT_EQ(httpRequest(pier.port(), "HEAD", "/v2/" + repo + "/blobs/" + deleted.layer.digest).status, 404);
    pier.stop(SIGTERM);
  }
  DistributionServer distribution(root.path());
  expectManifestServed(distribution.port(), repo, "kept", kept.manifest.content, kept.manifest.mediaType);
  expectBlobServed(distribution.port(), repo, kept.layer.digest, kept.layer.content);
  expectManifestServed(distribution.port(), "oci/app", "v1", index.content, index.mediaType);
  EXPECT_EQ(httpRequest(distribution.port(), "HEAD", "/v2/" + repo + "/blobs/" + deleted.layer.digest).status,
            404);
}

// With a Redis blob descriptor cache shared with the servers, what is deleted
// is cleared from it: a server started again does not answer from the cache.
TEST_F(GarbageCollectTest, DeletedBlobsAreClearedFromTheRedisCache) {
  if (!RedisServerProcess::available()) GTEST_SKIP() << "redis-server is not installed";
  RedisServerProcess redis;
  std::string config = filesystemConfig(root.path());
  config.replace(config.find("blobdescriptor: inmemory"), 24, "blobdescriptor: redis");
  config += "redis:\n  addr: " + redis.address() + "\n";
  const std::string repo = "cache/app";
  Content unreferenced = makeContent("uploaded, never referenced");
  {
    PierServer server(config);
    api::Client client(server.port());
    client.pushBlob(repo, unreferenced);
    ASSERT_EQ(client.head("/v2/" + repo + "/blobs/" + unreferenced.digest).status, 200);
    ASSERT_EQ(redis.command({"EXISTS", "blobs::" + unreferenced.digest}).integer, 1);
    ASSERT_EQ(server.stop(SIGTERM), 0);
  }
  auto result = collect({}, config);
  ASSERT_EQ(result.exitCode, 0) << result.output;
  EXPECT_EQ(eligibleBlobs(result.output), std::set<std::string>{unreferenced.digest}) << result.output;
  EXPECT_EQ(redis.command({"EXISTS", "blobs::" + unreferenced.digest}).integer, 0);

  PierServer server(config);
  EXPECT_EQ(httpRequest(server.port(), "HEAD", "/v2/" + repo + "/blobs/" + unreferenced.digest).status, 404);
  EXPECT_EQ(httpRequest(server.port(), "GET", "/v2/" + repo + "/blobs/" + unreferenced.digest).status, 404);
}

TEST_F(GarbageCollectTest, BadConfigExitsNonZeroNamingTheKey) {
  auto result =
      collect({}, "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: " + root.path().string() +
                      "\n  delete:\n    enabled: maybe\n");
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_TRUE(mentions(result.output, "storage.delete.enabled")) << result.output;

  auto unknownDriver = collect({}, "version: 0.1\nstorage:\n  nosuchdriver: {}\n");
  EXPECT_EQ(unknownDriver.exitCode, 1);
  EXPECT_TRUE(mentions(unknownDriver.output, "\"nosuchdriver\"")) << unknownDriver.output;

  auto missing = runPier({"garbage-collect", "/nonexistent/pier/config.yml"});
  EXPECT_EQ(missing.exitCode, 1);
  EXPECT_TRUE(mentions(missing.output, "/nonexistent/pier/config.yml")) << missing.output;

  auto noConfig = runPier({"garbage-collect", "--dry-run"});
  EXPECT_EQ(noConfig.exitCode, 2);
  EXPECT_TRUE(mentions(noConfig.output, "CONFIG")) << noConfig.output;

  auto unknownFlag = runPier({"garbage-collect", "--frobnicate", (dir / "config.yml").string()});
  EXPECT_EQ(unknownFlag.exitCode, 2);
  EXPECT_TRUE(mentions(unknownFlag.output, "--frobnicate")) << unknownFlag.output;
}

// A storage error while marking (here a manifest blob that cannot be read)
// stops it with a clear message before anything is deleted.
TEST_F(GarbageCollectTest, StorageErrorWhileMarkingDeletesNothing) {
  const std::string repo = "broken/app";
  Content config = makeContent(R"({"os":"linux"})");
  Content layer = makeContent("a layer");
  Content stray = makeContent("unreferenced");
  Content manifest =
      makeContent(imageManifest(mediatype::kOciManifest, descriptorJson(api::media::kOciConfig, config),
                                {descriptorJson(api::media::kOciLayer, layer)}));
  {
    PierServer server(filesystemConfig(root.path()));
    api::Client client(server.port());
    for (const auto* blob : {&config, &layer, &stray}) client.pushBlob(repo, *blob);
    client.pushManifest(repo, "v1", manifest.bytes, mediatype::kOciManifest);
    ASSERT_EQ(server.stop(SIGTERM), 0);
  }
  fs::path data = api::blobDataPath(root.path(), manifest.digest);
  fs::remove(data);
  fs::create_symlink("data", data); // a loop: reading it fails with ELOOP, not "not found"
  auto before = snapshot(root.path());
  auto result = collect({});
  EXPECT_EQ(result.exitCode, 1) << result.output;
  EXPECT_TRUE(mentions(result.output, "garbage-collect failed")) << result.output;
  EXPECT_EQ(snapshot(root.path()), before);
}

} // namespace
} // namespace pier::test
