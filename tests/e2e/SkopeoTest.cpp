// End to end with a real client: skopeo (Debian package) copies images built
// here as OCI image layouts on disk (two architectures and an OCI index over
// both) into Pier and back out, inspects them raw, lists tags, copies across
// repositories (mounting blobs) and deletes.
#include <csignal>
#include <filesystem>
#include <regex>

#include <gtest/gtest.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include "PierProcess.hpp"
#include "RegistryClient.hpp"
#include "SkopeoRunner.hpp"

namespace pier::test {
namespace {

namespace fs = std::filesystem;

std::string hexOf(const std::string& digest) {
  return digest.substr(digest.find(':') + 1);
}

// An OCI image layout (image-spec image-layout.md) holding an amd64 and an
// arm64 image and an index over both, named "amd64", "arm64" and "multi".
struct OciLayout {
  TestImage amd64 = makeTestImage("amd64", true, "hello from amd64\n");
  TestImage arm64 = makeTestImage("arm64", true, "hello from arm64\n");
  Blob index = makeTestIndex({amd64, arm64}, true);

  std::vector<const Blob*> blobs() const {
    return {&amd64.layer,  &amd64.config,   &amd64.manifest, &arm64.layer,
            &arm64.config, &arm64.manifest, &index};
  }

  void write(const fs::path& dir) const {
    writeFile(dir / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
    for (const Blob* blob : blobs()) writeFile(dir / "blobs/sha256" / hexOf(blob->digest), blob->content);
    auto entry = [](const Blob& blob, const std::string& name) {
      return R"({"mediaType":")" + blob.mediaType + R"(","digest":")" + blob.digest + R"(","size":)" +
             std::to_string(blob.content.size()) +
             R"(,"annotations":{"org.opencontainers.image.ref.name":")" + name + R"("}})";
    };
    writeFile(dir / "index.json", R"({"schemaVersion":2,"manifests":[)" + entry(amd64.manifest, "amd64") +
                                      "," + entry(arm64.manifest, "arm64") + "," + entry(index, "multi") +
                                      "]}");
  }
};

class E2eSkopeoTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (!Skopeo::available()) GTEST_SKIP() << kSkopeoBinary << " is not installed (Debian package skopeo)";
    skopeo = std::make_unique<Skopeo>();
    layoutDir = skopeo->home() / "layout";
    layout.write(layoutDir);
    server = std::make_unique<PierServer>(filesystemConfig(root.path()));
  }

  std::string oci(const std::string& name) const { return "oci:" + layoutDir.string() + ":" + name; }
  std::string pier(const std::string& nameAndReference) const {
    return dockerReference(server->port(), nameAndReference);
  }
  std::uint16_t port() const { return server->port(); }

  // skopeo copy that must succeed.
  void copy(const std::string& source, const std::string& destination,
            const std::vector<std::string>& options = {}) const {
    auto result = skopeo->copy(source, destination, options);
    ASSERT_EQ(result.exitCode, 0) << "skopeo copy " << source << " " << destination << "\n"
                                  << result.output << "\nserver log:\n"
                                  << server->log();
  }

  std::string inspectRaw(const std::string& reference, const std::vector<std::string>& options = {}) const {
    std::vector<std::string> args{"inspect", "--tls-verify=false", "--retry-times", "0", "--raw"};
    args.insert(args.end(), options.begin(), options.end());
    args.push_back(reference);
    auto result = skopeo->run(args);
    EXPECT_EQ(result.exitCode, 0) << "skopeo inspect --raw " << reference << "\n" << result.output;
    return result.output;
  }

