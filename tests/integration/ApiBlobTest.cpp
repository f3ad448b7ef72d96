// Blobs over real HTTP: GET and HEAD headers, ranges, visibility through the
// repository's link only, soft delete, deletes disabled, digest validation.
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <gtest/gtest.h>

#include "ApiClient.hpp"

namespace pier::test::api {
namespace {

class ApiBlobTest : public ::testing::Test {
protected:
  void SetUp() override { client.pushBlob("library/blobs", blob); }

  std::string blobPath(const std::string& repo = "library/blobs") const {
    return "/v2/" + repo + "/blobs/" + blob.digest;
  }

  TempDir root;
  PierServer server{filesystemConfig(root.path())};
  Client client{server.port()};
  Content blob = makeContent("0123456789abcdefghijklmnopqrstuvwxyz");
};

TEST_F(ApiBlobTest, GetAnswersTheBytesWithItsHeaders) {
  auto response = client.get(blobPath());
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.body, blob.bytes);
  EXPECT_EQ(response.header("Content-Length"), std::to_string(blob.size()));
  EXPECT_EQ(response.header("Content-Type"), "application/octet-stream");
  EXPECT_EQ(response.header("Docker-Content-Digest"), blob.digest);
  EXPECT_EQ(response.header("ETag"), "\"" + blob.digest + "\"");
  EXPECT_EQ(response.header("Accept-Ranges"), "bytes");
}

TEST_F(ApiBlobTest, HeadAnswersTheHeadersWithoutABody) {
  auto response = client.head(blobPath());
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Content-Length"), std::to_string(blob.size()));
  EXPECT_EQ(response.header("Docker-Content-Digest"), blob.digest);
  EXPECT_EQ(response.header("ETag"), "\"" + blob.digest + "\"");
  EXPECT_EQ(response.header("Accept-Ranges"), "bytes");

  // No body follows: the next request on the connection gets its own answer.
  Poco::Net::HTTPClientSession session("127.0.0.1", server.port());
  session.setKeepAlive(true);
  session.setTimeout(Poco::Timespan(30, 0));
  const std::string unknown = "/v2/library/blobs/blobs/" + sha256Of("unknown");
  const std::vector<std::pair<std::string, std::string>> requests{{"HEAD", blobPath()},
                                                                  {"GET", blobPath()},
                                                                  {"HEAD", unknown},
                                                                  {"GET", blobPath()},
                                                                  {"HEAD", blobPath()}};
  for (const auto& [method, target] : requests) {
    Poco::Net::HTTPRequest request(method, target, Poco::Net::HTTPMessage::HTTP_1_1);
    request.setKeepAlive(true);
    session.sendRequest(request);
    Poco::Net::HTTPResponse answer;
    std::istream& in = session.receiveResponse(answer);
    EXPECT_EQ(answer.getStatus(), target == unknown ? 404 : 200) << method << " " << target;
    if (method == "GET") {
      std::string body;
      Poco::StreamCopier::copyToString(in, body);
      EXPECT_EQ(body, blob.bytes);
    }
  }
}

TEST_F(ApiBlobTest, RangeRequestsAre206WithContentRange) {
  const std::string total = "/" + std::to_string(blob.size());
  struct Case {
    std::string range, contentRange, body;
  };
  const std::vector<Case> cases{
      {"bytes=2-5", "bytes 2-5" + total, blob.bytes.substr(2, 4)},
      {"bytes=0-0", "bytes 0-0" + total, blob.bytes.substr(0, 1)},
      {"bytes=30-", "bytes 30-35" + total, blob.bytes.substr(30)},
      {"bytes=-4", "bytes 32-35" + total, blob.bytes.substr(32)},
      {"bytes=10-1000", "bytes 10-35" + total, blob.bytes.substr(10)},
      {"bytes=-1000", "bytes 0-35" + total, blob.bytes},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.range);
    auto response = client.request("GET", blobPath(), "", {{"Range", c.range}});
    EXPECT_EQ(response.status, 206);
    EXPECT_EQ(response.header("Content-Range"), c.contentRange);
    EXPECT_EQ(response.header("Content-Length"), std::to_string(c.body.size()));
    EXPECT_EQ(response.header("Docker-Content-Digest"), blob.digest);
    EXPECT_EQ(response.body, c.body);
  }
}

