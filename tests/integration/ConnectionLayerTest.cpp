// The connection layer over real sockets: slow and idle clients cost no
// worker thread and lock no one out, deadlines close them, per-client and
// upload limits answer as documented, and bodies below the minimum rate get
// 408 and leave nothing. Malformed heads and bodies: BadInputWireTest.
#include <thread>

#include <gtest/gtest.h>

#include "ApiClient.hpp"
#include "SlowClient.hpp"

namespace pier::test::api {
namespace {

using namespace std::chrono_literals;

std::string layerConfig(const TempDir& root, const std::string& http) {
  return filesystemConfig(root.path(), http);
}

// Clients that GET the blob and do not read the answer.
std::vector<std::unique_ptr<SlowRequest>> stalledDownloads(std::uint16_t port, const Content& blob,
                                                           int count) {
  std::vector<std::unique_ptr<SlowRequest>> stalled;
  for (int i = 0; i < count; ++i)
    stalled.push_back(std::make_unique<SlowRequest>(
        port, "GET /v2/big/repo/blobs/" + blob.digest + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "", 0ms));
  return stalled;
}

// The first code of an error body.
std::string errorCode(const HttpResponse& response) {
  return parseJson(response.body)->getArray("errors")->getObject(0)->getValue<std::string>("code");
}

TEST(ConnectionLayer, HalfSentHeadsLockNoOneOutAndAreClosedAtTheirDeadline) {
  TempDir root;
  PierServer server(layerConfig(root, "  threads: 8\n  headtimeout: 2s\n"));
  std::vector<std::unique_ptr<SlowRequest>> slow;
  for (int i = 0; i < 400; ++i)
    slow.push_back(
        std::make_unique<SlowRequest>(server.port(), "GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n", "", 0ms));
  // A normal client is answered while they are held, and they hold no thread.
  auto answer = httpRequest(server.port(), "GET", "/v2/");
  EXPECT_EQ(answer.status, 200);
  EXPECT_LE(threadCount(server.pid()), 8 + 6);
  // Past the head deadline the server closes them all.
  int closed = 0;
  for (auto& request : slow) closed += request->closedByServer(5s) ? 1 : 0;
  EXPECT_EQ(closed, 400);
  EXPECT_EQ(httpRequest(server.port(), "GET", "/v2/").status, 200);
}

TEST(ConnectionLayer, IdleKeepAliveConnectionsAreClosedAfterTheIdleTime) {
  TempDir root;
  PierServer server(layerConfig(root, "  idletimeout: 1s\n"));
  SlowRequest idle(server.port(), "GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "", 0ms);
  EXPECT_EQ(idle.response(5s).status, 200);
  EXPECT_TRUE(idle.closedByServer(5s));
}

TEST(ConnectionLayer, PerClientLimitAnswers503WhileOtherAddressesAreServed) {
  TempDir root;
  PierServer server(layerConfig(root, "  maxconnectionsperclient: 5\n"));
  const std::string get = "GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  std::vector<std::unique_ptr<SlowRequest>> held;
  for (int i = 0; i < 5; ++i) {
    held.push_back(std::make_unique<SlowRequest>(server.port(), get, "", 0ms));
    ASSERT_EQ(held.back()->response(5s).status, 200);
  }
  SlowRequest sixth(server.port(), get, "", 0ms);
  auto refused = sixth.response(5s);
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.header("Retry-After"), "1");
  EXPECT_EQ(refused.header("Docker-Distribution-API-Version"), "registry/2.0");
  EXPECT_EQ(errorCode(refused), "UNAVAILABLE");
  // Another client address is served.
  SlowRequest other(server.port(), get, "", 0ms, "127.0.0.2");
  EXPECT_EQ(other.response(5s).status, 200);
  // A freed slot serves the first address again.
  held.pop_back();
  std::this_thread::sleep_for(200ms);
  SlowRequest again(server.port(), get, "", 0ms);
  EXPECT_EQ(again.response(5s).status, 200);
}

TEST(ConnectionLayer, ABodyBelowTheMinimumRateIs408AndLeavesNothing) {
  TempDir root;
  PierServer server(layerConfig(root, "  minbodyrate: 100\n  bodytimeout: 1s\n"));
  Client client(server.port());
  std::string location = client.startUpload("repo");
  const std::string body(20, 'x'); // a byte a second
  SlowRequest patch(server.port(), patchHead(location, body.size()), body, 1000ms);
  auto answer = patch.response(10s);
  EXPECT_EQ(answer.status, 408);
  EXPECT_EQ(errorCode(answer), "REQUEST_TIMEOUT");
  EXPECT_TRUE(patch.closedByServer(5s));
  EXPECT_EQ(client.get(location).status, 404);
  EXPECT_EQ(entryCount(uploadsPath(root.path(), "repo")), 0u);

  // A monolithic push the same way leaves no blob.
  const std::string digest = sha256Of(body);
  SlowRequest post(server.port(),
                   "POST /v2/repo/blobs/uploads/?digest=" + digest +
                       " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 20\r\n\r\n",
                   body, 1000ms);
  EXPECT_EQ(post.response(10s).status, 408);
  EXPECT_EQ(client.head("/v2/repo/blobs/" + digest).status, 404);
  EXPECT_FALSE(std::filesystem::exists(blobDataPath(root.path(), digest)));
  EXPECT_EQ(entryCount(uploadsPath(root.path(), "repo")), 0u);
}

TEST(ConnectionLayer, UploadsBeyondTheLimitAre429) {
  TempDir root;
  PierServer server(layerConfig(root, "  maxuploads: 1\n"));
  Client client(server.port());
  std::string first = client.startUpload("repo");
  const std::string body(30, 'a');
  SlowRequest slow(server.port(), patchHead(first, body.size()), body, 100ms);
  std::this_thread::sleep_for(300ms);
  auto refused = client.patch(client.startUpload("repo"), "other chunk");
  EXPECT_TRUE(isError(refused, 429, "TOOMANYREQUESTS"));
  EXPECT_EQ(refused.header("Retry-After"), "1");
  EXPECT_EQ(client.get("/v2/").status, 200); // reads go on
  EXPECT_EQ(slow.response(10s).status, 202);
}

TEST(ConnectionLayer, LargeDownloadsDoNotHoldWorkers) {
  TempDir root;
  PierServer server(layerConfig(root, "  threads: 4\n"));
  Client client(server.port());
  Content blob = makeContent(std::string(32 << 20, 'b'));
  client.pushBlob("big/repo", blob);
  // Clients that ask for the blob and do not read it: the socket fills, the worker moves on.
  auto stalled = stalledDownloads(server.port(), blob, 12);
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(client.get("/v2/").status, 200);
  EXPECT_EQ(client.get("/v2/big/repo/blobs/" + blob.digest).body, blob.bytes);
  EXPECT_LE(threadCount(server.pid()), 4 + 6);
}

// A client that half-closes its side while a large response waits for room
// costs nothing until it reads or the send deadline passes.
TEST(ConnectionLayer, AHalfClosedStalledDownloadDoesNotSpin) {
  TempDir root;
  PierServer server(layerConfig(root, ""));
  Client client(server.port());
  Content blob = makeContent(std::string(32 << 20, 'h'));
  client.pushBlob("big/repo", blob);
  auto stalled = stalledDownloads(server.port(), blob, 4);
  std::this_thread::sleep_for(300ms);
  for (auto& request : stalled) request->shutdownSend();
  std::this_thread::sleep_for(300ms);
  double before = cpuSeconds(server.pid());
  std::this_thread::sleep_for(1s);
  EXPECT_LT(cpuSeconds(server.pid()) - before, 0.3) << "the server busied itself with stalled connections";
  EXPECT_EQ(client.get("/v2/").status, 200);
}

TEST(ConnectionLayer, PipelinedRequestsAreAnsweredInOrder) {
  TempDir root;
  PierServer server(layerConfig(root, ""));
  SlowRequest pipelined(server.port(),
                        "GET /v2/ HTTP/1.1\r\nHost: h\r\n\r\n"
                        "GET /v2/nothing HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
                        "", 0ms);
  std::string answers = pipelined.readUntilClosed(5s);
  std::size_t first = answers.find("HTTP/1.1 200");
  std::size_t second = answers.find("HTTP/1.1 404");
  EXPECT_NE(first, std::string::npos) << answers;
  EXPECT_NE(second, std::string::npos) << answers;
  EXPECT_LT(first, second);
}

} // namespace
} // namespace pier::test::api
