// Pier and the CNCF Distribution registry (2.8, Debian package docker-registry)
// share one storage layout: a root written by either is served by the other,
// with real pushes and pulls over HTTP (and skopeo), and the link files the two
// write for the same content are the same bytes.
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include <gtest/gtest.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include "DistributionProcess.hpp"
#include "PierProcess.hpp"
#include "RegistryClient.hpp"
#include "SkopeoRunner.hpp"

namespace pier::test {
namespace {

namespace fs = std::filesystem;

const std::string kAcceptAll = "application/vnd.oci.image.index.v1+json, "
                               "application/vnd.oci.image.manifest.v1+json, "
                               "application/vnd.docker.distribution.manifest.list.v2+json, "
                               "application/vnd.docker.distribution.manifest.v2+json";

// What the tests push: two repositories (one with a Docker manifest list, one
// with an OCI index), each over two architectures, children by digest, the
// lists and one child by tag.
struct Repository {
  std::string name;
  std::vector<TestImage> images;
  Blob index;
  std::map<std::string, std::string> tags; // tag -> manifest digest
  // An OCI 1.1 artifact (artifactType, the empty config, a subject), pushed by
  // digest with its blobs. Distribution 2.8 stores it without knowing the
  // subject; Pier finds it as a referrer in either's root.
  std::vector<Blob> artifactBlobs;
  std::optional<Blob> artifact;
};

struct Content {
  std::vector<Repository> repositories;
};

Content makeContent() {
  Content content;
  for (bool oci : {false, true}) {
    Repository repository;
    repository.name = oci ? "oci/app" : "library/hello";
    for (const char* architecture : {"amd64", "arm64"})
      repository.images.push_back(
          makeTestImage(architecture, oci, "hello from " + repository.name + " on " + architecture + "\n"));
    repository.index = makeTestIndex(repository.images, oci);
    repository.tags[oci ? "v1" : "latest"] = repository.index.digest;
    repository.tags[oci ? "arm64" : "amd64"] = repository.images[oci ? 1 : 0].manifest.digest;
    if (oci) {
      Blob empty("{}", "application/vnd.oci.empty.v1+json");
      Blob sbom("{\"sbom\":\"of amd64\"}\n", "application/vnd.example.sbom.v1+json");
      const Blob& subject = repository.images[0].manifest;
      repository.artifact =
          Blob("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
               "\"artifactType\":\"application/vnd.example.sbom.v1\","
               "\"config\":{\"mediaType\":\"" +
                   empty.mediaType + "\",\"digest\":\"" + empty.digest +
                   "\",\"size\":2,\"data\":\"e30=\"},"
                   "\"layers\":[{\"mediaType\":\"" +
                   sbom.mediaType + "\",\"digest\":\"" + sbom.digest +
                   "\",\"size\":" + std::to_string(sbom.content.size()) +
                   "}],"
                   "\"subject\":{\"mediaType\":\"" +
                   subject.mediaType + "\",\"digest\":\"" + subject.digest +
                   "\",\"size\":" + std::to_string(subject.content.size()) +
                   "},"
                   "\"annotations\":{\"org.example.kind\":\"sbom\"}}",
               "application/vnd.oci.image.manifest.v1+json");
      repository.artifactBlobs = {empty, sbom};
    }
    content.repositories.push_back(std::move(repository));
  }
  return content;
}

const Blob& manifestOf(const Repository& repository, const std::string& digest) {
  if (repository.index.digest == digest) return repository.index;
  for (const auto& image : repository.images)
    if (image.manifest.digest == digest) return image.manifest;
  throw std::runtime_error("no manifest " + digest);
}

// Pushes everything: monolithic uploads into the first repository, chunked
// (PATCH with Content-Range) into the second.
void pushContent(std::uint16_t port, const Content& content) {
  std::size_t chunk = 0;
  for (const auto& repository : content.repositories) {
    for (const auto& image : repository.images)
      pushImage(port, repository.name, image, image.manifest.digest, chunk);
    for (const auto& blob : repository.artifactBlobs) pushBlobMonolithic(port, repository.name, blob);
    if (repository.artifact)
      pushManifest(port, repository.name, repository.artifact->digest, *repository.artifact);
    // Each tag points at another manifest first and is moved: both registries
    // keep a tag's history in _manifests/tags/<tag>/index.
    for (const auto& [tag, digest] : repository.tags)
      pushManifest(port, repository.name, tag, repository.images[1].manifest);
    for (const auto& [tag, digest] : repository.tags)
      pushManifest(port, repository.name, tag, manifestOf(repository, digest));
    chunk = 97; // a prime, so the last chunk is short
  }
}

void expectManifest(std::uint16_t port, const std::string& name, const std::string& reference,
                    const Blob& manifest) {
  SCOPED_TRACE("manifest " + name + ":" + reference);
  auto response =
      httpRequest(port, "GET", "/v2/" + name + "/manifests/" + reference, "", {{"Accept", kAcceptAll}});
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.body, manifest.content);
  EXPECT_EQ(response.header("Content-Type"), manifest.mediaType);
  EXPECT_EQ(response.header("Docker-Content-Digest"), manifest.digest);