TEST_F(ApiBlobTest, UnsatisfiableRangeIs416) {
  for (const std::string& range : std::vector<std::string>{"bytes=36-", "bytes=100-200", "bytes=-0"}) {
    SCOPED_TRACE(range);
    auto response = client.request("GET", blobPath(), "", {{"Range", range}});
    EXPECT_TRUE(isError(response, 416, "RANGE_INVALID"));
    EXPECT_EQ(response.header("Content-Range"), "bytes */" + std::to_string(blob.size()));
  }
  // A Range the server does not understand is ignored: the whole blob.
  for (const std::string& range : std::vector<std::string>{"items=0-1", "bytes=5-2", "bytes=0-1,4-5"}) {
    SCOPED_TRACE(range);
    auto response = client.request("GET", blobPath(), "", {{"Range", range}});
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, blob.bytes);
  }
}

TEST_F(ApiBlobTest, ConditionalGetWithTheETagIs304) {
  auto response = client.request("GET", blobPath(), "", {{"If-None-Match", "\"" + blob.digest + "\""}});
  EXPECT_EQ(response.status, 304);
  EXPECT_TRUE(response.body.empty());
}

TEST_F(ApiBlobTest, BlobIsVisibleOnlyThroughTheRepositorysLink) {
  for (const std::string& repo :
       std::vector<std::string>{"library/other", "library", "library/blobs/sub", "never/pushed"}) {
    SCOPED_TRACE(repo);
    EXPECT_TRUE(isError(client.get(blobPath(repo)), 404, "BLOB_UNKNOWN"));
    auto head = client.head(blobPath(repo));
    EXPECT_EQ(head.status, 404);
    EXPECT_EQ(head.header("Docker-Distribution-API-Version"), "registry/2.0");
  }
  // Pushing it there too links it, without storing it twice.
  client.pushBlob("library/other", blob);
  EXPECT_EQ(client.get(blobPath("library/other")).body, blob.bytes);
}

TEST_F(ApiBlobTest, UnknownDigestIsBlobUnknown) {
  std::string unknown = "/v2/library/blobs/blobs/" + sha256Of("never pushed");
  EXPECT_TRUE(isError(client.get(unknown), 404, "BLOB_UNKNOWN"));
  EXPECT_TRUE(isError(client.del(unknown), 404, "BLOB_UNKNOWN"));
  EXPECT_EQ(client.head(unknown).status, 404);
}

TEST_F(ApiBlobTest, InvalidDigestIsDigestInvalid) {
  const std::vector<std::string> digests{"sha256:0123",
                                         "sha256:" + std::string(64, 'A'),
                                         "sha256:" + std::string(63, 'a') + "g",
                                         "sha256",
                                         "md5:d41d8cd98f00b204e9800998ecf8427e",
                                         "sha512:" + std::string(64, 'a'),
                                         "sha256:..%2f..%2f" + std::string(58, 'a')};
  for (const auto& digest : digests) {
    SCOPED_TRACE(digest);
    EXPECT_TRUE(isError(client.get("/v2/library/blobs/blobs/" + digest), 400, "DIGEST_INVALID"));
    EXPECT_TRUE(isError(client.del("/v2/library/blobs/blobs/" + digest), 400, "DIGEST_INVALID"));
  }
}

