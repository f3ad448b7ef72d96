// The notification sink conformance suite (notification_sink_suite.hpp).
#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "pier/testing/notification_sink_suite.hpp"

namespace pier::testing {

namespace detail {
int notificationSinkConformanceAnchor() {
  return 0;
}
} // namespace detail

void PrintTo(const NotificationSinkTarget& target, std::ostream* out) {
  *out << "notification sink \"" << target.name << "\"";
}

Event sampleEvent(const std::string& id, int n) {
  Event event;
  event.id = id;
  event.timestamp = std::chrono::system_clock::time_point(std::chrono::microseconds(1764547200000000LL + n));
  event.action = n % 2 ? "push" : "pull";
  event.target.mediaType = "application/vnd.oci.image.manifest.v1+json";
  event.target.digest = "sha256:" + std::string(64, static_cast<char>('a' + n % 6));
  event.target.size = event.target.length = 100 + n;
  event.target.repository = "team/app";
  event.target.tag = "v" + std::to_string(n);
  event.target.references = {
      {"sha256:" + std::string(64, 'c'), 7, "application/vnd.oci.image.config.v1+json"}};
  event.request = {"request-" + std::to_string(n), "10.0.0.2:5000", "registry.example", "PUT", "skopeo/1.9"};
  event.actor.name = "alice";
  event.source = {"10.0.0.1:5000", "instance-1"};
  return event;
}

void NotificationSinkConformance::SetUp() {
  ASSERT_TRUE(GetParam().factory) << "the target names no factory";
  try {
    target_ = GetParam().factory();
  } catch (const Unavailable& unavailable) {
    GTEST_SKIP() << unavailable.what();
  }
  ASSERT_NE(target_.sink, nullptr) << "the factory gave no sink";
  ASSERT_TRUE(target_.deliveredIds) << "the factory gave no way to read the destination back";
}

void NotificationSinkConformance::TearDown() {
  if (target_.sink) target_.sink->close();
  target_ = {};
}

namespace {

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(NotificationSinkConformance);

::testing::AssertionResult isStatus(int status) {
  if (status == 0 || (status >= 200 && status < 300)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "write() returned " << status << " for a delivered batch";
}

std::vector<Event> batch(const std::string& prefix, int count) {
  std::vector<Event> events;
  for (int i = 0; i < count; ++i) events.push_back(sampleEvent(prefix + "-" + std::to_string(i), i));
  return events;
}

std::vector<std::string> idsOf(const std::vector<Event>& events) {
  std::vector<std::string> ids;
  for (const auto& event : events) ids.push_back(event.id);
  return ids;
}

TEST_P(NotificationSinkConformance, DeliversEventsInOrderWithTheirIds) {
  std::vector<std::string> expected;
  // Ids are opaque: the sink passes on any text unchanged.
  for (const std::string id : {"1b4e28ba-2fa1-11d2-883f-0016d3cca427", "second", "with \"quotes\" and \\",
                               "unicode \xc3\xa9\xe2\x82\xac", "x"}) {
    EXPECT_TRUE(
        isStatus(target_.sink->write(context_, {sampleEvent(id, static_cast<int>(expected.size()))})));
    expected.push_back(id);
  }
  EXPECT_EQ(target_.deliveredIds(), expected);
}

TEST_P(NotificationSinkConformance, DeliversBatchesInOrder) {
  std::vector<std::string> expected;
  for (int size : {1, 3, 10, 50}) {
    auto events = batch("batch" + std::to_string(size), size);
    EXPECT_TRUE(isStatus(target_.sink->write(context_, events)));
    auto ids = idsOf(events);
    expected.insert(expected.end(), ids.begin(), ids.end());
  }
  EXPECT_EQ(target_.deliveredIds(), expected);
}

TEST_P(NotificationSinkConformance, AnEmptyBatchIsFine) {
  EXPECT_NO_THROW(target_.sink->write(context_, {}));
  EXPECT_EQ(target_.deliveredIds(), std::vector<std::string>{});
  EXPECT_TRUE(isStatus(target_.sink->write(context_, {sampleEvent("after-empty")})));
  EXPECT_EQ(target_.deliveredIds(), std::vector<std::string>{"after-empty"});
}

TEST_P(NotificationSinkConformance, AFailingDestinationThrowsDeliveryError) {
  if (!GetParam().failingFactory) GTEST_SKIP() << "the target names no failingFactory";
  std::shared_ptr<NotificationSink> failing;
  try {
    failing = GetParam().failingFactory();
  } catch (const Unavailable& unavailable) {
    GTEST_SKIP() << unavailable.what();
  }
  ASSERT_NE(failing, nullptr);
  // Twice: the server retries the same sink.
  for (int attempt = 0; attempt < 2; ++attempt) {
    SCOPED_TRACE(attempt);
    try {
      failing->write(context_, batch("failing", 3));
      ADD_FAILURE() << "write() returned for a destination that fails";
    } catch (const DeliveryError&) {
    } catch (const std::exception& error) {
      ADD_FAILURE() << "a failure other than DeliveryError: " << error.what();
    }
  }
  failing->close();
}

TEST_P(NotificationSinkConformance, BatchesFromSeveralThreadsAllArriveOnce) {
  constexpr int kThreads = 4, kBatches = 25, kPerBatch = 2;
  std::atomic<int> failures{0};
  std::mutex mutex;
  std::string firstFailure;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Context context("notification-sink-conformance-" + std::to_string(t), logger_);
      for (int b = 0; b < kBatches; ++b) {
        try {
          target_.sink->write(context, batch("t" + std::to_string(t) + "-b" + std::to_string(b), kPerBatch));
        } catch (const std::exception& error) {
          if (failures++ == 0) {
            std::lock_guard lock(mutex);
            firstFailure = error.what();
          }
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(failures.load(), 0) << firstFailure;

  std::vector<std::string> delivered = target_.deliveredIds();
  EXPECT_EQ(delivered.size(), static_cast<std::size_t>(kThreads * kBatches * kPerBatch));
  EXPECT_EQ(std::set<std::string>(delivered.begin(), delivered.end()).size(), delivered.size())
      << "an event arrived twice";
  // Each thread's events arrive in the order it wrote them.
  for (int t = 0; t < kThreads; ++t) {
    std::vector<std::string> own, expected;
    const std::string prefix = "t" + std::to_string(t) + "-";
    std::copy_if(delivered.begin(), delivered.end(), std::back_inserter(own),
                 [&](const std::string& id) { return id.rfind(prefix, 0) == 0; });
    for (int b = 0; b < kBatches; ++b)
      for (const auto& id : idsOf(batch(prefix + "b" + std::to_string(b), kPerBatch))) expected.push_back(id);
    EXPECT_EQ(own, expected) << "thread " << t;
  }
}

} // namespace
} // namespace pier::testing