  auto head =
      httpRequest(port, "HEAD", "/v2/" + name + "/manifests/" + reference, "", {{"Accept", kAcceptAll}});
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("Content-Type"), manifest.mediaType);
  EXPECT_EQ(head.header("Content-Length"), std::to_string(manifest.content.size()));
  EXPECT_EQ(head.header("Docker-Content-Digest"), manifest.digest);
}

void expectBlob(std::uint16_t port, const std::string& name, const Blob& blob) {
  SCOPED_TRACE("blob " + name + "@" + blob.digest);
  auto response = httpRequest(port, "GET", "/v2/" + name + "/blobs/" + blob.digest);
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.body, blob.content);
  EXPECT_EQ(response.header("Docker-Content-Digest"), blob.digest);
  auto head = httpRequest(port, "HEAD", "/v2/" + name + "/blobs/" + blob.digest);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("Content-Length"), std::to_string(blob.content.size()));
}

// Pulls everything back over HTTP and compares it with what was pushed.
enum class Server { pier, distribution };

void expectContent(std::uint16_t port, const Content& content, const std::string& what, Server server) {
  SCOPED_TRACE("served by " + what);
  ASSERT_EQ(httpRequest(port, "GET", "/v2/").status, 200);
  std::vector<std::string> names;
  for (const auto& repository : content.repositories) {
    names.push_back(repository.name);
    for (const auto& image : repository.images) {
      expectBlob(port, repository.name, image.layer);
      expectBlob(port, repository.name, image.config);
      expectManifest(port, repository.name, image.manifest.digest, image.manifest);
    }
    expectManifest(port, repository.name, repository.index.digest, repository.index);
    for (const auto& blob : repository.artifactBlobs) expectBlob(port, repository.name, blob);
    if (repository.artifact) {
      expectManifest(port, repository.name, repository.artifact->digest, *repository.artifact);
      if (server == Server::pier) { // Distribution 2.8 has no referrers API
        auto referrers = httpRequest(
            port, "GET", "/v2/" + repository.name + "/referrers/" + repository.images[0].manifest.digest);
        EXPECT_EQ(referrers.status, 200) << referrers.body;
        auto manifests = parseJson(referrers.body)->getArray("manifests");
        ASSERT_TRUE(manifests && manifests->size() == 1) << referrers.body;
        EXPECT_EQ(manifests->getObject(0)->getValue<std::string>("digest"), repository.artifact->digest);
        EXPECT_EQ(manifests->getObject(0)->getValue<std::string>("artifactType"),
                  "application/vnd.example.sbom.v1");
      }
    }
    std::vector<std::string> tags;
    for (const auto& [tag, digest] : repository.tags) {
      tags.push_back(tag);
      expectManifest(port, repository.name, tag, manifestOf(repository, digest));
    }
    auto list = httpRequest(port, "GET", "/v2/" + repository.name + "/tags/list");
    ASSERT_EQ(list.status, 200) << list.body;
    auto body = parseJson(list.body);
    EXPECT_EQ(body->getValue<std::string>("name"), repository.name);
    auto listed = stringArray(body, "tags");
    // Pier lists in lexical order (the OCI spec asks for it); Distribution 2.8 in directory order.
    if (server == Server::distribution) std::sort(listed.begin(), listed.end());
    EXPECT_EQ(listed, tags) << list.body; // std::map: lexical order

    // A blob of the other repository is not visible here.
    const auto& other = content.repositories.front().name == repository.name ? content.repositories.back()
                                                                             : content.repositories.front();
    auto foreign =
        httpRequest(port, "GET", "/v2/" + repository.name + "/blobs/" + other.images[0].layer.digest);
    EXPECT_EQ(foreign.status, 404) << foreign.body;
  }
  auto catalog = httpRequest(port, "GET", "/v2/_catalog");
  ASSERT_EQ(catalog.status, 200) << catalog.body;
  std::sort(names.begin(), names.end());
  EXPECT_EQ(stringArray(parseJson(catalog.body), "repositories"), names) << catalog.body;
}

