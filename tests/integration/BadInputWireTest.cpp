// The bad-input battery, wire level: what a client can get wrong in the bytes
// of HTTP itself, sent over raw sockets to the real server. Each case checks
// the exact status, the registry error code and the API version header,
// that nothing partial was stored, and that the server still answers.
// Names, digests, manifests and listings are in BadInputApiTest.cpp; earlier
// cases of the same kind live beside their endpoints (ApiUploadTest:
// disconnects mid-PATCH, out-of-order chunks; ConnectionLayerTest: bodies
// below the minimum rate).
#include <sstream>

#include <gtest/gtest.h>

#include "ApiClient.hpp"
#include "SlowClient.hpp"
#include "storage/Manifest.hpp"

namespace pier::test::api {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kOverManifestLimit = 5 << 20;
const std::string kTarget = "/v2/repo/manifests/big";

std::string manifestPutHead(const std::string& framing) {
  return "PUT " + kTarget +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + std::string(mediatype::kOciManifest) + "\r\n" +
         framing + "\r\n";
}

std::string contentLength(std::size_t length) {
  return "Content-Length: " + std::to_string(length) + "\r\n";
}

std::string hex(std::size_t value) {
  std::ostringstream out;
  out << std::hex << value;
  return out.str();
}

bool saysClose(const HttpResponse& response) {
  std::string value = response.header("Connection");
  for (char& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return value == "close";
}

class BadInputWireTest : public ::testing::Test {
protected:
  void expectServing() { EXPECT_EQ(client.get("/v2/").status, 200); }
  void expectNoUploads() { EXPECT_EQ(entryCount(uploadsPath(root.path(), "repo")), 0u); }

  TempDir root;
  PierServer server{filesystemConfig(root.path(), "  bodytimeout: 1s\n")};
  Client client{server.port()};
};

// Pier answers a manifest over 4 MiB without reading it (400 MANIFEST_INVALID,
// as Distribution's copyFullPayload limit). A client that writes all of it
// before it reads must still get that answer: the server reads and drops the
// rest before it closes (lingering close), so the kernel sends no reset.
TEST_F(BadInputWireTest, AnOversizedManifestSentInOneGoGetsItsAnswer) {
  std::string body = "{\"schemaVersion\":2,\"pad\":\"" + std::string(kOverManifestLimit, 'p') + "\"}";
  std::string chunked = hex(body.size()) + "\r\n" + body + "\r\n0\r\n\r\n";
  for (int i = 0; i < 20; ++i) {
    SCOPED_TRACE(i);
    // Declared (refused on the Content-Length alone) and chunked (refused after 4 MiB) in turn.
    bool declared = i % 2 == 0;
    SlowRequest request(
        server.port(),
        manifestPutHead(declared ? contentLength(body.size()) : "Transfer-Encoding: chunked\r\n"),
        declared ? body : chunked, 0ms);
    ASSERT_TRUE(eventually([&] { return request.bodySent() || request.sendFailed(); }, 20s));
    EXPECT_TRUE(request.bodySent()) << "the server reset the connection while the body was sent";
    auto answer = request.response(10s);
    EXPECT_TRUE(isError(answer, 400, "MANIFEST_INVALID")) << answer.status;
    EXPECT_TRUE(saysClose(answer));
    EXPECT_TRUE(request.closedByServer(10s));
  }
  EXPECT_TRUE(isError(client.get(kTarget), 404, "MANIFEST_UNKNOWN"));
  expectServing();
}

// The lingering is bounded: a client that keeps sending is closed 5 s after
// its answer, and it holds no worker meanwhile (two threads, four clients).
TEST(BadInputLinger, AClientThatNeverStopsSendingIsClosedAtTheBound) {
  TempDir root;
  PierServer server(filesystemConfig(root.path(), "  threads: 2\n"));
  const std::string head = manifestPutHead(contentLength(std::size_t(1) << 30));
  auto started = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<SlowRequest>> senders;
  for (int i = 0; i < 4; ++i)
    senders.push_back(std::make_unique<SlowRequest>(server.port(), head, std::string(3000, 'x'), 10ms));
  for (auto& sender : senders) EXPECT_TRUE(isError(sender->response(5s), 400, "MANIFEST_INVALID"));
  EXPECT_EQ(httpRequest(server.port(), "GET", "/v2/").status, 200);
  for (auto& sender : senders) {
    EXPECT_TRUE(eventually([&] { return sender->sendFailed(); }, 10s)) << "never closed";
  }
  auto lingered = std::chrono::steady_clock::now() - started;
  EXPECT_GE(lingered, 4s) << "closed without lingering";
  EXPECT_LE(lingered, 8s);

  // And bounded in bytes: a client that sends as fast as it can is closed after 64 MiB.
  SlowRequest flood(server.port(), manifestPutHead(contentLength(std::size_t(96) << 20)),
                    std::string(std::size_t(96) << 20, 'f'), 0ms);
  EXPECT_TRUE(isError(flood.response(5s), 400, "MANIFEST_INVALID"));
  EXPECT_TRUE(eventually([&] { return flood.sendFailed(); }, 5s));
  EXPECT_FALSE(flood.bodySent());
  EXPECT_EQ(httpRequest(server.port(), "GET", "/v2/").status, 200);
}

// Malformed request lines and header lines: 400 (431, 501, 505) with the
// error JSON and the API version header, never a bare status line; the
// connection is closed, as no framing can be trusted after it.
TEST_F(BadInputWireTest, MalformedHeadsAreAnsweredWithTheErrorJsonAndClose) {
  const std::string v2 = "GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  const std::string post = "POST /v2/repo/blobs/uploads/ HTTP/1.1\r\nHost: h\r\n";
  struct Case {
    std::string request;
    int status;
    std::string code;
  } cases[] = {
      // Request lines.
      {"GET /v2/\r\n\r\n", 400, "REQUEST_INVALID"},
      {"GET  /v2/ HTTP/1.1\r\nHost: h\r\n\r\n", 400, "REQUEST_INVALID"},
      {"G(T /v2/ HTTP/1.1\r\nHost: h\r\n\r\n", 400, "REQUEST_INVALID"},
      {"GET v2/ HTTP/1.1\r\nHost: h\r\n\r\n", 400, "REQUEST_INVALID"},
      {"GET /v2/\x7f HTTP/1.1\r\nHost: h\r\n\r\n", 400, "REQUEST_INVALID"},
      {"GET /v2/ HTTP/1.x\r\nHost: h\r\n\r\n", 400, "REQUEST_INVALID"},
      {"GET /v2/ HTTP/2.0\r\nHost: h\r\n\r\n", 505, "HTTP_VERSION_UNSUPPORTED"},
      {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + std::string(64, 'r'), 400,
       "REQUEST_INVALID"},
      {"GET /v2/ HTTP/1.1\nHost: h\n\n", 400, "REQUEST_INVALID"},
      // Header lines.
      {v2 + "NoColon\r\n\r\n", 400, "REQUEST_INVALID"},
      {v2 + "X-A : b\r\n\r\n", 400, "REQUEST_INVALID"},
      {v2 + "X-A: b\r\n folded\r\n\r\n", 400, "REQUEST_INVALID"},
      {v2 + "X-A: b\x01"
            "c\r\n\r\n",
       400, "REQUEST_INVALID"},
      {"GET /v2/ HTTP/1.1\r\n\r\n", 400, "REQUEST_INVALID"},
      {v2 + "Host: other\r\n\r\n", 400, "REQUEST_INVALID"},
      {v2 + "X-Big: " + std::string(70 * 1024, 'x') + "\r\n\r\n", 431, "REQUEST_HEADERS_TOO_LARGE"},
      // Framing that could smuggle a request past a proxy.
      {post + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "REQUEST_INVALID"},
      {post + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400, "REQUEST_INVALID"},
      {post + "Content-Length: three\r\n\r\n", 400, "REQUEST_INVALID"},
      {post + "Content-Length: -3\r\n\r\n", 400, "REQUEST_INVALID"},
      {post + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501, "NOT_IMPLEMENTED"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.request.substr(0, 60));
    SlowRequest request(server.port(), c.request, "", 0ms);
    auto answer = request.response(5s);
    EXPECT_TRUE(isError(answer, c.status, c.code));
    EXPECT_TRUE(saysClose(answer));
    EXPECT_TRUE(request.closedByServer(5s));
  }
  expectServing();
  expectNoUploads();
}

// A chunk-size line that is not 1*HEXDIG [chunk-ext], or chunk data that
// does not end where its size says: 400 REQUEST_INVALID, and the upload it
// was for is removed as after a disconnect (what was appended is unknown).
TEST_F(BadInputWireTest, BadChunkSizesAre400AndLeaveNothing) {
  const std::vector<std::string> bodies{
      "zz\r\nab\r\n0\r\n\r\n",  "ffffffffffffffffffff\r\nab\r\n0\r\n\r\n",
      "-2\r\nab\r\n0\r\n\r\n",  "+2\r\nab\r\n0\r\n\r\n",
      "0x2\r\nab\r\n0\r\n\r\n", "2 \r\nab\r\n0\r\n\r\n",
      "\r\nab\r\n0\r\n\r\n",    "2\r\nabcdef\r\n0\r\n\r\n",
      "2\nab\r\n0\r\n\r\n",
  };
  for (const auto& body : bodies) {
    SCOPED_TRACE(body);
    std::string location = client.startUpload("repo");
    SlowRequest patch(
        server.port(),
        "PATCH " + location + " HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + body, "", 0ms);
    EXPECT_TRUE(isError(patch.response(5s), 400, "REQUEST_INVALID"));
    EXPECT_TRUE(patch.closedByServer(5s));
    EXPECT_TRUE(isError(client.get(location), 404, "BLOB_UPLOAD_UNKNOWN"));
    // A manifest the same way is not stored.
    SlowRequest put(server.port(), manifestPutHead("Transfer-Encoding: chunked\r\n") + body, "", 0ms);
    EXPECT_TRUE(isError(put.response(5s), 400, "REQUEST_INVALID"));
  }
  expectNoUploads();
  EXPECT_TRUE(isError(client.get(kTarget), 404, "MANIFEST_UNKNOWN"));
  expectServing();
}

// A Content-Length shorter than the body: the rest is the next request on the
// connection, and as a request it is malformed (400, then close). Longer than
// the body: the server waits for the rest, and a client that stops there is
// answered 408 (bodytimeout) and leaves nothing.
TEST_F(BadInputWireTest, AContentLengthThatLiesIsTheBodysFraming) {
  Content blob = makeContent("hello");
  SlowRequest longer(server.port(),
                     "POST /v2/repo/blobs/uploads/?digest=" + blob.digest +
                         " HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello, and more\r\n\r\n",
                     "", 0ms);
  std::string answers = longer.readUntilClosed(5s);
  std::size_t created = answers.find("HTTP/1.1 201");
  std::size_t refused = answers.find("HTTP/1.1 400");
  ASSERT_NE(created, std::string::npos) << answers;
  ASSERT_NE(refused, std::string::npos) << answers;
  EXPECT_LT(created, refused);
  EXPECT_NE(answers.find("\"REQUEST_INVALID\"", refused), std::string::npos) << answers;
  EXPECT_EQ(client.get("/v2/repo/blobs/" + blob.digest).body, "hello");

  Content other = makeContent("the whole body");
  SlowRequest shorter(server.port(),
                      "POST /v2/repo/blobs/uploads/?digest=" + other.digest + " HTTP/1.1\r\nHost: h\r\n" +
                          contentLength(other.size() + 10) + "\r\n" + other.bytes,
                      "", 0ms);
  EXPECT_TRUE(isError(shorter.response(10s), 408, "REQUEST_TIMEOUT"));
  EXPECT_EQ(client.head("/v2/repo/blobs/" + other.digest).status, 404);
  std::string manifest = "{\"schemaVersion\":2}";
  SlowRequest shortManifest(server.port(), manifestPutHead(contentLength(manifest.size() + 10)) + manifest,
                            "", 0ms);
  EXPECT_TRUE(isError(shortManifest.response(10s), 408, "REQUEST_TIMEOUT"));
  EXPECT_TRUE(isError(client.get(kTarget), 404, "MANIFEST_UNKNOWN"));
  expectNoUploads();
  expectServing();
}

// Half a body, then the client disconnects: nothing of it is stored, on any
// endpoint that takes a body (a PATCH the same way: ApiUploadTest).
TEST_F(BadInputWireTest, HalfABodyThenADisconnectLeavesNothing) {
  Content blob = makeContent(std::string(4000, 'h'));
  sendAndClose(server.port(), "POST /v2/repo/blobs/uploads/?digest=" + blob.digest +
                                  " HTTP/1.1\r\nHost: h\r\n" + contentLength(blob.size()) + "\r\n" +
                                  blob.bytes.substr(0, 2000));
  std::string manifest =
      imageManifest(mediatype::kOciManifest, descriptorJson(media::kOciConfig, sha256Of("c"), 1), {});
  sendAndClose(server.port(), manifestPutHead(contentLength(manifest.size())) + manifest.substr(0, 40));
  std::string location = client.startUpload("repo");
  sendAndClose(server.port(), "PUT " + withQuery(location, "digest=" + blob.digest) +
                                  " HTTP/1.1\r\nHost: h\r\n" + contentLength(blob.size()) + "\r\n" +
                                  blob.bytes.substr(0, 100));
  // The server notices each disconnect on its own time: wait until the upload is gone.
  EXPECT_TRUE(eventually([&] { return client.get(location).status == 404; }, 10s));
  EXPECT_EQ(client.head("/v2/repo/blobs/" + blob.digest).status, 404);
  EXPECT_FALSE(std::filesystem::exists(blobDataPath(root.path(), blob.digest)));
  EXPECT_TRUE(isError(client.get(kTarget), 404, "MANIFEST_UNKNOWN"));
  expectNoUploads();
  expectServing();
}

} // namespace
} // namespace pier::test::api
