// The bad-input battery, API level: names, manifests and page sizes a client
// can get wrong, over real HTTP. Each case checks the exact status and error
// code (isError also checks the API version header), that nothing was
// stored, and that the server still answers. Cases owned by their endpoint's
// tests are not repeated here: digests (ApiBlobTest InvalidDigestIsDigestInvalid,
// ApiUploadTest *DigestIsDigestInvalid, ApiManifestTest DigestsAndNamesAreValidated),
// digests that do not match the bytes (ApiUploadTest WrongDigest*, ApiManifestTest
// PutByWrongDigestIsDigestInvalid), chunks out of order or disagreeing with
// Content-Range (ApiUploadTest), missing references and malformed JSON
// (ApiManifestTest), ranges past the end and multi-range requests (ApiBlobTest
// UnsatisfiableRangeIs416), negative and non-numeric page sizes (ApiListingTest).
// The wire level is BadInputWireTest.cpp.
#include <gtest/gtest.h>

#include "ApiClient.hpp"

namespace pier::test::api {
namespace {

const std::string kRepo = "repo";

class BadInputApiTest : public ::testing::Test {
protected:
  void SetUp() override {
    for (const auto* blob : {&config, &layer}) client.pushBlob(kRepo, *blob);
    manifest = imageManifest(mediatype::kOciManifest, descriptorJson(media::kOciConfig, config),
                             {descriptorJson(media::kOciLayer, layer)});
    manifestDigest = client.pushManifest(kRepo, "good", manifest, mediatype::kOciManifest);
  }

  // What the refused requests must not have changed: one tag, nothing under "bad", the server serving.
  void expectUnchanged() {
    auto tags = client.get("/v2/" + kRepo + "/tags/list");
    EXPECT_EQ(tags.body, "{\"name\":\"repo\",\"tags\":[\"good\"]}");
    EXPECT_TRUE(isError(client.get("/v2/" + kRepo + "/manifests/bad"), 404, "MANIFEST_UNKNOWN"));
    EXPECT_EQ(client.get("/v2/").status, 200);
  }

  TempDir root;
  PierServer server{filesystemConfig(root.path())};
  Client client{server.port()};
  Content config = makeContent("{\"architecture\":\"amd64\",\"os\":\"linux\"}");
  Content layer = makeContent("layer bytes");
  std::string manifest, manifestDigest;
};

// Every endpoint that takes a name refuses the same bad names the same way.
TEST_F(BadInputApiTest, BadNamesAreNameInvalidOnEveryEndpoint) {
  std::string longComponents;
  while (longComponents.size() < 256) longComponents += "a/";
  longComponents += "a";
  const std::vector<std::string> names{
      "Repo",   "repo/../other",       "repo//x",     "repo/./x", "..", "repo/", "repo%2f..", "-repo",
      "repo:x", std::string(256, 'a'), longComponents};
  const std::string digest = layer.digest;
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    const std::string base = "/v2/" + name;
    EXPECT_TRUE(isError(client.get(base + "/manifests/good"), 400, "NAME_INVALID"));
    EXPECT_EQ(client.head(base + "/manifests/good").status, 400);
    EXPECT_TRUE(
        isError(client.putManifest(name, "bad", manifest, mediatype::kOciManifest), 400, "NAME_INVALID"));
    EXPECT_TRUE(isError(client.del(base + "/manifests/" + manifestDigest), 400, "NAME_INVALID"));
    EXPECT_TRUE(isError(client.get(base + "/blobs/" + digest), 400, "NAME_INVALID"));
    EXPECT_TRUE(isError(client.del(base + "/blobs/" + digest), 400, "NAME_INVALID"));
    EXPECT_TRUE(isError(client.request("POST", base + "/blobs/uploads/"), 400, "NAME_INVALID"));
    EXPECT_TRUE(isError(client.get(base + "/tags/list"), 400, "NAME_INVALID"));
    EXPECT_TRUE(isError(client.get(base + "/referrers/" + manifestDigest), 400, "NAME_INVALID"));
  }
  // Nothing was created for any of them: the repository is still the only one.
  EXPECT_EQ(client.get("/v2/_catalog").body, "{\"repositories\":[\"repo\"]}");
  EXPECT_EQ(entryCount(root.path() / "docker/registry/v2/repositories"), 1u);
  expectUnchanged();
}

// Duplicate keys: the later one wins, as in Distribution (Go's encoding/json)
// and in the parser Pier serves from, so what is validated is what is stored.
TEST_F(BadInputApiTest, DuplicateKeysAreValidatedByTheLaterValue) {
  Content absent = makeContent("absent layer");
  const std::string present = "[" + descriptorJson(media::kOciLayer, layer) + "]";
  const std::string missing = "[" + descriptorJson(media::kOciLayer, absent) + "]";
  std::string laterMissing =
      imageManifest(mediatype::kOciManifest, descriptorJson(media::kOciConfig, config),
                    {descriptorJson(media::kOciLayer, layer)}, ",\"layers\":" + missing);
  auto refused = client.putManifest(kRepo, "bad", laterMissing, mediatype::kOciManifest);
  EXPECT_TRUE(isError(refused, 400, "MANIFEST_BLOB_UNKNOWN"));
  EXPECT_NE(refused.body.find(absent.digest), std::string::npos) << refused.body;
  // A later mediaType that contradicts the Content-Type.
  std::string laterType = imageManifest(mediatype::kOciManifest, descriptorJson(media::kOciConfig, config),
                                        {descriptorJson(media::kOciLayer, layer)},
                                        ",\"mediaType\":\"" + std::string(mediatype::kOciIndex) + "\"");
  EXPECT_TRUE(
      isError(client.putManifest(kRepo, "bad", laterType, mediatype::kOciManifest), 400, "MANIFEST_INVALID"));
  expectUnchanged();
  // The other way round is a valid manifest.
  std::string laterPresent =
      imageManifest(mediatype::kOciManifest, descriptorJson(media::kOciConfig, config),
                    {descriptorJson(media::kOciLayer, absent)}, ",\"layers\":" + present);
  EXPECT_EQ(client.putManifest(kRepo, "dup", laterPresent, mediatype::kOciManifest).status, 201);
}

// A Content-Type that names another manifest type than the document, a
// document type that is no manifest, and a document whose type cannot be
// told: 400 MANIFEST_INVALID. (A Content-Type that is no manifest type
// leaves the decision to the document's mediaType field.)
TEST_F(BadInputApiTest, WrongMediaTypesAreManifestInvalid) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {manifest, std::string(mediatype::kOciIndex)},
      {manifest, std::string(mediatype::kDockerManifest)},
      {manifest, std::string(mediatype::kDockerManifestList)},
      {"{\"schemaVersion\":2,\"mediaType\":\"" + media::kOciLayer + "\",\"layers\":[]}",
       std::string(mediatype::kOciManifest)},
      {"{\"schemaVersion\":2,\"mediaType\":\"" + media::kOciLayer + "\",\"layers\":[]}", "text/plain"},
      {"{\"schemaVersion\":2}", "application/octet-stream"},
  };
  for (const auto& [body, type] : cases) {
    SCOPED_TRACE(type + " " + body.substr(0, 80));
    EXPECT_TRUE(isError(client.putManifest(kRepo, "bad", body, type), 400, "MANIFEST_INVALID"));
  }
  expectUnchanged();
}