  TempDir root;
  OciLayout layout;
  fs::path layoutDir;
  std::unique_ptr<Skopeo> skopeo;
  std::unique_ptr<PierServer> server;
};

TEST_F(E2eSkopeoTest, CopiesAnImageInAndInspectsTheExactBytes) {
  copy(oci("amd64"), pier("e2e/single:amd64"));
  // skopeo copies the manifest unchanged: what the registry serves is what the layout holds.
  EXPECT_EQ(inspectRaw(pier("e2e/single:amd64")), layout.amd64.manifest.content);
  EXPECT_EQ(inspectRaw(pier("e2e/single@" + layout.amd64.manifest.digest)), layout.amd64.manifest.content);
  EXPECT_EQ(inspectRaw(pier("e2e/single:amd64"), {"--config"}), layout.amd64.config.content);

  auto result =
      skopeo->run({"inspect", "--tls-verify=false", "--retry-times", "0", pier("e2e/single:amd64")});
  ASSERT_EQ(result.exitCode, 0) << result.output;
  auto inspected = parseJson(result.output);
  EXPECT_EQ(inspected->getValue<std::string>("Digest"), layout.amd64.manifest.digest);
  EXPECT_EQ(inspected->getValue<std::string>("Architecture"), "amd64");
  EXPECT_EQ(stringArray(inspected, "Layers"), std::vector<std::string>{layout.amd64.layer.digest});

  auto blob = httpRequest(port(), "GET", "/v2/e2e/single/blobs/" + layout.amd64.layer.digest);
  EXPECT_EQ(blob.status, 200);
  EXPECT_EQ(blob.body, layout.amd64.layer.content);
}

TEST_F(E2eSkopeoTest, CopiesAMultiArchitectureIndexWithAll) {
  copy(oci("multi"), pier("e2e/multi:latest"), {"--all"});
  EXPECT_EQ(inspectRaw(pier("e2e/multi:latest")), layout.index.content);
  for (const TestImage* image : {&layout.amd64, &layout.arm64}) {
    SCOPED_TRACE(image->architecture);
    EXPECT_EQ(inspectRaw(pier("e2e/multi@" + image->manifest.digest)), image->manifest.content);
    for (const Blob* blob : {&image->layer, &image->config}) {
      auto head = httpRequest(port(), "HEAD", "/v2/e2e/multi/blobs/" + blob->digest);
      EXPECT_EQ(head.status, 200) << blob->digest;
      EXPECT_EQ(head.header("Content-Length"), std::to_string(blob->content.size()));
    }
  }
  auto index = httpRequest(port(), "GET", "/v2/e2e/multi/manifests/latest", "",
                           {{"Accept", "application/vnd.oci.image.index.v1+json"}});
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.header("Content-Type"), "application/vnd.oci.image.index.v1+json");
  EXPECT_EQ(index.header("Docker-Content-Digest"), layout.index.digest);

  // A client choosing one platform out of the index gets that platform's image.
  auto result = skopeo->run({"--override-arch", "arm64", "--override-variant", "v8", "inspect",
                             "--tls-verify=false", "--retry-times", "0", pier("e2e/multi:latest")});
  ASSERT_EQ(result.exitCode, 0) << result.output;
  auto inspected = parseJson(result.output);
  EXPECT_EQ(inspected->getValue<std::string>("Digest"), layout.index.digest); // what the tag names
  EXPECT_EQ(inspected->getValue<std::string>("Architecture"), "arm64");
  EXPECT_EQ(stringArray(inspected, "Layers"), std::vector<std::string>{layout.arm64.layer.digest});
}

TEST_F(E2eSkopeoTest, ConvertsToDockerSchema2OnTheWayIn) {
  copy(oci("amd64"), pier("e2e/docker:v2s2"), {"--format", "v2s2"});
  std::string raw = inspectRaw(pier("e2e/docker:v2s2"));
  auto manifest = parseJson(raw);
  EXPECT_EQ(manifest->getValue<std::string>("mediaType"),
            "application/vnd.docker.distribution.manifest.v2+json");
  auto response = httpRequest(port(), "GET", "/v2/e2e/docker/manifests/v2s2", "",
                              {{"Accept", "application/vnd.docker.distribution.manifest.v2+json"}});
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.body, raw);
  EXPECT_EQ(response.header("Content-Type"), "application/vnd.docker.distribution.manifest.v2+json");
  EXPECT_EQ(response.header("Docker-Content-Digest"), sha256Digest(raw));
  // The layer's bytes are the same; only its media type changed.
  EXPECT_EQ(httpRequest(port(), "GET", "/v2/e2e/docker/blobs/" + layout.amd64.layer.digest).body,
            layout.amd64.layer.content);
}

