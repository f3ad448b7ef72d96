// The webhook notification sink (notifications/webhook) against a real HTTP
// and HTTPS receiver on 127.0.0.1: what a batch looks like on the wire, which
// answers are failures and with which status, timeouts, refused and restarted
// receivers, certificate verification and the configuration's errors.
#include <gtest/gtest.h>

#include <pier/testing/notification_sink_suite.hpp>

#include <atomic>
#include <csignal>
#include <optional>
#include <thread>

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/String.h>

#include <pier/event_json.hpp>

#include "EventReceiver.hpp"
#include "PierProcess.hpp"
#include "RecordingLogger.hpp"
#include "TestPki.hpp"
#include "WebhookOptions.hpp"
#include "WebhookSink.hpp"
#include "plugin/PluginLoader.hpp"

namespace pier {
namespace {

using test::EventReceiver;
using webhook::WebhookSink;

// The server ignores SIGPIPE (core/src/app/main.cpp); so does this process,
// whose sinks write to receivers that closed.
const bool kSigpipeIgnored = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

constexpr std::chrono::seconds kGenerousBound{60};

Poco::JSON::Object::Ptr endpoint(const std::string& url, const std::string& extraMembers = {}) {
  return test::parseJson(R"({"name":"hook","url":")" + url + "\"" + extraMembers + "}");
}

std::unique_ptr<WebhookSink> makeSink(const Poco::JSON::Object::Ptr& section) {
  return std::make_unique<WebhookSink>(webhook::parseWebhookOptions(*section));
}

// The SDK suite's sample event, with an id of this test's own.
Event makeEvent(int n) {
  return pier::testing::sampleEvent("event-" + std::to_string(n), n);
}

class WebhookSinkTest : public ::testing::Test {
protected:
  // The status of the DeliveryError that write() throws; none when it returned.
  std::optional<int> failureStatus(NotificationSink& sink,
                                   const std::vector<Event>& events = {makeEvent(1)}) {
    try {
      sink.write(context_, events);
    } catch (const DeliveryError& e) {
      lastFailure_ = e.what();
      return e.status();
    }
    return std::nullopt;
  }
  // The message of the last DeliveryError failureStatus() saw.
  bool lastFailureSays(const std::string& text) const { return lastFailure_.find(text) != std::string::npos; }

  std::string lastFailure_;