// An index cannot name its own digest (it would be a fixed point of sha256):
// put by that digest it is DIGEST_INVALID, checked before its children as
// Distribution does; put by tag, a child named by a digest that is not stored
// is MANIFEST_BLOB_UNKNOWN, whatever it was meant to be.
TEST_F(BadInputApiTest, AnIndexNamingItselfIsRefused) {
  std::string index = indexManifest(
      mediatype::kOciIndex, {descriptorJson(mediatype::kOciManifest, manifestDigest, manifest.size())});
  std::string indexDigest = sha256Of(index);
  std::string selfNaming =
      indexManifest(mediatype::kOciIndex, {descriptorJson(mediatype::kOciIndex, indexDigest, index.size())});
  EXPECT_TRUE(isError(client.putManifest(kRepo, indexDigest, selfNaming, mediatype::kOciIndex), 400,
                      "DIGEST_INVALID"));
  auto byTag = client.putManifest(kRepo, "bad", selfNaming, mediatype::kOciIndex);
  EXPECT_TRUE(isError(byTag, 400, "MANIFEST_BLOB_UNKNOWN"));
  EXPECT_NE(byTag.body.find(indexDigest), std::string::npos) << byTag.body;
  EXPECT_TRUE(isError(client.get("/v2/" + kRepo + "/manifests/" + indexDigest), 404, "MANIFEST_UNKNOWN"));
  expectUnchanged();
}

// n=0 is an empty page without a Link (Distribution: "entries == 0" ends the
// listing); more than the most a page may hold is PAGINATION_NUMBER_INVALID,
// as Distribution answers n above catalog.maxentries.
TEST_F(BadInputApiTest, PageSizesAtTheEdges) {
  for (const std::string& n : std::vector<std::string>{"0", "00"}) {
    SCOPED_TRACE(n);
    auto tags = client.get("/v2/" + kRepo + "/tags/list?n=" + n);
    EXPECT_EQ(tags.status, 200);
    EXPECT_EQ(tags.body, "{\"name\":\"repo\",\"tags\":[]}");
    EXPECT_EQ(tags.header("Link"), "");
    auto catalog = client.get("/v2/_catalog?n=" + n);
    EXPECT_EQ(catalog.status, 200);
    EXPECT_EQ(catalog.body, "{\"repositories\":[]}");
    EXPECT_EQ(catalog.header("Link"), "");
  }
  for (const std::string& n : std::vector<std::string>{"10001", "4294967296", "18446744073709551616"}) {
    SCOPED_TRACE(n);
    EXPECT_TRUE(isError(client.get("/v2/" + kRepo + "/tags/list?n=" + n), 400, "PAGINATION_NUMBER_INVALID"));
    EXPECT_TRUE(isError(client.get("/v2/_catalog?n=" + n), 400, "PAGINATION_NUMBER_INVALID"));
  }
  EXPECT_EQ(client.get("/v2/_catalog?n=10000").body, "{\"repositories\":[\"repo\"]}");
  expectUnchanged();
}

} // namespace
} // namespace pier::test::api