// Pulls each repository's list with skopeo copy --all into a dir: and checks
// that every blob and manifest came out with the bytes pushed.
void expectSkopeoPull(std::uint16_t port, const Content& content, const std::string& server) {
  if (!Skopeo::available()) return;
  SCOPED_TRACE("skopeo pull from " + server);
  Skopeo skopeo;
  for (const auto& repository : content.repositories) {
    std::string tag;
    for (const auto& [name, digest] : repository.tags)
      if (digest == repository.index.digest && tag.empty()) tag = name;
    ASSERT_FALSE(tag.empty());
    fs::path out = skopeo.home() / ("pull-" + std::to_string(port) + "-" + tag);
    auto result = skopeo.copy(dockerReference(port, repository.name + ":" + tag), "dir:" + out.string(),
                              {"--all", "--preserve-digests"});
    ASSERT_EQ(result.exitCode, 0) << result.output;
    EXPECT_EQ(readFile(out / "manifest.json"), repository.index.content);
    for (const auto& image : repository.images) {
      EXPECT_EQ(readFile(out / image.layer.digest.substr(7)), image.layer.content) << image.layer.digest;
      EXPECT_EQ(readFile(out / image.config.digest.substr(7)), image.config.content) << image.config.digest;
      EXPECT_EQ(readFile(out / (image.manifest.digest.substr(7) + ".manifest.json")), image.manifest.content)
          << image.manifest.digest;
    }
  }
}

// Every regular file under root/docker/registry/v2 by relative path, and every
// directory (path ending in "/"), except uploads.
std::map<std::string, std::string> storedFiles(const fs::path& root) {
  std::map<std::string, std::string> files;
  fs::path base = root / "docker/registry/v2";
  if (!fs::exists(base)) return files;
  for (auto it = fs::recursive_directory_iterator(base); it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_directory() && it->path().filename() == "_uploads") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) files[fs::relative(it->path(), base).string()] = readFile(it->path());
    if (it->is_directory()) files[fs::relative(it->path(), base).string() + "/"] = "(directory)";
  }
  return files;
}

class InteropTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (!DistributionServer::available())
      GTEST_SKIP() << kDistributionBinary << " is not installed (Debian package docker-registry)";
  }
  Content content = makeContent();
};

TEST_F(InteropTest, RootWrittenByDistributionIsServedByPier) {
  TempDir root;
  {
    DistributionServer distribution(root.path());
    ASSERT_NO_THROW(pushContent(distribution.port(), content)) << distribution.log();
    expectContent(distribution.port(), content, "distribution", Server::distribution); // the test's own check
    EXPECT_EQ(distribution.stop(), 0) << distribution.log();
  }
  auto written = storedFiles(root.path());
  {
    PierServer pier(filesystemConfig(root.path()));
    expectContent(pier.port(), content, "pier", Server::pier);
    expectSkopeoPull(pier.port(), content, "pier");
    // Serving changed nothing on disk.
    EXPECT_EQ(storedFiles(root.path()), written);

    // And Pier writes on into the same root: one more tag, read back by Distribution below.
    pushManifest(pier.port(), "oci/app", "again", content.repositories[1].index);
    pier.stop(SIGTERM);
  }
  content.repositories[1].tags["again"] = content.repositories[1].index.digest;
  DistributionServer distribution(root.path());
  expectContent(distribution.port(), content, "distribution after pier", Server::distribution);
}

TEST_F(InteropTest, RootWrittenByPierIsServedByDistribution) {
  TempDir root;
  {
    PierServer pier(filesystemConfig(root.path()));
    ASSERT_NO_THROW(pushContent(pier.port(), content)) << pier.log();
    expectContent(pier.port(), content, "pier", Server::pier);
    EXPECT_EQ(pier.stop(SIGTERM), 0) << pier.log();
  }
  auto written = storedFiles(root.path());
  {
    DistributionServer distribution(root.path());
    expectContent(distribution.port(), content, "distribution", Server::distribution);
    expectSkopeoPull(distribution.port(), content, "distribution");
    EXPECT_EQ(storedFiles(root.path()), written);
    pushManifest(distribution.port(), "library/hello", "again", content.repositories[0].index);
    distribution.stop();
  }
  content.repositories[0].tags["again"] = content.repositories[0].index.digest;
  PierServer pier(filesystemConfig(root.path()));
  expectContent(pier.port(), content, "pier after distribution", Server::pier);
}

