// Manifests over real HTTP: PUT, GET, HEAD and DELETE by tag and by digest for
// Docker schema2, Docker manifest lists, OCI manifests, OCI indexes and
// artifacts; references that must exist; the errors of each.
#include <csignal>
#include <sstream>

#include <gtest/gtest.h>

#include "ApiClient.hpp"

namespace pier::test::api {
namespace {

const std::string kRepo = "library/app";

class ApiManifestTest : public ::testing::Test {
protected:
  void SetUp() override {
    for (const auto* blob : {&dockerConfig, &ociConfig, &emptyConfig, &layer1, &layer2})
      client.pushBlob(kRepo, *blob);
  }

  std::string dockerManifest() const {
    return imageManifest(
        mediatype::kDockerManifest, descriptorJson(media::kDockerConfig, dockerConfig),
        {descriptorJson(media::kDockerLayer, layer1), descriptorJson(media::kDockerLayer, layer2)});
  }
  std::string ociManifest(const std::string& extra = {}) const {
    return imageManifest(mediatype::kOciManifest, descriptorJson(media::kOciConfig, ociConfig),
                         {descriptorJson(media::kOciLayer, layer1)}, extra);
  }
  std::string manifestPath(const std::string& reference, const std::string& repo = kRepo) const {
    return "/v2/" + repo + "/manifests/" + reference;
  }

  // GET and HEAD of the reference answer exactly these bytes, this type and this digest.
  void expectServed(const std::string& reference, const std::string& bytes, std::string_view contentType,
                    const Client& by) {
    SCOPED_TRACE(reference);
    auto got = by.get(manifestPath(reference));
    EXPECT_EQ(got.status, 200);
    EXPECT_EQ(got.body, bytes);
    EXPECT_EQ(got.header("Content-Type"), contentType);
    EXPECT_EQ(got.header("Docker-Content-Digest"), sha256Of(bytes));
    EXPECT_EQ(got.header("Content-Length"), std::to_string(bytes.size()));
    auto head = by.head(manifestPath(reference));
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.header("Content-Type"), contentType);
    EXPECT_EQ(head.header("Docker-Content-Digest"), sha256Of(bytes));
    EXPECT_EQ(head.header("Content-Length"), std::to_string(bytes.size()));
    EXPECT_TRUE(head.body.empty());
  }
  void expectServed(const std::string& reference, const std::string& bytes, std::string_view contentType) {
    expectServed(reference, bytes, contentType, client);
  }

