// The Notifier in-process, with a sink that keeps what it is given and can
// be told to fail: ignore rules, order across failures, the figures, and a
// stop that cancels a delivery in flight.
#include <gtest/gtest.h>

#include <cstdio>
#include <thread>

#include "PierProcess.hpp" // TempDir
#include "events/Notifier.hpp"

namespace pier {
namespace {

using test::TempDir;

class KeepingSink final : public NotificationSink {
public:
  int write(const Context& context, const std::vector<Event>& events) override {
    if (hang) {
      while (!context.done()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      throw DeliveryError("cancelled", 0);
    }
    if (failing) throw DeliveryError("failing on purpose", 503);
    std::lock_guard lock(mutex);
    for (const auto& event : events) ids.push_back(event.id);
    return 202;
  }
  std::vector<std::string> received() {
    std::lock_guard lock(mutex);
    return ids;
  }
  std::atomic<bool> failing{false};
  std::atomic<bool> hang{false};
  std::mutex mutex;
  std::vector<std::string> ids;
};

Event event(const std::string& id, const std::string& action = "push",
            const std::string& mediaType = "application/octet-stream") {
  Event e;
  e.id = id;
  e.timestamp = std::chrono::system_clock::now();
  e.action = action;
  e.target.mediaType = mediaType;
  e.target.digest = "sha256:" + std::string(64, 'a');
  e.target.repository = "a/repo";
  return e;
}

template <typename Condition> bool eventually(Condition condition) {
  for (int i = 0; i < 1500 && !condition(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return condition();
}

class NotifierTest : public ::testing::Test {
protected:
  NotifierTest() : logFile_(std::tmpfile()), logger_(LogLevel::info, LineLogger::Format::text, logFile_) {}
  ~NotifierTest() override { std::fclose(logFile_); }

  Notifier::Endpoint endpoint(const std::string& name, std::shared_ptr<KeepingSink> sink) {
    Config::Notifications::Endpoint settings;
    settings.name = name;
    settings.url = "http://" + name + ".example/";
    settings.threshold = 2;
    settings.backoff = std::chrono::milliseconds(20);
    return {
        settings, std::move(sink),
        std::make_unique<DurableQueue>(DurableQueue::Options{dir_ / name, 1 << 20, false, 0}, name, logger_)};
  }

  TempDir dir_;
  std::FILE* logFile_;
  LineLogger logger_;
};

TEST_F(NotifierTest, EveryEventArrivesInOrderAcrossFailures) {
  auto sink = std::make_shared<KeepingSink>();
  sink->failing = true;
  std::vector<Notifier::Endpoint> endpoints;
  endpoints.push_back(endpoint("flaky", sink));
  Notifier notifier(std::move(endpoints), logger_);
  std::vector<std::string> published;
  for (int i = 0; i < 50; ++i) {
    published.push_back("id-" + std::to_string(i));
    notifier.publish(event(published.back()));
  }
  ASSERT_TRUE(eventually([&] { return notifier.figures()[0].failures > 0; }));
  auto failing = notifier.figures()[0];
  EXPECT_EQ(failing.successes, 0u);
  EXPECT_GT(failing.pending, 0u);
  EXPECT_EQ(failing.lastStatusCodes.back(), 503);
  EXPECT_EQ(failing.lastError, "failing on purpose");
  EXPECT_LE(failing.lastStatusCodes.size(), 10u);

  sink->failing = false;
  ASSERT_TRUE(eventually([&] { return sink->received().size() >= published.size(); }));
  EXPECT_EQ(sink->received(), published);
  ASSERT_TRUE(eventually([&] { return notifier.figures()[0].pending == 0; }));
  EXPECT_EQ(notifier.figures()[0].successes, 50u);
  EXPECT_EQ(notifier.figures()[0].lastStatusCodes.back(), 202);
  EXPECT_TRUE(notifier.stop(std::chrono::seconds(5)));
}

TEST_F(NotifierTest, IgnoreRulesApplyPerEndpoint) {
  auto all = std::make_shared<KeepingSink>();
  auto some = std::make_shared<KeepingSink>();
  std::vector<Notifier::Endpoint> endpoints;
  endpoints.push_back(endpoint("all", all));
  endpoints.push_back(endpoint("some", some));
  endpoints[1].settings.ignoredMediaTypes = {"application/vnd.oci.image.manifest.v1+json"};
  endpoints[1].settings.ignoredActions = {"pull"};
  Notifier notifier(std::move(endpoints), logger_);
  notifier.publish(event("blob-push"));
  notifier.publish(event("manifest-push", "push", "application/vnd.oci.image.manifest.v1+json"));
  notifier.publish(event("blob-pull", "pull"));
  notifier.publish(event("blob-delete", "delete", ""));
  ASSERT_TRUE(eventually([&] { return all->received().size() >= 4 && some->received().size() >= 2; }));
  EXPECT_EQ(all->received().size(), 4u);
  EXPECT_EQ(some->received(), (std::vector<std::string>{"blob-push", "blob-delete"}));
}

TEST_F(NotifierTest, StopCancelsTheDeliveryInFlightAndKeepsItQueued) {
  auto sink = std::make_shared<KeepingSink>();
  sink->hang = true;
  {
    std::vector<Notifier::Endpoint> endpoints;
    endpoints.push_back(endpoint("slow", sink));
    endpoints[0].settings.timeout = std::chrono::hours(1);
    Notifier notifier(std::move(endpoints), logger_);
    notifier.publish(event("in-flight"));
    EXPECT_TRUE(notifier.stop(std::chrono::seconds(5)));
  }
  sink->hang = false;
  std::vector<Notifier::Endpoint> endpoints;
  endpoints.push_back(endpoint("slow", sink));
  Notifier notifier(std::move(endpoints), logger_);
  ASSERT_TRUE(eventually([&] { return !sink->received().empty(); }));
  EXPECT_EQ(sink->received(), std::vector<std::string>{"in-flight"});
}

TEST(NotifierFigures, JsonNamesEveryFigure) {
  EndpointFigures figures;
  figures.name = "a";
  figures.url = "http://a/";
  figures.pending = 3;
  figures.lastStatusCodes = {503, 200};
  figures.lastError = "boom";
  auto json = test::parseJson(figuresJson({figures}));
  auto entry = json->getArray("endpoints")->getObject(0);
  EXPECT_EQ(entry->getValue<std::string>("name"), "a");
  EXPECT_EQ(entry->getValue<int>("pending"), 3);
  EXPECT_EQ(entry->getArray("lastStatusCodes")->size(), 2u);
  EXPECT_EQ(entry->getValue<std::string>("lastError"), "boom");
  EXPECT_TRUE(entry->has("successes") && entry->has("failures") && entry->has("dropped") &&
              entry->has("url"));
}

} // namespace
} // namespace pier
