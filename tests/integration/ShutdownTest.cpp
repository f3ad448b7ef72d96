// Shutdown is bounded: SIGTERM stops accepting, lets requests in flight
// finish within http.draintimeout, closes idle keep-alive connections without
// waiting for them, cuts what is still running at the deadline (leaving no
// partial upload) and exits 0.
#include <csignal>

#include <gtest/gtest.h>

#include "ApiClient.hpp"
#include "SlowClient.hpp"

namespace pier::test::api {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string drainConfig(const TempDir& root, const std::string& drain) {
  return filesystemConfig(root.path(), "  draintimeout: " + drain + "\n");
}

// A kept-alive connection that has been answered once and now idles.
std::unique_ptr<SlowRequest> idleConnection(std::uint16_t port) {
  auto idle = std::make_unique<SlowRequest>(port, "GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "", 0ms);
  EXPECT_EQ(idle->response(5s).status, 200);
  return idle;
}

TEST(Shutdown, IdleConnectionsDoNotHoldTheDrain) {
  TempDir root;
  PierServer server(drainConfig(root, "10s"));
  auto first = idleConnection(server.port());
  auto second = idleConnection(server.port());
  auto started = Clock::now();
  EXPECT_EQ(server.stop(SIGTERM), 0);
  EXPECT_LT(Clock::now() - started, 3s);
}

TEST(Shutdown, RequestsInFlightFinishAndTheRestIsCutAtTheDeadline) {
  TempDir root;
  PierServer server(drainConfig(root, "2s"));
  Client client(server.port());
  auto idle = idleConnection(server.port());

  std::string shortLocation = client.startUpload("repo");
  const std::string shortBody(8, 's'); // done about 0.8 s after it starts
  SlowRequest finishing(server.port(), patchHead(shortLocation, shortBody.size()), shortBody, 100ms);
  std::string longLocation = client.startUpload("repo");
  const std::string longBody(1000, 'l'); // would take 100 s
  SlowRequest stalled(server.port(), patchHead(longLocation, longBody.size()), longBody, 100ms);
  std::this_thread::sleep_for(200ms);

  auto started = Clock::now();
  kill(server.pid(), SIGTERM);
  auto answer = finishing.response(5s);
  EXPECT_EQ(answer.status, 202) << "a request in flight finishes during the drain";
  EXPECT_EQ(answer.header("Range"), "0-7");
  EXPECT_EQ(server.stop(SIGTERM), 0);
  auto took = Clock::now() - started;
  EXPECT_GT(took, 1500ms) << "the stalled upload was waited for up to the drain timeout";
  EXPECT_LT(took, 4s);

  // The cut upload left nothing; the finished chunk is there to resume.
  EXPECT_FALSE(std::filesystem::exists(uploadsPath(root.path(), "repo") / lastSegment(longLocation)));
  PierServer restarted(filesystemConfig(root.path()));
  Client after(restarted.port());
  EXPECT_EQ(after.get(shortLocation).header("Range"), "0-7");
  EXPECT_EQ(after.get(longLocation).status, 404);
  EXPECT_EQ(after.finish(shortLocation, sha256Of(shortBody)).status, 201);
}

} // namespace
} // namespace pier::test::api