  TempDir root;
  PierServer server{filesystemConfig(root.path())};
  Client client{server.port()};
  Content dockerConfig =
      makeContent("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\"}}");
  Content ociConfig = makeContent("{\"architecture\":\"arm64\",\"os\":\"linux\"}");
  Content emptyConfig = makeContent("{}");
  Content layer1 = makeContent("layer one bytes");
  Content layer2 = makeContent("layer two bytes");
};

TEST_F(ApiManifestTest, DockerSchema2ByTagAndByDigest) {
  std::string body = dockerManifest();
  auto put = client.putManifest(kRepo, "v1", body, mediatype::kDockerManifest);
  ASSERT_EQ(put.status, 201) << put.body;
  std::string digest = sha256Of(body);
  EXPECT_EQ(put.header("Docker-Content-Digest"), digest);
  EXPECT_EQ(put.header("Location"), manifestPath(digest));
  EXPECT_EQ(put.header("Content-Length"), "0");
  EXPECT_EQ(put.header("OCI-Subject"), "");
  expectServed("v1", body, mediatype::kDockerManifest);
  expectServed(digest, body, mediatype::kDockerManifest);
}

TEST_F(ApiManifestTest, OciManifestKeepsItsExactBytes) {
  // Unusual whitespace and key order: the digest is of these bytes, and these bytes come back.
  std::string body = "{\n\t\"layers\" : [ " + descriptorJson(media::kOciLayer, layer2) +
                     " ],\r\n  \"config\":" + descriptorJson(media::kOciConfig, ociConfig) +
                     ",\"schemaVersion\":  2 ,\"annotations\":{\"org.example\":\"\\u00e9t\\u00e9\"}\n}\n\n";
  auto put = client.putManifest(kRepo, "latest", body, mediatype::kOciManifest);
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(put.header("Docker-Content-Digest"), sha256Of(body));
  expectServed("latest", body, mediatype::kOciManifest);
  expectServed(sha256Of(body), body, mediatype::kOciManifest);
  EXPECT_EQ(readFile(blobDataPath(root.path(), sha256Of(body))), body);
}

TEST_F(ApiManifestTest, DockerManifestListWithItsChildren) {
  std::string amd64 = dockerManifest();
  std::string arm64 =
      imageManifest(mediatype::kDockerManifest, descriptorJson(media::kDockerConfig, ociConfig),
                    {descriptorJson(media::kDockerLayer, layer2)});
  std::string amd64Digest = client.pushManifest(kRepo, sha256Of(amd64), amd64, mediatype::kDockerManifest);
  std::string arm64Digest = client.pushManifest(kRepo, sha256Of(arm64), arm64, mediatype::kDockerManifest);
  std::string list = indexManifest(
      mediatype::kDockerManifestList,
      {descriptorJson(mediatype::kDockerManifest, amd64Digest, amd64.size(), platformField("amd64")),
       descriptorJson(mediatype::kDockerManifest, arm64Digest, arm64.size(), platformField("arm64"))});
  auto put = client.putManifest(kRepo, "multi", list, mediatype::kDockerManifestList);
  ASSERT_EQ(put.status, 201) << put.body;
  expectServed("multi", list, mediatype::kDockerManifestList);
  expectServed(sha256Of(list), list, mediatype::kDockerManifestList);
  expectServed(amd64Digest, amd64, mediatype::kDockerManifest);
}

TEST_F(ApiManifestTest, OciIndexWithItsChildren) {
  std::string child = ociManifest();
  std::string childDigest = client.pushManifest(kRepo, "child", child, mediatype::kOciManifest);
  std::string index = indexManifest(
      mediatype::kOciIndex,
      {descriptorJson(mediatype::kOciManifest, childDigest, child.size(), platformField("arm64"))},
      ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"x\"}");
  auto put = client.putManifest(kRepo, "index", index, mediatype::kOciIndex);
  ASSERT_EQ(put.status, 201) << put.body;
  expectServed("index", index, mediatype::kOciIndex);
  expectServed(sha256Of(index), index, mediatype::kOciIndex);
}

TEST_F(ApiManifestTest, ArtifactWithEmptyConfigAndSubject) {
  std::string subject = ociManifest();
  std::string subjectDigest = client.pushManifest(kRepo, "image", subject, mediatype::kOciManifest);
  std::string artifact =
      imageManifest(mediatype::kOciManifest, descriptorJson(mediatype::kOciEmpty, emptyConfig),
                    {descriptorJson("application/vnd.example.sbom", layer2)},
                    ",\"artifactType\":\"application/vnd.example.sbom\",\"subject\":" +
                        descriptorJson(mediatype::kOciManifest, subjectDigest, subject.size()));
  auto put = client.putManifest(kRepo, sha256Of(artifact), artifact, mediatype::kOciManifest);
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(put.header("OCI-Subject"), subjectDigest);
  expectServed(sha256Of(artifact), artifact, mediatype::kOciManifest);

  // An index may have a subject too; and the subject need not exist yet.
  std::string missingSubject = sha256Of("a manifest pushed later");
  std::string index = indexManifest(mediatype::kOciIndex,
                                    {descriptorJson(mediatype::kOciManifest, subjectDigest, subject.size())},
                                    ",\"artifactType\":\"application/vnd.example.set\",\"subject\":" +
                                        descriptorJson(mediatype::kOciManifest, missingSubject, 10));
  put = client.putManifest(kRepo, "set", index, mediatype::kOciIndex);
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(put.header("OCI-Subject"), missingSubject);
}

TEST_F(ApiManifestTest, EmptyConfigWithoutArtifactTypeIsInvalid) {
  std::string artifact =
      imageManifest(mediatype::kOciManifest, descriptorJson(mediatype::kOciEmpty, emptyConfig), {});
  EXPECT_TRUE(
      isError(client.putManifest(kRepo, "bad", artifact, mediatype::kOciManifest), 400, "MANIFEST_INVALID"));
}

TEST_F(ApiManifestTest, PutByDigest) {
  std::string body = ociManifest();
  std::string digest = sha256Of(body);
  auto put = client.putManifest(kRepo, digest, body, mediatype::kOciManifest);
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(put.header("Docker-Content-Digest"), digest);
  EXPECT_EQ(put.header("Location"), manifestPath(digest));
  expectServed(digest, body, mediatype::kOciManifest);
  // No tag was made.
  EXPECT_TRUE(isError(client.get("/v2/" + kRepo + "/tags/list"), 404, "NAME_UNKNOWN"));
}

TEST_F(ApiManifestTest, PutByWrongDigestIsDigestInvalid) {
  std::string body = ociManifest();
  std::string wrong = sha256Of(body + " ");
  EXPECT_TRUE(
      isError(client.putManifest(kRepo, wrong, body, mediatype::kOciManifest), 400, "DIGEST_INVALID"));
  EXPECT_TRUE(isError(client.get(manifestPath(wrong)), 404, "MANIFEST_UNKNOWN"));
  EXPECT_TRUE(isError(client.get(manifestPath(sha256Of(body))), 404, "MANIFEST_UNKNOWN"));
  EXPECT_FALSE(std::filesystem::exists(blobDataPath(root.path(), sha256Of(body))));
}

TEST_F(ApiManifestTest, PutBySha512Digest) {
  std::string body = ociManifest();
  std::string digest = sha512Of(body);
  auto put = client.putManifest(kRepo, digest, body, mediatype::kOciManifest);
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(put.header("Docker-Content-Digest"), digest);
  auto got = client.get(manifestPath(digest));
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, body);
  EXPECT_EQ(got.header("Docker-Content-Digest"), digest);
  EXPECT_TRUE(isError(client.putManifest(kRepo, sha512Of(body + "x"), body, mediatype::kOciManifest), 400,
                      "DIGEST_INVALID"));
}

