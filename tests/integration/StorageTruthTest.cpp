// The cache speeds reads up and is never the only word before a write: with
// an inmemory cache that still lists blobs whose data another process
// deleted (as garbage collection does while a shared cache keeps entries),
// uploads keep the bytes they were sent, manifests and mounts naming the gone
// blobs are refused, and a read of one answers 404 instead of a broken
// connection.
#include <gtest/gtest.h>

#include "ApiClient.hpp"

namespace pier::test::api {
namespace {

class StorageTruthTest : public ::testing::Test {
protected:
  // Pushes the blob and reads it, so that the cache holds it; then deletes its data behind the server's back.
  void pushThenLoseData(const std::string& repo, const Content& blob) {
    client.pushBlob(repo, blob);
    ASSERT_EQ(client.head("/v2/" + repo + "/blobs/" + blob.digest).status, 200);
    std::filesystem::remove(blobDataPath(root.path(), blob.digest));
  }

  TempDir root;
  PierServer server{filesystemConfig(root.path())};
  Client client{server.port()};
};

TEST_F(StorageTruthTest, ABlobGoneSinceItsStatIsNotFound) {
  Content blob = makeContent("soon gone");
  pushThenLoseData("repo", blob);
  EXPECT_TRUE(isError(client.get("/v2/repo/blobs/" + blob.digest), 404, "BLOB_UNKNOWN"));
  // The stale entry is dropped: a HEAD no longer finds it either.
  EXPECT_EQ(client.head("/v2/repo/blobs/" + blob.digest).status, 404);
  EXPECT_EQ(client.get("/v2/").status, 200);
}

TEST_F(StorageTruthTest, AnUploadOfAGoneBlobKeepsTheBytes) {
  Content monolithic = makeContent("pushed again whole");
  pushThenLoseData("repo", monolithic);
  client.pushBlob("repo", monolithic);
  EXPECT_EQ(readFile(blobDataPath(root.path(), monolithic.digest)), monolithic.bytes);
  EXPECT_EQ(client.get("/v2/repo/blobs/" + monolithic.digest).body, monolithic.bytes);

  Content chunked = makeContent("pushed again in chunks");
  pushThenLoseData("other/repo", chunked);
  client.pushBlobChunked("other/repo", chunked, 5);
  EXPECT_EQ(readFile(blobDataPath(root.path(), chunked.digest)), chunked.bytes);
  EXPECT_EQ(client.get("/v2/other/repo/blobs/" + chunked.digest).body, chunked.bytes);
}

TEST_F(StorageTruthTest, AManifestNamingAGoneBlobIsRefused) {
  Content config = makeContent("{\"config\":1}");
  Content layer = makeContent("layer whose data is lost");
  client.pushBlob("repo", config);
  pushThenLoseData("repo", layer);
  std::string manifest = imageManifest(mediatype::kOciManifest, descriptorJson(media::kOciConfig, config),
                                       {descriptorJson(media::kOciLayer, layer)});
  auto put = client.putManifest("repo", "latest", manifest, mediatype::kOciManifest);
  EXPECT_TRUE(isError(put, 400, "MANIFEST_BLOB_UNKNOWN"));
  EXPECT_NE(put.body.find(layer.digest), std::string::npos);
  EXPECT_TRUE(isError(client.get("/v2/repo/manifests/latest"), 404, "MANIFEST_UNKNOWN"));

  // The same for an index whose child manifest's data is gone.
  Content goodLayer = makeContent("a layer that stays");
  client.pushBlob("repo", goodLayer);
  std::string child = imageManifest(mediatype::kOciManifest, descriptorJson(media::kOciConfig, config),
                                    {descriptorJson(media::kOciLayer, goodLayer)});
  std::string childDigest = client.pushManifest("repo", "child", child, mediatype::kOciManifest);
  ASSERT_EQ(client.get("/v2/repo/manifests/" + childDigest).status, 200);
  std::filesystem::remove(blobDataPath(root.path(), childDigest));
  std::string index = indexManifest(
      mediatype::kOciIndex,
      {descriptorJson(mediatype::kOciManifest, childDigest, child.size(), platformField("amd64"))});
  EXPECT_TRUE(isError(client.putManifest("repo", "index", index, mediatype::kOciIndex), 400,
                      "MANIFEST_BLOB_UNKNOWN"));
}

TEST_F(StorageTruthTest, AMountOfAGoneBlobStartsAnUpload) {
  Content blob = makeContent("mounted after it was lost");
  pushThenLoseData("source/repo", blob);
  auto mount =
      client.request("POST", "/v2/target/repo/blobs/uploads/?mount=" + blob.digest + "&from=source/repo");
  EXPECT_EQ(mount.status, 202);
  EXPECT_EQ(client.head("/v2/target/repo/blobs/" + blob.digest).status, 404);
}

} // namespace
} // namespace pier::test::api
