// End to end: the real server, its durable queue and the webhook sink
// (notifications/webhook) posting to a real HTTP receiver on 127.0.0.1
// (EventReceiver): events arrive in Distribution's envelope; a receiver that
// is down for a while gets every event, in order, once it is back; a receiver
// that holds a delivery unanswered does not hold the pushes.
#include <gtest/gtest.h>

#include "ApiClient.hpp"
#include "EventReceiver.hpp"

namespace pier::test::api {
namespace {

std::string webhookConfig(const TempDir& root, const TempDir& queue, const EventReceiver& receiver,
                          const std::string& extra = {}) {
  return filesystemConfig(root.path(),
                          "notifications:\n  endpoints:\n    - name: hook\n      url: " + receiver.url() +
                              "\n      threshold: 1\n      backoff: 50ms\n" + extra +
                              "  queue:\n    directory: " + queue.path().string() + "\n");
}

std::vector<std::string> digests(const std::vector<Poco::JSON::Object::Ptr>& events) {
  std::vector<std::string> out;
  for (const auto& event : events) out.push_back(event->getObject("target")->getValue<std::string>("digest"));
  return out;
}

TEST(WebhookNotification, EventsArriveInTheEnvelope) {
  TempDir root, queue;
  EventReceiver receiver;
  receiver.start();
  PierServer server(webhookConfig(root, queue, receiver));
  Content blob = makeContent("webhook blob");
  Client(server.port()).pushBlob("a/repo", blob);
  ASSERT_TRUE(receiver.waitForEvents(1, std::chrono::seconds(20))) << server.log();
  auto request = receiver.requests().front();
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/events");
  EXPECT_EQ(request.header("Content-Type"), "application/vnd.docker.distribution.events.v1+json");
  EXPECT_EQ(digests(receiver.acceptedEvents()), std::vector<std::string>{blob.digest});
}

TEST(WebhookNotification, ReceiverDownForAWhileGetsEveryEventInOrder) {
  TempDir root, queue;
  EventReceiver receiver;
  receiver.start();
  PierServer server(webhookConfig(root, queue, receiver));
  Client client(server.port());
  std::vector<std::string> pushed;
  auto push = [&](int i) {
    Content blob = makeContent("down " + std::to_string(i));
    client.pushBlob("a/repo", blob);
    pushed.push_back(blob.digest);
  };
  push(0);
  ASSERT_TRUE(receiver.waitForEvents(1, std::chrono::seconds(20))) << server.log();
  receiver.stop();
  for (int i = 1; i <= 10; ++i) push(i);
  receiver.setStatus(500); // back, but failing first
  receiver.start();
  ASSERT_TRUE(receiver.waitForRequests(3, std::chrono::seconds(20))) << server.log();
  EXPECT_TRUE(receiver.acceptedEvents().size() == 1);
  receiver.setStatus(200);
  ASSERT_TRUE(receiver.waitForEvents(pushed.size(), std::chrono::seconds(30))) << server.log();
  EXPECT_EQ(digests(receiver.acceptedEvents()), pushed);
}

TEST(WebhookNotification, AReceiverThatHoldsItsAnswerDoesNotHoldPushes) {
  TempDir root, queue;
  EventReceiver receiver;
  receiver.start();
  receiver.setSilent(true);
  PierServer server(webhookConfig(root, queue, receiver, "      timeout: 60s\n"));
  Client client(server.port());
  std::vector<std::string> pushed;
  Content first = makeContent("held 0");
  client.pushBlob("a/repo", first);
  pushed.push_back(first.digest);
  ASSERT_TRUE(receiver.waitForRequests(1, std::chrono::seconds(20))) << server.log();
  // The delivery of the first event is held: every push still completes.
  for (int i = 1; i <= 20; ++i) {
    Content blob = makeContent("held " + std::to_string(i));
    client.pushBlob("a/repo", blob);
    pushed.push_back(blob.digest);
  }
  EXPECT_EQ(receiver.requests().size(), 1u);
  EXPECT_EQ(receiver.requests().front().answered, 0);
  receiver.setSilent(false);
  ASSERT_TRUE(receiver.waitForEvents(pushed.size(), std::chrono::seconds(30))) << server.log();
  EXPECT_EQ(digests(receiver.acceptedEvents()), pushed);
}

} // namespace
} // namespace pier::test::api