TEST_F(ApiBlobTest, InvalidNameIsNameInvalid) {
  for (const std::string& name : std::vector<std::string>{
           "Library/blobs", "library/../blobs", "library/./blobs", "library//blobs", "../library/blobs"}) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(isError(client.get("/v2/" + name + "/blobs/" + blob.digest), 400, "NAME_INVALID"));
    EXPECT_TRUE(isError(client.del("/v2/" + name + "/blobs/" + blob.digest), 400, "NAME_INVALID"));
  }
  // A traversal that ends at a real repository is still refused, not resolved.
  EXPECT_TRUE(isError(client.get("/v2/x/../library/blobs/blobs/" + blob.digest), 400, "NAME_INVALID"));
}

TEST_F(ApiBlobTest, Sha512BlobsAreServed) {
  std::string bytes = "sha512 blob";
  std::string digest = sha512Of(bytes);
  ASSERT_EQ(client
                .request("POST", "/v2/library/blobs/blobs/uploads/?digest=" + digest, bytes,
                         {{"Content-Type", "application/octet-stream"}})
                .status,
            201);
  auto response = client.get("/v2/library/blobs/blobs/" + digest);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, bytes);
  EXPECT_EQ(response.header("Docker-Content-Digest"), digest);
  EXPECT_EQ(client.head("/v2/library/blobs/blobs/" + digest).header("Content-Length"),
            std::to_string(bytes.size()));
}

TEST_F(ApiBlobTest, DeleteRemovesTheLinkOnly) {
  client.pushBlob("library/second", blob);
  auto deleted = client.del(blobPath());
  EXPECT_EQ(deleted.status, 202);
  EXPECT_TRUE(isError(client.get(blobPath()), 404, "BLOB_UNKNOWN"));
  EXPECT_EQ(client.head(blobPath()).status, 404);
  EXPECT_TRUE(isError(client.del(blobPath()), 404, "BLOB_UNKNOWN"));
  EXPECT_FALSE(std::filesystem::exists(repositoryPath(root.path(), "library/blobs") / "_layers/sha256" /
                                       blob.digest.substr(7)));

  // Soft delete: the data stays for the other repository (and for garbage-collect).
  EXPECT_EQ(client.get(blobPath("library/second")).body, blob.bytes);
  EXPECT_TRUE(std::filesystem::exists(blobDataPath(root.path(), blob.digest)));

  // Pushed again, it is back.
  client.pushBlob("library/blobs", blob);
  EXPECT_EQ(client.get(blobPath()).body, blob.bytes);
}

TEST_F(ApiBlobTest, UnsupportedMethodsAre405) {
  EXPECT_TRUE(isError(client.request("PUT", blobPath(), "x"), 405, "UNSUPPORTED"));
  EXPECT_TRUE(isError(client.request("POST", blobPath(), "x"), 405, "UNSUPPORTED"));
  EXPECT_TRUE(isError(client.request("PATCH", blobPath(), "x"), 405, "UNSUPPORTED"));
}

TEST(ApiBlobDeletesDisabled, DeleteIs405Unsupported) {
  TempDir root;
  PierServer server(withDeletesDisabled(filesystemConfig(root.path())));
  Client client(server.port());
  Content blob = makeContent("kept");
  client.pushBlob("repo", blob);
  EXPECT_TRUE(isError(client.del("/v2/repo/blobs/" + blob.digest), 405, "UNSUPPORTED"));
  EXPECT_EQ(client.get("/v2/repo/blobs/" + blob.digest).body, blob.bytes);

  Content config = makeContent("{}");
  client.pushBlob("repo", config);
  std::string digest = client.pushManifest(
      "repo", "latest", imageManifest(mediatype::kOciManifest, descriptorJson(media::kOciConfig, config), {}),
      mediatype::kOciManifest);
  EXPECT_TRUE(isError(client.del("/v2/repo/manifests/" + digest), 405, "UNSUPPORTED"));
  EXPECT_TRUE(isError(client.del("/v2/repo/manifests/latest"), 405, "UNSUPPORTED"));
  EXPECT_EQ(client.get("/v2/repo/manifests/latest").status, 200);
}

} // namespace
} // namespace pier::test::api