TEST_F(ApiManifestTest, MissingReferencedBlobsAreManifestBlobUnknown) {
  Content absentConfig = makeContent("{\"absent\":true}");
  Content absentLayer = makeContent("absent layer");
  std::string body = imageManifest(
      mediatype::kOciManifest, descriptorJson(media::kOciConfig, absentConfig),
      {descriptorJson(media::kOciLayer, layer1), descriptorJson(media::kOciLayer, absentLayer)});
  auto put = client.putManifest(kRepo, "broken", body, mediatype::kOciManifest);
  EXPECT_TRUE(isError(put, 400, "MANIFEST_BLOB_UNKNOWN"));
  auto errors = parseJson(put.body)->getArray("errors");
  ASSERT_EQ(errors->size(), 2u) << put.body;
  EXPECT_EQ(errors->getObject(0)->getValue<std::string>("detail"), absentConfig.digest);
  EXPECT_EQ(errors->getObject(1)->getValue<std::string>("detail"), absentLayer.digest);
  EXPECT_TRUE(isError(client.get(manifestPath("broken")), 404, "MANIFEST_UNKNOWN"));

  // Docker schema2 the same way.
  std::string docker =
      imageManifest(mediatype::kDockerManifest, descriptorJson(media::kDockerConfig, dockerConfig),
                    {descriptorJson(media::kDockerLayer, absentLayer)});
  EXPECT_TRUE(isError(client.putManifest(kRepo, "broken", docker, mediatype::kDockerManifest), 400,
                      "MANIFEST_BLOB_UNKNOWN"));
}

TEST_F(ApiManifestTest, BlobsOfAnotherRepositoryDoNotCount) {
  Content elsewhere = makeContent("only in another repository");
  client.pushBlob("library/other", elsewhere);
  std::string body = imageManifest(mediatype::kOciManifest, descriptorJson(media::kOciConfig, ociConfig),
                                   {descriptorJson(media::kOciLayer, elsewhere)});
  EXPECT_TRUE(
      isError(client.putManifest(kRepo, "x", body, mediatype::kOciManifest), 400, "MANIFEST_BLOB_UNKNOWN"));
  // A layer with urls (foreign) need not be in the registry.
  std::string foreign =
      imageManifest(mediatype::kDockerManifest, descriptorJson(media::kDockerConfig, dockerConfig),
                    {descriptorJson("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                                    sha256Of("foreign"), 7, ",\"urls\":[\"https://example.com/layer\"]")});
  EXPECT_EQ(client.putManifest(kRepo, "foreign", foreign, mediatype::kDockerManifest).status, 201);
}