TEST_F(InteropTest, SameContentGivesTheSameFilesByteForByte) {
  TempDir distributionRoot, pierRoot;
  {
    DistributionServer distribution(distributionRoot.path());
    ASSERT_NO_THROW(pushContent(distribution.port(), content)) << distribution.log();
    distribution.stop();
  }
  {
    PierServer pier(filesystemConfig(pierRoot.path()));
    ASSERT_NO_THROW(pushContent(pier.port(), content)) << pier.log();
    pier.stop(SIGTERM);
  }
  auto expected = storedFiles(distributionRoot.path());
  auto actual = storedFiles(pierRoot.path());
  ASSERT_FALSE(expected.empty());

  std::set<std::string> links;
  for (const auto& [path, data] : expected) {
    if (path.size() > 5 && path.substr(path.size() - 5) == "/link") links.insert(path);
    auto found = actual.find(path);
    if (found == actual.end()) {
      ADD_FAILURE() << "Pier did not write " << path << " (Distribution wrote \"" << data << "\")";
      continue;
    }
    EXPECT_EQ(found->second, data) << path;
  }
  for (const auto& [path, data] : actual)
    EXPECT_TRUE(expected.count(path)) << "Pier wrote " << path << " which Distribution does not";

  // Spot checks of the layout itself: what a link holds.
  const auto& hello = content.repositories[0];
  std::string repository = "repositories/library/hello/";
  std::string layer = hello.images[0].layer.digest;
  EXPECT_EQ(actual[repository + "_layers/sha256/" + layer.substr(7) + "/link"], layer);
  EXPECT_EQ(actual[repository + "_manifests/revisions/sha256/" + hello.index.digest.substr(7) + "/link"],
            hello.index.digest);
  EXPECT_EQ(actual[repository + "_manifests/tags/latest/current/link"], hello.index.digest);
  EXPECT_EQ(
      actual[repository + "_manifests/tags/latest/index/sha256/" + hello.index.digest.substr(7) + "/link"],
      hello.index.digest);
  EXPECT_EQ(actual["blobs/sha256/" + layer.substr(7, 2) + "/" + layer.substr(7) + "/data"],
            hello.images[0].layer.content);
  EXPECT_GE(links.size(), 20u);
}

// Deletes through the API: a manifest by digest (with the tag pointing at it)
// and a blob.
void deleteSome(std::uint16_t port, const Content& content) {
  const auto& hello = content.repositories[0];
  const auto& app = content.repositories[1];
  auto manifest = httpRequest(port, "DELETE", "/v2/" + app.name + "/manifests/" + app.index.digest);
  EXPECT_EQ(manifest.status, 202) << manifest.body;
  auto blob = httpRequest(port, "DELETE", "/v2/" + hello.name + "/blobs/" + hello.images[1].config.digest);
  EXPECT_EQ(blob.status, 202) << blob.body;
}

void expectDeleted(std::uint16_t port, const Content& content, const std::string& server) {
  SCOPED_TRACE("served by " + server);
  const auto& hello = content.repositories[0];
  const auto& app = content.repositories[1];
  auto manifest = httpRequest(port, "GET", "/v2/" + app.name + "/manifests/" + app.index.digest, "",
                              {{"Accept", kAcceptAll}});
  EXPECT_EQ(manifest.status, 404) << manifest.body;
  EXPECT_NE(manifest.body.find("MANIFEST_UNKNOWN"), std::string::npos) << manifest.body;
  auto tag = httpRequest(port, "GET", "/v2/" + app.name + "/manifests/v1", "", {{"Accept", kAcceptAll}});
  EXPECT_EQ(tag.status, 404) << tag.body;
  auto tags = httpRequest(port, "GET", "/v2/" + app.name + "/tags/list");
  EXPECT_EQ(stringArray(parseJson(tags.body), "tags"), std::vector<std::string>{"arm64"}) << tags.body;
  expectManifest(port, app.name, "arm64", app.images[1].manifest);
  auto blob = httpRequest(port, "GET", "/v2/" + hello.name + "/blobs/" + hello.images[1].config.digest);
  EXPECT_EQ(blob.status, 404) << blob.body;
  EXPECT_NE(blob.body.find("BLOB_UNKNOWN"), std::string::npos) << blob.body;
  expectBlob(port, hello.name, hello.images[1].layer);
}

