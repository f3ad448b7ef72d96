// Uploads are locked one by one: a client trickling into one upload delays
// no other upload, and two requests on the same upload run one after the
// other with one consistent result.
#include <future>

#include <gtest/gtest.h>

#include "ApiClient.hpp"
#include "SlowClient.hpp"

namespace pier::test::api {
namespace {

using namespace std::chrono_literals;

class UploadLockTest : public ::testing::Test {
protected:
  TempDir root;
  PierServer server{filesystemConfig(root.path())};
  Client client{server.port()};
};

TEST_F(UploadLockTest, ATricklingUploadDelaysNoOtherUpload) {
  std::string location = client.startUpload("slow/repo");
  // One byte per 100 ms: 12 s, time for the uploads below on a loaded machine.
  const std::string trickled(120, 't');
  SlowRequest slow(server.port(), patchHead(location, trickled.size()), trickled, 100ms);

  // Enough other uploads that some would share a lock with the slow one if
  // upload ids hashed onto a fixed set of locks.
  for (int i = 0; i < 150; ++i) {
    Content blob = makeContent("other upload " + std::to_string(i));
    if (i % 15 == 0)
      client.pushBlobChunked("fast/repo", blob, 4);
    else
      client.pushBlob("fast/repo", blob);
  }
  EXPECT_FALSE(slow.bodySent()) << "the other uploads waited for the trickling one";

  auto answer = slow.response(25s);
  EXPECT_EQ(answer.status, 202);
  EXPECT_EQ(answer.header("Range"), "0-119");
  EXPECT_EQ(client.finish(location, sha256Of(trickled)).status, 201);
}

TEST_F(UploadLockTest, TwoRequestsOnOneUploadAreSerialized) {
  std::string location = client.startUpload("repo");
  const std::string first(15, 'a');  // trickled: 1.5 s
  const std::string second(10, 'b'); // sent at once, while the first is still arriving
  SlowRequest slow(server.port(), patchHead(location, first.size()), first, 100ms);
  std::this_thread::sleep_for(300ms);
  auto started = std::chrono::steady_clock::now();
  auto fast = std::async(std::launch::async, [&] { return client.patch(location, second); });
  auto fastAnswer = fast.get();
  auto waited = std::chrono::steady_clock::now() - started;

  auto slowAnswer = slow.response(10s);
  EXPECT_EQ(slowAnswer.status, 202);
  EXPECT_EQ(slowAnswer.header("Range"), "0-14");
  // The second waited for the first and appended after it.
  EXPECT_EQ(fastAnswer.status, 202);
  EXPECT_EQ(fastAnswer.header("Range"), "0-24");
  EXPECT_GT(waited, 800ms);
  auto done = client.finish(fastAnswer.header("Location"), sha256Of(first + second));
  ASSERT_EQ(done.status, 201) << done.body;
  EXPECT_EQ(client.get("/v2/repo/blobs/" + sha256Of(first + second)).body, first + second);
}

} // namespace
} // namespace pier::test::api