TEST_F(ApiManifestTest, IndexWithAMissingChildIsManifestBlobUnknown) {
  std::string child = ociManifest();
  std::string present = client.pushManifest(kRepo, "present", child, mediatype::kOciManifest);
  std::string absent = sha256Of("no such manifest");
  std::string index =
      indexManifest(mediatype::kOciIndex, {descriptorJson(mediatype::kOciManifest, present, child.size()),
                                           descriptorJson(mediatype::kOciManifest, absent, 100)});
  auto put = client.putManifest(kRepo, "index", index, mediatype::kOciIndex);
  EXPECT_TRUE(isError(put, 400, "MANIFEST_BLOB_UNKNOWN"));
  EXPECT_NE(put.body.find(absent), std::string::npos) << put.body;

  std::string list =
      indexManifest(mediatype::kDockerManifestList,
                    {descriptorJson(mediatype::kDockerManifest, absent, 100, platformField("amd64"))});
  EXPECT_TRUE(isError(client.putManifest(kRepo, "list", list, mediatype::kDockerManifestList), 400,
                      "MANIFEST_BLOB_UNKNOWN"));
  // A child that is a blob of the repository but not a manifest of it does not count either.
  std::string blobChild =
      indexManifest(mediatype::kOciIndex, {descriptorJson(mediatype::kOciManifest, layer1)});
  EXPECT_TRUE(isError(client.putManifest(kRepo, "index", blobChild, mediatype::kOciIndex), 400,
                      "MANIFEST_BLOB_UNKNOWN"));
}

TEST_F(ApiManifestTest, PayloadOver4MiBIsRefused) {
  constexpr std::size_t kLimit = 4 * 1024 * 1024;
  std::string base = ociManifest(",\"annotations\":{\"pad\":\"\"}");
  std::string atLimit = base;
  atLimit.insert(atLimit.size() - 3, std::string(kLimit - base.size(), 'p'));
  ASSERT_EQ(atLimit.size(), kLimit);
  EXPECT_EQ(client.putManifest(kRepo, "big", atLimit, mediatype::kOciManifest).status, 201);

  // One byte more is refused, whether the size is declared or the body is chunked.
  std::string over = atLimit;
  over.insert(over.size() - 3, "p");
  const std::string head =
      "PUT " + manifestPath("bigger") +
      " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + std::string(mediatype::kOciManifest) + "\r\n";
  auto declared =
      rawRequest(server.port(), head + "Content-Length: " + std::to_string(over.size()) + "\r\n\r\n" + over);
  EXPECT_TRUE(isError(declared, 400, "MANIFEST_INVALID"));
  EXPECT_EQ(declared.header("Docker-Distribution-API-Version"), "registry/2.0");
  std::ostringstream chunkSize;
  chunkSize << std::hex << over.size();
  auto chunked = rawRequest(server.port(), head + "Transfer-Encoding: chunked\r\n\r\n" + chunkSize.str() +
                                               "\r\n" + over + "\r\n0\r\n\r\n");
  EXPECT_TRUE(isError(chunked, 400, "MANIFEST_INVALID"));
  EXPECT_TRUE(isError(client.get(manifestPath("bigger")), 404, "MANIFEST_UNKNOWN"));

  // A huge declared size is refused on the Content-Length alone, without reading the body.
  auto huge =
      rawRequest(server.port(), head + "Content-Length: 1073741824\r\n\r\n" + std::string(65536, '{'));
  EXPECT_TRUE(isError(huge, 400, "MANIFEST_INVALID"));
  EXPECT_EQ(client.get("/v2/").status, 200);
}

TEST_F(ApiManifestTest, Schema1IsManifestInvalid) {
  std::string schema1 =
      "{\"schemaVersion\":1,\"name\":\"library/app\",\"tag\":\"old\",\"architecture\":\"amd64\","
      "\"fsLayers\":[{\"blobSum\":\"" +
      layer1.digest + "\"}],\"history\":[{\"v1Compatibility\":\"{}\"}]}";
  for (const std::string& type : std::vector<std::string>{
           "application/vnd.docker.distribution.manifest.v1+prettyjws",
           "application/vnd.docker.distribution.manifest.v1+json", "application/json", ""}) {
    SCOPED_TRACE(type);
    auto put = client.putManifest(kRepo, "old", schema1, type);
    EXPECT_TRUE(isError(put, 400, "MANIFEST_INVALID"));
    EXPECT_NE(put.body.find("schema1"), std::string::npos) << put.body;
  }
  EXPECT_TRUE(isError(client.get(manifestPath("old")), 404, "MANIFEST_UNKNOWN"));
}