TEST_F(E2eSkopeoTest, ListsTags) {
  for (const char* tag : {"v2", "v1", "latest", "1.0.0"})
    copy(oci("amd64"), pier(std::string("e2e/tags:") + tag));
  auto result = skopeo->run({"list-tags", "--tls-verify=false", "--retry-times", "0",
                             "docker://127.0.0.1:" + std::to_string(port()) + "/e2e/tags"});
  ASSERT_EQ(result.exitCode, 0) << result.output;
  auto listed = parseJson(result.output);
  EXPECT_EQ(listed->getValue<std::string>("Repository"), "127.0.0.1:" + std::to_string(port()) + "/e2e/tags");
  EXPECT_EQ(stringArray(listed, "Tags"), (std::vector<std::string>{"1.0.0", "latest", "v1", "v2"}));
}

TEST_F(E2eSkopeoTest, CrossRepositoryCopyMountsTheBlobs) {
  copy(oci("multi"), pier("e2e/source:latest"), {"--all"});
  copy(pier("e2e/source:latest"), pier("e2e/target:latest"), {"--all"});
  EXPECT_EQ(inspectRaw(pier("e2e/target:latest")), layout.index.content);

  // skopeo asked to mount each layer from e2e/source (POST ?mount=&from=) and Pier answered 201;
  // only the two configs were uploaded again (skopeo 1.9 never tries to reuse a config blob).
  std::string log = server->log();
  auto count = [&log](const std::string& pattern) {
    std::regex expression(pattern);
    return std::distance(std::sregex_iterator(log.begin(), log.end(), expression), std::sregex_iterator());
  };
  EXPECT_EQ(count(R"(method=POST path=/v2/e2e/target/blobs/uploads/ status=201)"), 2) << log;
  EXPECT_EQ(count(R"(method=PATCH path=/v2/e2e/target/blobs/uploads/)"), 2) << log;
  for (const TestImage* image : {&layout.amd64, &layout.arm64})
    EXPECT_EQ(log.find("method=GET path=/v2/e2e/source/blobs/" + image->layer.digest), std::string::npos)
        << "the layer was pulled to be pushed again instead of mounted\n"
        << log;

  for (const TestImage* image : {&layout.amd64, &layout.arm64}) {
    for (const Blob* blob : {&image->layer, &image->config}) {
      auto response = httpRequest(port(), "GET", "/v2/e2e/target/blobs/" + blob->digest);
      EXPECT_EQ(response.status, 200) << blob->digest;
      EXPECT_EQ(response.body, blob->content) << blob->digest;
      EXPECT_EQ(readFile(root.path() / "docker/registry/v2/repositories/e2e/target/_layers/sha256" /
                         hexOf(blob->digest) / "link"),
                blob->digest);
    }
  }
}

TEST_F(E2eSkopeoTest, CopiesBackOutToOciAndDirUnchanged) {
  copy(oci("multi"), pier("e2e/roundtrip:latest"), {"--all"});

  fs::path ociOut = skopeo->home() / "out-oci";
  copy(pier("e2e/roundtrip:latest"), "oci:" + ociOut.string() + ":latest", {"--all", "--preserve-digests"});
  for (const Blob* blob : layout.blobs())
    EXPECT_EQ(readFile(ociOut / "blobs/sha256" / hexOf(blob->digest)), blob->content) << blob->digest;
  auto index = parseJson(readFile(ociOut / "index.json"));
  auto manifests = index->getArray("manifests");
  ASSERT_TRUE(manifests && manifests->size() == 1) << readFile(ociOut / "index.json");
  EXPECT_EQ(manifests->getObject(0)->getValue<std::string>("digest"), layout.index.digest);

  fs::path dirOut = skopeo->home() / "out-dir";
  copy(pier("e2e/roundtrip@" + layout.arm64.manifest.digest), "dir:" + dirOut.string());
  EXPECT_EQ(readFile(dirOut / "manifest.json"), layout.arm64.manifest.content);
  EXPECT_EQ(readFile(dirOut / hexOf(layout.arm64.layer.digest)), layout.arm64.layer.content);
  EXPECT_EQ(readFile(dirOut / hexOf(layout.arm64.config.digest)), layout.arm64.config.content);
}

