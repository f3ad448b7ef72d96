// Blob uploads over real HTTP: start, monolithic, chunked, status, finish,
// cancel, digest mismatch, restart, client disconnect, cross-repository mount,
// and the validation of names and digests on the upload endpoints.
#include <chrono>
#include <csignal>
#include <regex>
#include <thread>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <gtest/gtest.h>

#include "ApiClient.hpp"

namespace pier::test::api {
namespace {

// Polls an upload until the server no longer knows it (bounded: 20 s); the last answer.
HttpResponse awaitUploadGone(Client& client, const std::string& location) {
  HttpResponse status;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    status = client.get(location);
    if (status.status == 404) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return status;
}

class ApiUploadTest : public ::testing::Test {
protected:
  // Nothing of the repository's uploads is left on disk.
  void expectNoUploads(const std::string& repo) {
    EXPECT_EQ(entryCount(uploadsPath(root.path(), repo)), 0u) << uploadsPath(root.path(), repo);
  }

  TempDir root;
  PierServer server{filesystemConfig(root.path())};
  Client client{server.port()};
};

TEST_F(ApiUploadTest, StartAnswers202WithLocationUuidAndRange) {
  auto response = client.request("POST", "/v2/library/app/blobs/uploads/");
  ASSERT_EQ(response.status, 202) << response.body;
  std::string location = response.header("Location");
  std::smatch match;
  ASSERT_TRUE(std::regex_match(location, match, std::regex("/v2/library/app/blobs/uploads/([0-9a-f-]{36})")))
      << location;
  EXPECT_EQ(response.header("Docker-Upload-UUID"), match[1].str());
  EXPECT_EQ(response.header("Range"), "0-0");
  EXPECT_EQ(response.header("Content-Length"), "0");
  EXPECT_TRUE(
      std::filesystem::exists(uploadsPath(root.path(), "library/app") / match[1].str() / "startedat"));

  // The path without the trailing slash starts an upload too.
  EXPECT_EQ(client.request("POST", "/v2/library/app/blobs/uploads").status, 202);
}

TEST_F(ApiUploadTest, StatusOfANewUploadIsEmpty) {
  std::string location = client.startUpload("repo");
  auto status = client.get(location);
  EXPECT_EQ(status.status, 204);
  EXPECT_EQ(status.header("Range"), "0-0");
  EXPECT_EQ(status.header("Location"), location);
  EXPECT_EQ(status.header("Docker-Upload-UUID"), lastSegment(location));
}

TEST_F(ApiUploadTest, MonolithicPostWithDigestCreatesTheBlob) {
  Content blob = makeContent("monolithic blob content");
  auto response = client.request("POST", "/v2/repo/blobs/uploads/?digest=" + blob.digest, blob.bytes,
                                 {{"Content-Type", "application/octet-stream"}});
  ASSERT_EQ(response.status, 201) << response.body;
  EXPECT_EQ(response.header("Location"), "/v2/repo/blobs/" + blob.digest);
  EXPECT_EQ(response.header("Docker-Content-Digest"), blob.digest);
  EXPECT_EQ(client.get("/v2/repo/blobs/" + blob.digest).body, blob.bytes);
  EXPECT_EQ(readFile(blobDataPath(root.path(), blob.digest)), blob.bytes);
  expectNoUploads("repo");
}

TEST_F(ApiUploadTest, MonolithicPostWithWrongDigestLeavesNothing) {
  Content blob = makeContent("the bytes sent");
  std::string claimed = sha256Of("other bytes");
  auto response = client.request("POST", "/v2/repo/blobs/uploads/?digest=" + claimed, blob.bytes,
                                 {{"Content-Type", "application/octet-stream"}});
  EXPECT_TRUE(isError(response, 400, "DIGEST_INVALID"));
  expectNoUploads("repo");
  EXPECT_FALSE(std::filesystem::exists(blobDataPath(root.path(), claimed).parent_path()));
  EXPECT_FALSE(std::filesystem::exists(blobDataPath(root.path(), blob.digest).parent_path()));
  EXPECT_TRUE(isError(client.get("/v2/repo/blobs/" + claimed), 404, "BLOB_UNKNOWN"));
}

TEST_F(ApiUploadTest, ChunksInOrderThenPutWithoutBody) {
  Content blob = makeContent("0123456789abcdefghij");
  std::string location = client.startUpload("repo");
  auto first = client.patch(location, blob.bytes.substr(0, 5), "0-4");
  ASSERT_EQ(first.status, 202) << first.body;
  EXPECT_EQ(first.header("Range"), "0-4");
  EXPECT_EQ(first.header("Location"), location);
  EXPECT_EQ(first.header("Docker-Upload-UUID"), lastSegment(location));
  EXPECT_EQ(first.header("Content-Length"), "0");

  auto second = client.patch(first.header("Location"), blob.bytes.substr(5, 10), "5-14");
  ASSERT_EQ(second.status, 202) << second.body;
  EXPECT_EQ(second.header("Range"), "0-14");

  // "bytes " before the range is accepted as well.
  auto third = client.patch(second.header("Location"), blob.bytes.substr(15), "bytes 15-19");
  ASSERT_EQ(third.status, 202) << third.body;
  EXPECT_EQ(third.header("Range"), "0-19");

  auto status = client.get(third.header("Location"));
  EXPECT_EQ(status.status, 204);
  EXPECT_EQ(status.header("Range"), "0-19");
  EXPECT_EQ(status.header("Location"), location);

  auto done = client.finish(third.header("Location"), blob.digest);
  ASSERT_EQ(done.status, 201) << done.body;
  EXPECT_EQ(done.header("Location"), "/v2/repo/blobs/" + blob.digest);
  EXPECT_EQ(done.header("Docker-Content-Digest"), blob.digest);
  EXPECT_EQ(client.get("/v2/repo/blobs/" + blob.digest).body, blob.bytes);
  expectNoUploads("repo");
  // The upload is over.
  EXPECT_TRUE(isError(client.get(location), 404, "BLOB_UPLOAD_UNKNOWN"));
}

TEST_F(ApiUploadTest, PutWithTheLastChunk) {
  Content blob = makeContent("first part|last part");
  std::string location = client.startUpload("repo");
  ASSERT_EQ(client.patch(location, blob.bytes.substr(0, 11), "0-10").status, 202);
  auto done = client.finish(location, blob.digest, blob.bytes.substr(11));
  ASSERT_EQ(done.status, 201) << done.body;
  EXPECT_EQ(done.header("Docker-Content-Digest"), blob.digest);
  EXPECT_EQ(client.get("/v2/repo/blobs/" + blob.digest).body, blob.bytes);
  expectNoUploads("repo");
}

TEST_F(ApiUploadTest, PutOfTheWholeBlobAfterPost) {
  Content blob = makeContent("whole blob in the PUT");
  std::string location = client.startUpload("repo");
  auto done = client.finish(location, blob.digest, blob.bytes);
  ASSERT_EQ(done.status, 201) << done.body;
  EXPECT_EQ(client.get("/v2/repo/blobs/" + blob.digest).body, blob.bytes);
}

TEST_F(ApiUploadTest, StreamedPatchWithoutContentRange) {
  Content blob = makeContent(std::string(300000, 'x') + "tail");
  std::string location = client.startUpload("repo");
  auto first = client.patch(location, blob.bytes.substr(0, 200000));
  ASSERT_EQ(first.status, 202) << first.body;
  EXPECT_EQ(first.header("Range"), "0-199999");
  auto second = client.patch(location, blob.bytes.substr(200000));
  ASSERT_EQ(second.status, 202) << second.body;
  EXPECT_EQ(second.header("Range"), "0-" + std::to_string(blob.size() - 1));
  ASSERT_EQ(client.finish(location, blob.digest).status, 201);
  EXPECT_EQ(client.get("/v2/repo/blobs/" + blob.digest).body, blob.bytes);
}

TEST_F(ApiUploadTest, EmptyBlob) {
  Content blob = makeContent("");
  std::string location = client.startUpload("repo");
  auto done = client.finish(location, blob.digest);
  ASSERT_EQ(done.status, 201) << done.body;
  auto head = client.head("/v2/repo/blobs/" + blob.digest);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("Content-Length"), "0");
}

TEST_F(ApiUploadTest, OutOfOrderChunkIs416WithTheCurrentRange) {
  Content blob = makeContent("abcdefghijklmnop");
  std::string location = client.startUpload("repo");
  ASSERT_EQ(client.patch(location, blob.bytes.substr(0, 4), "0-3").status, 202);

  // A gap, a repeat of the first chunk, an overlap.
  for (const auto& [range, chunk] :
       std::vector<std::pair<std::string, std::string>>{{"8-11", blob.bytes.substr(8, 4)},
                                                        {"0-3", blob.bytes.substr(0, 4)},
                                                        {"2-5", blob.bytes.substr(2, 4)}}) {
    SCOPED_TRACE(range);
    auto refused = client.patch(location, chunk, range);
    EXPECT_TRUE(isError(refused, 416, "RANGE_INVALID"));
    EXPECT_EQ(refused.header("Range"), "0-3");
  }
  // A malformed Content-Range is refused the same way.
  auto malformed = client.patch(location, blob.bytes.substr(4, 4), "four-to-eight");
  EXPECT_TRUE(isError(malformed, 416, "RANGE_INVALID"));
  EXPECT_EQ(malformed.header("Range"), "0-3");

  // The upload is intact and goes on from where it was.
  auto status = client.get(location);
  EXPECT_EQ(status.status, 204);
  EXPECT_EQ(status.header("Range"), "0-3");
  ASSERT_EQ(client.patch(location, blob.bytes.substr(4), "4-15").status, 202);
  ASSERT_EQ(client.finish(location, blob.digest).status, 201);
  EXPECT_EQ(client.get("/v2/repo/blobs/" + blob.digest).body, blob.bytes);
}

TEST_F(ApiUploadTest, ChunkWhoseLengthIsNotItsRangeIsSizeInvalid) {
  std::string location = client.startUpload("repo");
  EXPECT_TRUE(isError(client.patch(location, "abcdef", "0-3"), 400, "SIZE_INVALID"));
  // Nothing of it was taken.
  auto status = client.get(location);
  EXPECT_EQ(status.status, 204);
  EXPECT_EQ(status.header("Range"), "0-0");
  ASSERT_EQ(client.patch(location, "abcd", "0-3").status, 202);
  ASSERT_EQ(client.finish(location, sha256Of("abcd")).status, 201);
}

TEST_F(ApiUploadTest, FirstChunkMustStartAtZero) {
  std::string location = client.startUpload("repo");
  auto refused = client.patch(location, "abcd", "4-7");
  EXPECT_TRUE(isError(refused, 416, "RANGE_INVALID"));
  EXPECT_EQ(refused.header("Range"), "0-0");
}

TEST_F(ApiUploadTest, WrongDigestOnPutLeavesNothing) {
  Content blob = makeContent("content whose digest is not the one claimed");
  std::string claimed = sha256Of("something else");
  std::string location = client.startUpload("repo");
  ASSERT_EQ(client.patch(location, blob.bytes, "0-" + std::to_string(blob.size() - 1)).status, 202);
  EXPECT_TRUE(isError(client.finish(location, claimed), 400, "DIGEST_INVALID"));

  expectNoUploads("repo");
  EXPECT_FALSE(std::filesystem::exists(blobDataPath(root.path(), claimed).parent_path()));
  EXPECT_FALSE(std::filesystem::exists(blobDataPath(root.path(), blob.digest).parent_path()));
  EXPECT_TRUE(isError(client.get("/v2/repo/blobs/" + claimed), 404, "BLOB_UNKNOWN"));
  EXPECT_TRUE(isError(client.get("/v2/repo/blobs/" + blob.digest), 404, "BLOB_UNKNOWN"));
  EXPECT_TRUE(isError(client.get(location), 404, "BLOB_UPLOAD_UNKNOWN"));
}

TEST_F(ApiUploadTest, WrongDigestWithLastChunkLeavesNothing) {
  std::string location = client.startUpload("repo");
  ASSERT_EQ(client.patch(location, "part one ").status, 202);
  EXPECT_TRUE(isError(client.finish(location, sha256Of("nope"), "part two"), 400, "DIGEST_INVALID"));
  expectNoUploads("repo");
  EXPECT_EQ(entryCount(root.path() / "docker/registry/v2/blobs/sha256"), 0u);
}

TEST_F(ApiUploadTest, PutWithoutOrWithInvalidDigestIsDigestInvalid) {
  std::string location = client.startUpload("repo");
  ASSERT_EQ(client.patch(location, "data").status, 202);
  EXPECT_TRUE(isError(client.request("PUT", location, "", {{"Content-Type", "application/octet-stream"}}),
                      400, "DIGEST_INVALID"));
  for (const std::string& digest :
       std::vector<std::string>{"sha256:abc", "sha256:" + std::string(64, 'G'),
                                "md5:d41d8cd98f00b204e9800998ecf8427e", "nodigest"}) {
    SCOPED_TRACE(digest);
    EXPECT_TRUE(isError(client.finish(location, digest), 400, "DIGEST_INVALID"));
  }
}

TEST_F(ApiUploadTest, CancelThenTheUploadIsUnknown) {
  std::string location = client.startUpload("repo");
  ASSERT_EQ(client.patch(location, "some bytes").status, 202);
  auto cancelled = client.del(location);
  EXPECT_EQ(cancelled.status, 204);
  expectNoUploads("repo");

  EXPECT_TRUE(isError(client.get(location), 404, "BLOB_UPLOAD_UNKNOWN"));
  EXPECT_TRUE(isError(client.patch(location, "more"), 404, "BLOB_UPLOAD_UNKNOWN"));
  EXPECT_TRUE(isError(client.finish(location, sha256Of("some bytes")), 404, "BLOB_UPLOAD_UNKNOWN"));
  EXPECT_TRUE(isError(client.del(location), 404, "BLOB_UPLOAD_UNKNOWN"));
  expectNoUploads("repo");
}

TEST_F(ApiUploadTest, UnknownAndGarbageUploadIdsAreUploadUnknown) {
  std::string location = client.startUpload("repo");
  const std::vector<std::string> ids{"0b5e5c4c-3c0e-4d5e-9a1b-2c3d4e5f6a7b",
                                     "not-an-upload",
                                     "..",
                                     "%2e%2e",
                                     "..%2f..%2f_layers",
                                     "ABCDEF00-0000-4000-8000-000000000000",
                                     std::string(300, 'a'),
                                     lastSegment(location) + "x"};
  for (const auto& id : ids) {
    SCOPED_TRACE(id);
    std::string target = "/v2/repo/blobs/uploads/" + id;
    EXPECT_TRUE(isError(client.get(target), 404, "BLOB_UPLOAD_UNKNOWN"));
    EXPECT_TRUE(isError(client.patch(target, "x"), 404, "BLOB_UPLOAD_UNKNOWN"));
    EXPECT_TRUE(isError(client.finish(target, sha256Of("x"), "x"), 404, "BLOB_UPLOAD_UNKNOWN"));
    EXPECT_TRUE(isError(client.del(target), 404, "BLOB_UPLOAD_UNKNOWN"));
  }
  // An upload belongs to the repository that started it.
  std::string elsewhere = "/v2/other/blobs/uploads/" + lastSegment(location);
  EXPECT_TRUE(isError(client.get(elsewhere), 404, "BLOB_UPLOAD_UNKNOWN"));
  EXPECT_TRUE(isError(client.patch(elsewhere, "x"), 404, "BLOB_UPLOAD_UNKNOWN"));
  // The real one is untouched.
  EXPECT_EQ(client.get(location).status, 204);
  EXPECT_EQ(entryCount(uploadsPath(root.path(), "repo")), 1u);
}

TEST_F(ApiUploadTest, Sha512DigestsAreAccepted) {
  std::string bytes = "blob addressed by sha512";
  std::string digest = sha512Of(bytes);
  auto response = client.request("POST", "/v2/repo/blobs/uploads/?digest=" + digest, bytes,
                                 {{"Content-Type", "application/octet-stream"}});
  ASSERT_EQ(response.status, 201) << response.body;
  EXPECT_EQ(response.header("Docker-Content-Digest"), digest);
  auto blob = client.get("/v2/repo/blobs/" + digest);
  EXPECT_EQ(blob.status, 200);
  EXPECT_EQ(blob.body, bytes);
  EXPECT_EQ(blob.header("Docker-Content-Digest"), digest);
  EXPECT_EQ(readFile(blobDataPath(root.path(), digest)), bytes);

  // Chunked, finished with a sha512 digest; and a wrong one.
  std::string chunked = "chunked sha512 blob";
  std::string location = client.startUpload("repo");
  ASSERT_EQ(client.patch(location, chunked.substr(0, 7), "0-6").status, 202);
  ASSERT_EQ(client.finish(location, sha512Of(chunked), chunked.substr(7)).status, 201);
  EXPECT_EQ(client.get("/v2/repo/blobs/" + sha512Of(chunked)).body, chunked);

  location = client.startUpload("repo");
  ASSERT_EQ(client.patch(location, "abc").status, 202);
  EXPECT_TRUE(isError(client.finish(location, sha512Of("abd")), 400, "DIGEST_INVALID"));
  expectNoUploads("repo");
}

TEST_F(ApiUploadTest, UploadSurvivesARestartOfTheServer) {
  Content blob = makeContent("the first half|the second half");
  std::string location = client.startUpload("survivor");
  ASSERT_EQ(client.patch(location, blob.bytes.substr(0, 15), "0-14").status, 202);
  ASSERT_EQ(server.stop(SIGTERM), 0) << server.log();

  PierServer restarted(filesystemConfig(root.path()));
  Client again(restarted.port());
  auto status = again.get(location);
  EXPECT_EQ(status.status, 204);
  EXPECT_EQ(status.header("Range"), "0-14");
  auto second = again.patch(location, blob.bytes.substr(15), "15-" + std::to_string(blob.size() - 1));
  ASSERT_EQ(second.status, 202) << second.body;
  auto done = again.finish(second.header("Location"), blob.digest);
  ASSERT_EQ(done.status, 201) << done.body;
  EXPECT_EQ(again.get("/v2/survivor/blobs/" + blob.digest).body, blob.bytes);
  expectNoUploads("survivor");
}

TEST_F(ApiUploadTest, ClientThatDisconnectsMidPatchLeavesNothing) {
  std::string location = client.startUpload("repo");
  ASSERT_EQ(client.patch(location, "kept? no", "0-7").status, 202);
  std::string upload = lastSegment(location);

  // Headers promise 1 MiB; 1000 bytes come, then the connection closes.
  sendAndClose(server.port(),
               "PATCH " + location +
                   " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Content-Type: application/octet-stream\r\nContent-Length: 1048576\r\n\r\n" +
                   std::string(1000, 'z'));

  // The server notices the short body; the upload is dropped (bounded wait).
  EXPECT_TRUE(isError(awaitUploadGone(client, location), 404, "BLOB_UPLOAD_UNKNOWN"));
  EXPECT_TRUE(isError(client.patch(location, "more", "8-11"), 404, "BLOB_UPLOAD_UNKNOWN"));
  EXPECT_TRUE(isError(client.finish(location, sha256Of("kept? no")), 404, "BLOB_UPLOAD_UNKNOWN"));
  EXPECT_FALSE(std::filesystem::exists(uploadsPath(root.path(), "repo") / upload));
  expectNoUploads("repo");

  // The server goes on serving.
  EXPECT_EQ(client.get("/v2/").status, 200);
  Content blob = makeContent("after the disconnect");
  client.pushBlobChunked("repo", blob, 6);
  EXPECT_EQ(client.get("/v2/repo/blobs/" + blob.digest).body, blob.bytes);
}

TEST_F(ApiUploadTest, ClientThatDisconnectsBeforeTheBodyLeavesNothing) {
  std::string location = client.startUpload("repo");
  sendAndClose(server.port(), "PATCH " + location +
                                  " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                  "Content-Type: application/octet-stream\r\nContent-Length: 5000\r\n\r\n");
  EXPECT_TRUE(isError(awaitUploadGone(client, location), 404, "BLOB_UPLOAD_UNKNOWN"));
  expectNoUploads("repo");
  EXPECT_EQ(client.get("/v2/").status, 200);
}

TEST_F(ApiUploadTest, MountFromARepositoryThatHasTheBlob) {
  Content blob = makeContent("shared layer");
  client.pushBlob("source/repo", blob);
  auto response =
      client.request("POST", "/v2/target/repo/blobs/uploads/?mount=" + blob.digest + "&from=source/repo");
  ASSERT_EQ(response.status, 201) << response.body;
  EXPECT_EQ(response.header("Location"), "/v2/target/repo/blobs/" + blob.digest);
  EXPECT_EQ(response.header("Docker-Content-Digest"), blob.digest);
  EXPECT_EQ(client.get("/v2/target/repo/blobs/" + blob.digest).body, blob.bytes);
  expectNoUploads("target/repo");
  // from may be percent-encoded.
  response = client.request("POST", "/v2/third/blobs/uploads/?from=source%2Frepo&mount=" + blob.digest);
  EXPECT_EQ(response.status, 201) << response.body;
}

TEST_F(ApiUploadTest, MountFallsBackToAnUploadWhenItCannotMount) {
  Content blob = makeContent("only in source");
  client.pushBlob("source", blob);
  Content absent = makeContent("nowhere");
  const std::vector<std::string> queries{
      "mount=" + absent.digest + "&from=source", // the source does not have it
      "mount=" + blob.digest + "&from=empty",    // the source does not exist
      "mount=" + blob.digest,                    // no from
      "mount=" + blob.digest + "&from=Bad/Name", // from is not a name
      "mount=" + blob.digest + "&from=target",   // from is the target, which lacks it
      "mount=sha256:notadigest&from=source",     // mount is not a digest
  };
  for (const auto& query : queries) {
    SCOPED_TRACE(query);
    auto response = client.request("POST", "/v2/target/blobs/uploads/?" + query);
    ASSERT_EQ(response.status, 202) << response.body;
    std::string location = response.header("Location");
    EXPECT_TRUE(std::regex_match(location, std::regex("/v2/target/blobs/uploads/[0-9a-f-]{36}"))) << location;
    EXPECT_EQ(response.header("Docker-Upload-UUID"), lastSegment(location));
    EXPECT_EQ(response.header("Range"), "0-0");
    EXPECT_EQ(client.get(location).status, 204);
  }
  EXPECT_TRUE(isError(client.get("/v2/target/blobs/" + blob.digest), 404, "BLOB_UNKNOWN"));
  // The fallback upload is a normal one.
  std::string location = client.startUpload("target");
  ASSERT_EQ(client.finish(location, blob.digest, blob.bytes).status, 201);
  EXPECT_EQ(client.get("/v2/target/blobs/" + blob.digest).body, blob.bytes);
}

TEST_F(ApiUploadTest, InvalidNamesAreNameInvalidAndNeverReachStorage) {
  Content blob = makeContent("x");
  const std::vector<std::string> names{"Upper", "a/../b", "..",   "a/./b",  "a//b",
                                       "a/b/",  "-a",     "a-",   "a%2f..", "_a",
                                       "a/_b",  "a:b",    "a..b", "a___b",  std::string(256, 'a')};
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(isError(client.request("POST", "/v2/" + name + "/blobs/uploads/"), 400, "NAME_INVALID"));
    EXPECT_TRUE(isError(client.request("POST", "/v2/" + name + "/blobs/uploads/?digest=" + blob.digest,
                                       blob.bytes, {{"Content-Type", "application/octet-stream"}}),
                        400, "NAME_INVALID"));
    EXPECT_TRUE(
        isError(client.patch("/v2/" + name + "/blobs/uploads/0b5e5c4c-3c0e-4d5e-9a1b-2c3d4e5f6a7b", "x"), 400,
                "NAME_INVALID"));
  }
  EXPECT_TRUE(isError(client.request("POST", "/v2/a/../../b/blobs/uploads/"), 400, "NAME_INVALID"));
  // Nothing was written at all.
  EXPECT_FALSE(std::filesystem::exists(root.path() / "docker")) << "storage was touched";
  // Names of several components, the longest allowed, and separators inside components are fine.
  for (const std::string& name :
       std::vector<std::string>{"a/b/c/d", "a.b_c__d-e--f/g", std::string(255, 'a')}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(client.request("POST", "/v2/" + name + "/blobs/uploads/").status, 202);
  }
}

TEST_F(ApiUploadTest, InvalidDigestOnMonolithicPostIsDigestInvalid) {
  for (const std::string& digest : std::vector<std::string>{
           "sha256:0123", "sha256:" + std::string(64, 'A'), "sha384:" + std::string(96, 'a'),
           "sha512:" + std::string(64, 'a'), "", "../../etc"}) {
    SCOPED_TRACE(digest);
    EXPECT_TRUE(isError(client.request("POST", "/v2/repo/blobs/uploads/?digest=" + digest, "x",
                                       {{"Content-Type", "application/octet-stream"}}),
                        400, "DIGEST_INVALID"));
  }
  expectNoUploads("repo");
}

TEST_F(ApiUploadTest, UnsupportedMethodsAre405) {
  EXPECT_TRUE(isError(client.get("/v2/repo/blobs/uploads/"), 405, "UNSUPPORTED"));
  EXPECT_TRUE(isError(client.request("PUT", "/v2/repo/blobs/uploads/"), 405, "UNSUPPORTED"));
  std::string location = client.startUpload("repo");
  EXPECT_TRUE(isError(client.request("POST", location), 405, "UNSUPPORTED"));
}

TEST_F(ApiUploadTest, RefusedBodiesDoNotBreakAKeepAliveConnection) {
  // Requests refused before their body is read, then plain requests on the
  // same session: the unread body is never taken for a request. (Small
  // bodies: this client writes all of it before it reads the answer.)
  Poco::Net::HTTPClientSession session("127.0.0.1", server.port());
  session.setKeepAlive(true);
  session.setTimeout(Poco::Timespan(30, 0));
  std::string body = "GET /v2/_catalog HTTP/1.1\r\nHost: x\r\n\r\n" + std::string(1000, 'b');
  const std::vector<std::pair<std::string, std::string>> refused{
      {"PATCH", "/v2/repo/blobs/uploads/0b5e5c4c-3c0e-4d5e-9a1b-2c3d4e5f6a7b"},
      {"POST", "/v2/Bad/blobs/uploads/?digest=" + sha256Of(body)},
      {"PUT", "/v2/repo/manifests/-bad"},
      {"GET", "/v2/"},
  };
  for (const auto& [method, target] : refused) {
    SCOPED_TRACE(method + " " + target);
    Poco::Net::HTTPRequest request(method, target, Poco::Net::HTTPMessage::HTTP_1_1);
    request.setKeepAlive(true);
    request.setContentType("application/octet-stream");
    request.setContentLength64(static_cast<Poco::Int64>(body.size()));
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::string answer;
    Poco::StreamCopier::copyToString(session.receiveResponse(response), answer);
    EXPECT_EQ(response.get("Docker-Distribution-API-Version", ""), "registry/2.0") << answer;
    if (method == "GET") {
      EXPECT_EQ(answer, "{}");
    }
    for (int i = 0; i < 3; ++i) {
      Poco::Net::HTTPRequest plain("GET", "/v2/", Poco::Net::HTTPMessage::HTTP_1_1);
      plain.setKeepAlive(true);
      session.sendRequest(plain);
      Poco::Net::HTTPResponse ok;
      std::string okBody;
      Poco::StreamCopier::copyToString(session.receiveResponse(ok), okBody);
      EXPECT_EQ(ok.getStatus(), 200);
      EXPECT_EQ(okBody, "{}");
    }
  }
}

} // namespace
} // namespace pier::test::api