  test::RecordingLogger logger_;
  Context context_{"webhook-test", logger_};
};

TEST_F(WebhookSinkTest, PostsABatchAsOneEnvelopeWithTheConfiguredHeaders) {
  EventReceiver receiver;
  receiver.start();
  auto sink = makeSink(endpoint(receiver.url("/hooks/registry?team=a"),
                                R"(,"headers":{"Authorization":["Bearer secret"],"X-Tag":["one","two"]})"));
  std::vector<Event> batch{makeEvent(1), makeEvent(2), makeEvent(3)};
  EXPECT_EQ(sink->write(context_, batch), 200);

  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  const test::ReceivedRequest& request = requests[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/hooks/registry?team=a");
  EXPECT_EQ(request.header("Content-Type"), kEventsMediaType);
  EXPECT_EQ(request.header("Content-Length"), std::to_string(request.body.size()));
  EXPECT_EQ(request.header("Authorization"), "Bearer secret");
  EXPECT_EQ(request.headerValues("X-Tag"), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(request.body, eventEnvelope(batch));
  auto events = request.events();
  ASSERT_EQ(events.size(), 3u);
  for (std::size_t i = 0; i < events.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(events[i]->getValue<std::string>("id"), batch[i].id);
    EXPECT_EQ(events[i]->getValue<std::string>("action"), batch[i].action);
    EXPECT_EQ(events[i]->getObject("target")->getValue<std::string>("digest"), batch[i].target.digest);
    EXPECT_EQ(events[i]->getObject("target")->getValue<std::string>("tag"), batch[i].target.tag);
    EXPECT_EQ(events[i]->getObject("target")->getValue<std::string>("repository"), "team/app");
    EXPECT_EQ(events[i]->getObject("request")->getValue<std::string>("id"), batch[i].request.id);
    EXPECT_EQ(events[i]->getObject("actor")->getValue<std::string>("name"), "alice");
    EXPECT_EQ(events[i]->getObject("source")->getValue<std::string>("instanceID"), "instance-1");
  }
}

TEST_F(WebhookSinkTest, UserInformationOfTheUrlIsSentAsBasicCredentials) {
  EventReceiver receiver;
  receiver.start();
  std::string url = receiver.url();
  url.insert(url.find("://") + 3, "hook%40ops:s3cret@");
  auto sink = makeSink(endpoint(url));
  receiver.setStatus(503);
  EXPECT_EQ(failureStatus(*sink), 503);
  EXPECT_FALSE(lastFailureSays("s3cret")) << "messages must not show the password: " << lastFailure_;
  receiver.setStatus(200);
  EXPECT_EQ(sink->write(context_, {makeEvent(1)}), 200);
  ASSERT_EQ(receiver.requests().size(), 2u);
  EXPECT_EQ(receiver.requests()[1].header("Authorization"), test::basicAuthorization("hook@ops:s3cret"));
}

TEST_F(WebhookSinkTest, ConsecutiveBatchesShareOneConnection) {
  EventReceiver receiver;
  receiver.start();
  auto sink = makeSink(endpoint(receiver.url()));
  for (int n = 1; n <= 3; ++n) EXPECT_EQ(sink->write(context_, {makeEvent(n)}), 200);
  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].peer, requests[0].peer);
  EXPECT_EQ(requests[2].peer, requests[0].peer);
}

TEST_F(WebhookSinkTest, AnswersOutside2xxAnd3xxAreDeliveryErrorsWithTheirStatus) {
  EventReceiver receiver;
  receiver.start();
  auto sink = makeSink(endpoint(receiver.url()));
  receiver.setStatus(500);
  EXPECT_EQ(failureStatus(*sink), 500);
  EXPECT_TRUE(
      lastFailureSays("webhook endpoint hook (" + receiver.url() + "): answered 500 Internal Server Error"))
      << lastFailure_;
  receiver.setStatus(404);
  EXPECT_EQ(failureStatus(*sink), 404);
  receiver.setStatus(429);
  EXPECT_EQ(failureStatus(*sink), 429);
  // Distribution's http sink accepts any 2xx or 3xx answer.
  receiver.setStatus(204);
  EXPECT_EQ(sink->write(context_, {makeEvent(1)}), 204);
  receiver.setStatus(302);
  EXPECT_EQ(sink->write(context_, {makeEvent(1)}), 302);
  EXPECT_EQ(receiver.requests().size(), 5u);
}

TEST_F(WebhookSinkTest, AReceiverThatNeverAnswersIsADeliveryErrorZeroAfterTheTimeout) {
  EventReceiver receiver;
  receiver.start();
  auto sink = makeSink(endpoint(receiver.url(), R"(,"timeout":"200ms")"));
  receiver.setSilent(true);
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(failureStatus(*sink), 0);
  EXPECT_TRUE(lastFailureSays("no answer within 200 ms")) << lastFailure_;
  EXPECT_LT(std::chrono::steady_clock::now() - started, kGenerousBound);
  EXPECT_TRUE(receiver.waitForRequests(1, kGenerousBound));

  receiver.setSilent(false);
  EXPECT_EQ(sink->write(context_, {makeEvent(2)}), 200);
}

TEST_F(WebhookSinkTest, ACancelledContextEndsTheWaitForAnAnswerBeforeTheTimeout) {
  EventReceiver receiver;
  receiver.start();
  auto sink = makeSink(endpoint(receiver.url(), R"(,"timeout":"1h")"));
  receiver.setSilent(true);
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  Context context("webhook-cancel", logger_, Context::Clock::time_point::max(), cancelled);
  std::thread canceller([&] {
    receiver.waitForRequests(1, kGenerousBound);
    cancelled->store(true);
  });
  auto started = std::chrono::steady_clock::now();
  EXPECT_THROW(sink->write(context, {makeEvent(1)}), DeliveryError);
  EXPECT_LT(std::chrono::steady_clock::now() - started, kGenerousBound);
  canceller.join();
  receiver.setSilent(false);
  EXPECT_EQ(sink->write(context_, {makeEvent(2)}), 200); // a new connection for the next batch
}

TEST_F(WebhookSinkTest, ARefusedConnectionIsADeliveryErrorZero) {
  EventReceiver receiver;
  receiver.start();
  std::string url = receiver.url();
  receiver.stop();
  auto sink = makeSink(endpoint(url));
  EXPECT_EQ(failureStatus(*sink), 0);
  EXPECT_TRUE(lastFailureSays("Connection refused")) << lastFailure_;
}

TEST_F(WebhookSinkTest, DeliversAgainOnceTheReceiverIsBack) {
  EventReceiver receiver;
  receiver.start();
  const std::uint16_t port = receiver.port();
  auto sink = makeSink(endpoint(receiver.url()));
  EXPECT_EQ(sink->write(context_, {makeEvent(1)}), 200);
  receiver.stop();
  EXPECT_EQ(failureStatus(*sink, {makeEvent(2)}), 0);
  receiver.start();
  ASSERT_EQ(receiver.port(), port);
  EXPECT_EQ(sink->write(context_, {makeEvent(2)}), 200);
  ASSERT_TRUE(receiver.waitForEvents(2, kGenerousBound));
  auto events = receiver.acceptedEvents();
  EXPECT_EQ(events[0]->getValue<std::string>("id"), "event-1");
  EXPECT_EQ(events[1]->getValue<std::string>("id"), "event-2");
}

TEST_F(WebhookSinkTest, AConnectionTheReceiverClosedWhileIdleIsReplacedWithoutAFailure) {
  EventReceiver receiver;
  receiver.start();
  auto sink = makeSink(endpoint(receiver.url()));
  EXPECT_EQ(sink->write(context_, {makeEvent(1)}), 200);
  receiver.stop(); // closes the kept-alive connection
  receiver.start();
  EXPECT_EQ(sink->write(context_, {makeEvent(2)}), 200);
  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_NE(requests[1].peer, requests[0].peer);
}

TEST_F(WebhookSinkTest, AnHttpsEndpointIsVerifiedAgainstTheConfiguredCa) {
  test::TempDir dir;
  test::Credential ca = test::makeCertificateAuthority(dir.path(), "webhook-ca");
  EventReceiver receiver(test::issueCertificate(dir.path(), "receiver", ca));
  receiver.start();
  ASSERT_EQ(receiver.url().rfind("https://", 0), 0u);

  auto trusting =
      makeSink(endpoint(receiver.url(), R"(,"parameters":{"cafile":")" + ca.certificate.string() + "\"}"));
  EXPECT_EQ(trusting->write(context_, {makeEvent(1)}), 200);
  ASSERT_EQ(receiver.requests().size(), 1u);
  EXPECT_EQ(receiver.requests()[0].events().size(), 1u);