TEST_F(ApiManifestTest, MalformedManifestsAreManifestInvalid) {
  const std::vector<std::string> bodies{
      "", "not json", "[]", "{\"schemaVersion\":2", "{\"schemaVersion\":3,\"config\":{},\"layers\":[]}",
      imageManifest(mediatype::kOciManifest, "{\"mediaType\":\"x\",\"digest\":\"sha256:1\",\"size\":1}", {}),
      // mediaType field and Content-Type disagree
      dockerManifest()};
  for (const auto& body : bodies) {
    SCOPED_TRACE(body);
    EXPECT_TRUE(
        isError(client.putManifest(kRepo, "bad", body, mediatype::kOciManifest), 400, "MANIFEST_INVALID"));
  }
  EXPECT_TRUE(isError(client.get(manifestPath("bad")), 404, "MANIFEST_UNKNOWN"));
}

TEST_F(ApiManifestTest, ATagMovesToTheLatestPut) {
  std::string first = ociManifest();
  std::string second = dockerManifest();
  std::string firstDigest = client.pushManifest(kRepo, "latest", first, mediatype::kOciManifest);
  std::string secondDigest = client.pushManifest(kRepo, "latest", second, mediatype::kDockerManifest);
  expectServed("latest", second, mediatype::kDockerManifest);
  expectServed(firstDigest, first, mediatype::kOciManifest);
  auto tag = repositoryPath(root.path(), kRepo) / "_manifests/tags/latest";
  EXPECT_EQ(readFile(tag / "current/link"), secondDigest);
  EXPECT_TRUE(std::filesystem::exists(tag / "index/sha256" / firstDigest.substr(7) / "link"));
  EXPECT_TRUE(std::filesystem::exists(tag / "index/sha256" / secondDigest.substr(7) / "link"));
}

TEST_F(ApiManifestTest, DeleteByDigestRemovesTheTagsPointingAtIt) {
  std::string body = ociManifest();
  std::string digest = client.pushManifest(kRepo, "a", body, mediatype::kOciManifest);
  client.pushManifest(kRepo, "b", body, mediatype::kOciManifest);
  std::string other = client.pushManifest(kRepo, "c", dockerManifest(), mediatype::kDockerManifest);

  auto deleted = client.del(manifestPath(digest));
  EXPECT_EQ(deleted.status, 202);
  EXPECT_TRUE(isError(client.get(manifestPath(digest)), 404, "MANIFEST_UNKNOWN"));
  EXPECT_EQ(client.head(manifestPath(digest)).status, 404);
  EXPECT_TRUE(isError(client.get(manifestPath("a")), 404, "MANIFEST_UNKNOWN"));
  EXPECT_TRUE(isError(client.get(manifestPath("b")), 404, "MANIFEST_UNKNOWN"));
  EXPECT_EQ(client.get(manifestPath("c")).status, 200);
  EXPECT_EQ(client.get(manifestPath(other)).status, 200);
  auto tags = parseJson(client.get("/v2/" + kRepo + "/tags/list").body)->getArray("tags");
  ASSERT_EQ(tags->size(), 1u);
  EXPECT_EQ(tags->getElement<std::string>(0), "c");
  EXPECT_TRUE(isError(client.del(manifestPath(digest)), 404, "MANIFEST_UNKNOWN"));

  // It can be pushed again.
  EXPECT_EQ(client.pushManifest(kRepo, "a", body, mediatype::kOciManifest), digest);
  expectServed("a", body, mediatype::kOciManifest);
}

TEST_F(ApiManifestTest, DeleteByTagRemovesOnlyTheTag) {
  std::string body = ociManifest();
  std::string digest = client.pushManifest(kRepo, "a", body, mediatype::kOciManifest);
  client.pushManifest(kRepo, "b", body, mediatype::kOciManifest);

  EXPECT_EQ(client.del(manifestPath("a")).status, 202);
  EXPECT_TRUE(isError(client.get(manifestPath("a")), 404, "MANIFEST_UNKNOWN"));
  expectServed("b", body, mediatype::kOciManifest);
  expectServed(digest, body, mediatype::kOciManifest);
  EXPECT_TRUE(isError(client.del(manifestPath("a")), 404, "MANIFEST_UNKNOWN"));
}

TEST_F(ApiManifestTest, UnknownManifestsAreManifestUnknown) {
  for (const std::string& reference :
       std::vector<std::string>{std::string("nosuchtag"), sha256Of("nothing")}) {
    SCOPED_TRACE(reference);
    EXPECT_TRUE(isError(client.get(manifestPath(reference)), 404, "MANIFEST_UNKNOWN"));
    EXPECT_EQ(client.head(manifestPath(reference)).status, 404);
    EXPECT_TRUE(isError(client.del(manifestPath(reference)), 404, "MANIFEST_UNKNOWN"));
    EXPECT_TRUE(isError(client.get(manifestPath(reference, "never/pushed")), 404, "MANIFEST_UNKNOWN"));
  }
  // A manifest of another repository is not this one's.
  std::string digest = client.pushManifest(kRepo, "here", ociManifest(), mediatype::kOciManifest);
  EXPECT_TRUE(isError(client.get(manifestPath(digest, "library/other")), 404, "MANIFEST_UNKNOWN"));
  EXPECT_TRUE(isError(client.get(manifestPath("here", "library/other")), 404, "MANIFEST_UNKNOWN"));
}

