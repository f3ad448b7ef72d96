// The SDK's notification sink conformance suite (pier::sdk_testing,
// <pier/testing/notification_sink_suite.hpp>) on the webhook sink, as the
// real plugin loader makes it, posting to a real HTTP receiver on 127.0.0.1
// (tests/integration/EventReceiver): delivered is what it accepted; the
// failing destination answers 503. plugins/example runs the suite on its
// jsonlines sink in its own tests.
#include <csignal>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <pier/testing/notification_sink_suite.hpp>

#include "EventReceiver.hpp"
#include "PierProcess.hpp"
#include "plugin/PluginLoader.hpp"

namespace pier {
namespace {

// The server ignores SIGPIPE; so does this process, whose sinks write to receivers that closed.
const bool kSinkSigpipeIgnored = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

PluginLoader& sinkPlugins() {
  static PluginLoader loader;
  static std::once_flag loaded;
  std::call_once(loaded, [] { loader.loadDirectory(PIER_TEST_PLUGIN_DIR); });
  return loader;
}

std::shared_ptr<NotificationSink> webhookTo(const test::EventReceiver& receiver) {
  auto endpoint = test::parseJson(R"({"name":"conformance","url":")" + receiver.url() + "\"}");
  return sinkPlugins().catalog().createNotificationSink("webhook", *endpoint);
}

testing::NotificationSinkTarget webhookTarget() {
  testing::NotificationSinkTarget target;
  target.name = "webhook";
  target.factory = [] {
    auto receiver = std::make_shared<test::EventReceiver>();
    receiver->start();
    // The receiver stays up until the suite lets go of the sink.
    auto sink = testing::onRelease<NotificationSink>(webhookTo(*receiver), [receiver](NotificationSink&) {});
    return testing::SinkUnderTest{sink, [receiver] {
                                    std::vector<std::string> ids;
                                    for (const auto& event : receiver->acceptedEvents())
                                      ids.push_back(event->getValue<std::string>("id"));
                                    return ids;
                                  }};
  };
  target.failingFactory = [] {
    auto receiver = std::make_shared<test::EventReceiver>();
    receiver->start();
    receiver->setStatus(503);
    return testing::onRelease<NotificationSink>(webhookTo(*receiver), [receiver](NotificationSink&) {});
  };
  return target;
}

PIER_NOTIFICATION_SINK_CONFORMANCE(Plugins, webhookTarget());

} // namespace
} // namespace pier