  test::Credential other = test::makeCertificateAuthority(dir.path(), "other-ca");
  auto wrongCa =
      makeSink(endpoint(receiver.url(), R"(,"parameters":{"cafile":")" + other.certificate.string() + "\"}"));
  EXPECT_EQ(failureStatus(*wrongCa), 0);
  EXPECT_TRUE(lastFailureSays("certificate verify failed")) << lastFailure_;
  auto systemStore = makeSink(endpoint(receiver.url())); // the test CA is in no system store
  EXPECT_EQ(failureStatus(*systemStore), 0);
  EXPECT_TRUE(lastFailureSays("certificate verify failed")) << lastFailure_;
  EXPECT_EQ(receiver.requests().size(), 1u);
}

TEST_F(WebhookSinkTest, AnHttpsCertificateForAnotherHostIsRefused) {
  test::TempDir dir;
  test::Credential ca = test::makeCertificateAuthority(dir.path(), "webhook-ca");
  test::CertificateOptions elsewhere;
  elsewhere.ipAddresses = {"192.0.2.1"};
  elsewhere.dnsNames = {"elsewhere.test"};
  EventReceiver receiver(test::issueCertificate(dir.path(), "elsewhere", ca, elsewhere));
  receiver.start();
  auto sink =
      makeSink(endpoint(receiver.url(), R"(,"parameters":{"cafile":")" + ca.certificate.string() + "\"}"));
  EXPECT_EQ(failureStatus(*sink), 0);
  EXPECT_TRUE(lastFailureSays("Unacceptable certificate from 127.0.0.1")) << lastFailure_;
  EXPECT_TRUE(receiver.requests().empty());
}