TEST_F(InteropTest, DeletesLeaveTheSameFilesAndAreSeenByTheOther) {
  TempDir distributionRoot, pierRoot;
  {
    DistributionServer distribution(distributionRoot.path());
    ASSERT_NO_THROW(pushContent(distribution.port(), content)) << distribution.log();
    deleteSome(distribution.port(), content);
    expectDeleted(distribution.port(), content, "distribution");
    distribution.stop();
  }
  {
    PierServer pier(filesystemConfig(pierRoot.path()));
    ASSERT_NO_THROW(pushContent(pier.port(), content)) << pier.log();
    deleteSome(pier.port(), content);
    expectDeleted(pier.port(), content, "pier");
    pier.stop(SIGTERM);
  }
  // Files only: Distribution 2.8 deletes a link file and leaves its directory
  // empty; Pier removes the directory too. Each reads the other's way.
  auto filesOnly = [](std::map<std::string, std::string> files) {
    std::erase_if(files, [](const auto& entry) { return entry.first.back() == '/'; });
    return files;
  };
  auto expected = filesOnly(storedFiles(distributionRoot.path()));
  auto actual = filesOnly(storedFiles(pierRoot.path()));
  for (const auto& [path, data] : expected) {
    auto found = actual.find(path);
    if (found == actual.end())
      ADD_FAILURE() << "after the deletes, Pier has no " << path << " where Distribution has \"" << data
                    << "\"";
    else
      EXPECT_EQ(found->second, data) << path;
  }
  for (const auto& [path, data] : actual)
    EXPECT_TRUE(expected.count(path))
        << "after the deletes, Pier has " << path << " which Distribution removed";

  // Each serves the other's root after the deletes the same way.
  {
    PierServer pier(filesystemConfig(distributionRoot.path()));
    expectDeleted(pier.port(), content, "pier on distribution's root");
    // Revisions left as empty directories are no manifests: the referrers scan skips them.
    const auto& app = content.repositories[1];
    auto referrers =
        httpRequest(pier.port(), "GET", "/v2/" + app.name + "/referrers/" + app.images[0].manifest.digest);
    EXPECT_EQ(referrers.status, 200) << referrers.body;
    EXPECT_NE(referrers.body.find(app.artifact->digest), std::string::npos) << referrers.body;
  }
  DistributionServer distribution(pierRoot.path());
  expectDeleted(distribution.port(), content, "distribution on pier's root");
}

// An upload Distribution started (its _uploads/<uuid>/{data,startedat,hashstates})
// is finished by Pier after the switch, at the Location Distribution gave.
TEST_F(InteropTest, UploadStartedOnDistributionIsFinishedByPier) {
  TempDir root;
  const std::string name = "moving/upload";
  Blob blob(std::string(300000, 'x') + "the end", "application/octet-stream");
  const std::size_t half = 150000;
  std::string location;
  {
    DistributionServer distribution(root.path());
    auto started = httpRequest(distribution.port(), "POST", "/v2/" + name + "/blobs/uploads/");
    ASSERT_EQ(started.status, 202) << started.body;
    auto patched = httpRequest(
        distribution.port(), "PATCH", locationTarget(started.header("Location")),
        blob.content.substr(0, half),
        {{"Content-Type", "application/octet-stream"}, {"Content-Range", "0-" + std::to_string(half - 1)}});
    ASSERT_EQ(patched.status, 202) << patched.body;
    location = locationTarget(patched.header("Location")); // /v2/<name>/blobs/uploads/<uuid>?_state=…
    distribution.stop();
  }
  PierServer pier(filesystemConfig(root.path()));
  auto status = httpRequest(pier.port(), "GET", location);
  EXPECT_EQ(status.status, 204) << status.body;
  ASSERT_EQ(status.header("Range"), "0-" + std::to_string(half - 1))
      << "Pier must see the bytes Distribution wrote to _uploads/<uuid>/data";
  auto patched = httpRequest(pier.port(), "PATCH", location, blob.content.substr(half),
                             {{"Content-Type", "application/octet-stream"}});
  ASSERT_EQ(patched.status, 202) << "Pier must continue from Distribution's hash state (Go's sha256 format): "
                                 << patched.body;
  EXPECT_EQ(patched.header("Range"), "0-" + std::to_string(blob.content.size() - 1));
  std::string target = locationTarget(patched.header("Location"));
  auto finished =
      httpRequest(pier.port(), "PUT",
                  target + (target.find('?') == std::string::npos ? "?" : "&") + "digest=" + blob.digest);
  ASSERT_EQ(finished.status, 201) << finished.body;
  expectBlob(pier.port(), name, blob);
}

} // namespace
} // namespace pier::test