TEST_F(E2eSkopeoTest, DeleteRemovesTheManifest) {
  copy(oci("amd64"), pier("e2e/delete:doomed"));
  copy(oci("arm64"), pier("e2e/delete:kept"));
  ASSERT_EQ(httpRequest(port(), "GET", "/v2/e2e/delete/manifests/" + layout.amd64.manifest.digest).status,
            200);

  auto result =
      skopeo->run({"delete", "--tls-verify=false", "--retry-times", "0", pier("e2e/delete:doomed")});
  ASSERT_EQ(result.exitCode, 0) << result.output << "\nserver log:\n" << server->log();

  for (const std::string& reference : {layout.amd64.manifest.digest, std::string("doomed")}) {
    SCOPED_TRACE(reference);
    auto gone = httpRequest(port(), "GET", "/v2/e2e/delete/manifests/" + reference, "",
                            {{"Accept", layout.amd64.manifest.mediaType}});
    EXPECT_EQ(gone.status, 404);
    auto errors = parseJson(gone.body)->getArray("errors");
    ASSERT_TRUE(errors && errors->size() == 1) << gone.body;
    EXPECT_EQ(errors->getObject(0)->getValue<std::string>("code"), "MANIFEST_UNKNOWN") << gone.body;
  }
  // The other image and its tag are untouched.
  EXPECT_EQ(inspectRaw(pier("e2e/delete:kept")), layout.arm64.manifest.content);
  auto tags = httpRequest(port(), "GET", "/v2/e2e/delete/tags/list");
  ASSERT_EQ(tags.status, 200) << tags.body;
  EXPECT_EQ(stringArray(parseJson(tags.body), "tags"), std::vector<std::string>{"kept"});
  // And skopeo sees it gone.
  auto inspect = skopeo->run(
      {"inspect", "--tls-verify=false", "--retry-times", "0", "--raw", pier("e2e/delete:doomed")});
  EXPECT_NE(inspect.exitCode, 0) << inspect.output;
}

TEST_F(E2eSkopeoTest, CopiesAMultiArchitectureIndexOutThroughAPullThroughCache) {
  copy(oci("multi"), pier("library/multi:latest"), {"--all"});
  TempDir cacheRoot;
  PierServer cache(filesystemConfig(cacheRoot.path(), "proxy:\n  upstreams:\n    - prefix: hub/\n"
                                                      "      remoteurl: http://127.0.0.1:" +
                                                          std::to_string(port()) + "\n"));
  const std::string out = "dir:" + (skopeo->home() / "out").string();
  auto result = skopeo->copy(dockerReference(cache.port(), "hub/library/multi:latest"), out, {"--all"});
  ASSERT_EQ(result.exitCode, 0) << result.output << "\ncache log:\n" << cache.log();
  // dir: keeps blobs under their hex, the index as manifest.json and its images as <hex>.manifest.json.
  const fs::path dir = skopeo->home() / "out";
  EXPECT_EQ(readFile(dir / "manifest.json"), layout.index.content);
  for (const TestImage* image : {&layout.amd64, &layout.arm64}) {
    EXPECT_EQ(readFile(dir / (hexOf(image->manifest.digest) + ".manifest.json")), image->manifest.content);
    for (const Blob* blob : {&image->layer, &image->config})
      EXPECT_EQ(readFile(dir / hexOf(blob->digest)), blob->content) << blob->digest;
  }
  // Served again from the cache alone.
  ASSERT_EQ(server->stop(SIGTERM), 0);
  const std::string again = "dir:" + (skopeo->home() / "again").string();
  result = skopeo->copy(dockerReference(cache.port(), "hub/library/multi:latest"), again, {"--all"});
  ASSERT_EQ(result.exitCode, 0) << result.output << "\ncache log:\n" << cache.log();
  EXPECT_EQ(readFile(skopeo->home() / "again" / hexOf(layout.arm64.layer.digest)),
            layout.arm64.layer.content);
}

} // namespace
} // namespace pier::test