// A listener that answers each connection with the next of the given bytes
// after reading the request, then closes it.
class GarbageAnswerer {
public:
  explicit GarbageAnswerer(std::vector<std::string> answers)
      : listener_(Poco::Net::SocketAddress("127.0.0.1", 0)), thread_([this, answers] { serve(answers); }) {}
  ~GarbageAnswerer() { thread_.join(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(listener_.address().port()) + "/"; }

private:
  void serve(const std::vector<std::string>& answers) {
    for (const std::string& answer : answers) {
      if (!listener_.poll(Poco::Timespan(30, 0), Poco::Net::Socket::SELECT_READ)) return;
      Poco::Net::StreamSocket connection = listener_.acceptConnection();
      connection.setReceiveTimeout(Poco::Timespan(10, 0));
      try {
        std::string request;
        char buffer[4096];
        // The head, then as much of the body as Content-Length announces (read bounded).
        for (int reads = 0; reads < 1000; ++reads) {
          std::size_t headEnd = request.find("\r\n\r\n");
          if (headEnd != std::string::npos) {
            std::size_t length = 0;
            std::size_t at = Poco::toLower(request).find("content-length:");
            if (at != std::string::npos) length = std::stoul(request.substr(at + 15));
            if (request.size() >= headEnd + 4 + length) break;
          }
          int got = connection.receiveBytes(buffer, sizeof buffer);
          if (got <= 0) break;
          request.append(buffer, static_cast<std::size_t>(got));
        }
        if (!answer.empty()) connection.sendBytes(answer.data(), static_cast<int>(answer.size()));
        connection.shutdown();
      } catch (const std::exception&) {
        // the sink gave up first: on to the next
      }
      connection.close();
    }
  }

  Poco::Net::ServerSocket listener_;
  std::thread thread_;
};

TEST_F(WebhookSinkTest, AMalformedAnswerIsADeliveryErrorZero) {
  const std::vector<std::string> answers = {
      "",                        // closed without a word
      "garbage\r\n\r\n",         // no status line
      "HTTP/1.1 2oo OK\r\n\r\n", // a status that is no number
      "HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\n",
      std::string("\x16\x03\x01\x00\x05\xff\x00\x00\x00\x00", 10), // binary
  };
  GarbageAnswerer answerer(answers);
  auto sink = makeSink(endpoint(answerer.url(), R"(,"timeout":"5s")"));
  for (std::size_t i = 0; i < answers.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(failureStatus(*sink), 0);
  }
}

TEST_F(WebhookSinkTest, ConfigErrorsNameTheKey) {
  const std::string https = R"("url":"https://127.0.0.1:1/")";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"name":"hook"})", "notifications.endpoints[hook].url: is required"},
      {R"({"name":"hook","url":"ftp://example.com/x"})", "notifications.endpoints[hook].url: "},
      {R"({"name":"hook","url":"http://"})", "notifications.endpoints[hook].url: "},
      {R"({"name":"hook","url":"notaurl"})", "notifications.endpoints[hook].url: "},
      {R"({"name":"hook","url":"http://exa mple.com/"})", "notifications.endpoints[hook].url: "},
      {R"({"name":"hook","url":"http://example.com:99999/"})", "notifications.endpoints[hook].url: "},
      {R"({"name":"hook","url":"http://example.com/","headers":{"X-A":"plain"}})",
       "notifications.endpoints[hook].headers.X-A: "},
      {R"({"name":"hook","url":"http://example.com/","headers":{"X-A":[1]}})",
       "notifications.endpoints[hook].headers.X-A: "},
      {R"({"name":"hook","url":"http://example.com/","headers":{"X-A":["a\r\nB: c"]}})",
       "notifications.endpoints[hook].headers.X-A: "},
      {R"({"name":"hook","url":"http://example.com/","headers":{"Bad Name":["x"]}})",
       "notifications.endpoints[hook].headers.Bad Name: "},
      {R"({"name":"hook","url":"http://example.com/","headers":{"content-length":["1"]}})",
       "notifications.endpoints[hook].headers.content-length: "},
      {R"({"name":"hook","url":"http://example.com/","timeout":"soon"})",
       "notifications.endpoints[hook].timeout: "},
      {R"({"name":"hook",)" + https + R"(,"parameters":{"cafile":"/nonexistent/ca.pem"}})",
       "notifications.endpoints[hook].parameters.cafile: "},
      {R"({"name":"hook",)" + https + R"(,"parameters":{"cafile":7}})",
       "notifications.endpoints[hook].parameters.cafile: "},
      {R"({"name":"hook","url":"http://example.com/","parameters":{"cafile":"/etc/hostname"}})",
       "notifications.endpoints[hook].parameters.cafile: "},
  };
  for (const auto& [section, expected] : cases) {
    SCOPED_TRACE(section);
    try {
      makeSink(test::parseJson(section));
      ADD_FAILURE() << "expected a ConfigError";
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()).rfind(expected, 0), 0u) << e.what();
    }
  }
}

TEST_F(WebhookSinkTest, ACaFileThatHoldsNoCertificateIsAConfigError) {
  test::TempDir dir;
  test::writeFile(dir / "ca.pem", "not a certificate\n");
  try {
    makeSink(
        endpoint("https://127.0.0.1:1/", R"(,"parameters":{"cafile":")" + (dir / "ca.pem").string() + "\"}"));
    ADD_FAILURE() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("notifications.endpoints[hook].parameters.cafile: "),
              std::string::npos)
        << e.what();
  }
}

TEST_F(WebhookSinkTest, IsThePluginRegisteredAsWebhook) {
  EventReceiver receiver;
  receiver.start();
  PluginLoader loader; // before the sink: its code lives in the plugin
  loader.loadDirectory(PIER_TEST_PLUGIN_DIR);
  std::shared_ptr<NotificationSink> sink =
      loader.catalog().createNotificationSink("webhook", *endpoint(receiver.url()));
  EXPECT_EQ(sink->write(context_, {makeEvent(1), makeEvent(2)}), 200);
  EXPECT_TRUE(receiver.waitForEvents(2, kGenerousBound));
  EXPECT_THROW(loader.catalog().createNotificationSink("webhook", *endpoint("gopher://x/")), ConfigError);
  sink.reset();
}

} // namespace
} // namespace pier