TEST_F(ApiManifestTest, TagsAreValidated) {
  std::string body = ociManifest();
  const std::vector<std::string> invalid{"-bad",  ".bad", ".INVALID", std::string(129, 't'),
                                         "a%2Fb", "tag!", "%2e%2e",   "a:b"};
  for (const auto& tag : invalid) {
    SCOPED_TRACE(tag);
    // "a:b" reads as a digest, which it is not.
    std::string code = tag == "a:b" ? "DIGEST_INVALID" : "TAG_INVALID";
    EXPECT_TRUE(isError(client.putManifest(kRepo, tag, body, mediatype::kOciManifest), 400, code));
    EXPECT_TRUE(isError(client.del(manifestPath(tag)), 400, code));
    // A reference that cannot name a manifest names none, as the OCI conformance suite expects.
    EXPECT_TRUE(isError(client.get(manifestPath(tag)), 404, "MANIFEST_UNKNOWN"));
    auto head = client.head(manifestPath(tag));
    EXPECT_EQ(head.status, 404);
    EXPECT_TRUE(head.body.empty());
  }
  for (const std::string& tag : std::vector<std::string>{std::string(128, 'T'), std::string("_under"),
                                                         std::string("v1.0-rc.1_b"), std::string("A..b")}) {
    SCOPED_TRACE(tag);
    EXPECT_EQ(client.putManifest(kRepo, tag, body, mediatype::kOciManifest).status, 201);
    EXPECT_EQ(client.get(manifestPath(tag)).body, body);
  }
}

TEST_F(ApiManifestTest, DigestsAndNamesAreValidated) {
  std::string body = ociManifest();
  for (const std::string& digest : std::vector<std::string>{"sha256:abc", "sha256:" + std::string(64, 'F'),
                                                            "sha1:" + std::string(40, 'a')}) {
    SCOPED_TRACE(digest);
    EXPECT_TRUE(isError(client.get(manifestPath(digest)), 404, "MANIFEST_UNKNOWN"));
    EXPECT_TRUE(
        isError(client.putManifest(kRepo, digest, body, mediatype::kOciManifest), 400, "DIGEST_INVALID"));
  }
  for (const std::string& name : std::vector<std::string>{"Library/app", "library/../app", "library/app/..",
                                                          "..", "library/app%2f..%2f.."}) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(isError(client.get(manifestPath("latest", name)), 400, "NAME_INVALID"));
    EXPECT_TRUE(
        isError(client.putManifest(name, "latest", body, mediatype::kOciManifest), 400, "NAME_INVALID"));
    EXPECT_TRUE(isError(client.del(manifestPath("latest", name)), 400, "NAME_INVALID"));
  }
}

TEST_F(ApiManifestTest, StoredTypesSurviveARestart) {
  std::string oci = ociManifest();
  std::string docker = dockerManifest();
  client.pushManifest(kRepo, "oci", oci, mediatype::kOciManifest);
  client.pushManifest(kRepo, "docker", docker, mediatype::kDockerManifest);
  std::string index = indexManifest(mediatype::kOciIndex,
                                    {descriptorJson(mediatype::kOciManifest, sha256Of(oci), oci.size())});
  client.pushManifest(kRepo, "index", index, mediatype::kOciIndex);
  ASSERT_EQ(server.stop(SIGTERM), 0);

  PierServer restarted(filesystemConfig(root.path()));
  Client again(restarted.port());
  expectServed("oci", oci, mediatype::kOciManifest, again);
  expectServed("docker", docker, mediatype::kDockerManifest, again);
  expectServed("index", index, mediatype::kOciIndex, again);
}

TEST_F(ApiManifestTest, UnsupportedMethodsAre405) {
  EXPECT_TRUE(isError(client.request("POST", manifestPath("latest"), "{}"), 405, "UNSUPPORTED"));
  EXPECT_TRUE(isError(client.request("PATCH", manifestPath("latest"), "{}"), 405, "UNSUPPORTED"));
}

} // namespace
} // namespace pier::test::api
