#pragma once

// The notification sink conformance suite: what every pier::NotificationSink
// must do. Events arrive in order with their ids intact, one at a time and in
// batches; an empty batch is fine; a destination that fails makes write()
// throw pier::DeliveryError, no other type; batches written from several
// threads at once all arrive, each once.
//
// Retries are not the sink's: the server keeps every event in its durable
// queue until write() returns and retries with backoff (core's Notifier and
// DurableQueue, not part of the SDK), so this suite only asks that a failure
// is reported as a DeliveryError.
//
//   pier::testing::NotificationSinkTarget target;
//   target.name = "mysink";
//   target.factory = [] {
//     auto destination = std::make_shared<MyDestination>();   // empty
//     return pier::testing::SinkUnderTest{makeSink(*destination),
//                                         [destination] { return destination->eventIds(); }};
//   };
//   target.failingFactory = [] { return makeSinkToAClosedDestination(); };  // optional
//   PIER_NOTIFICATION_SINK_CONFORMANCE(MyPlugin, target);
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <pier/notification_sink.hpp>

#include "pier/testing/support.hpp"

namespace pier::testing {

// A sink on a fresh, empty destination and how to read that destination back.
struct SinkUnderTest {
  std::shared_ptr<NotificationSink> sink;
  // The ids of the events the destination received, in the order received.
  std::function<std::vector<std::string>()> deliveredIds;
};

struct NotificationSinkTarget {
  std::string name; // names the test instances
  std::function<SinkUnderTest()> factory;
  // Optional: a sink whose destination fails (refuses, is full, answers 5xx).
  std::function<std::shared_ptr<NotificationSink>()> failingFactory;
};

void PrintTo(const NotificationSinkTarget& target, std::ostream* out);

// An event with every field set, under the id.
Event sampleEvent(const std::string& id, int n = 0);

class NotificationSinkConformance : public ::testing::TestWithParam<NotificationSinkTarget> {
protected:
  void SetUp() override;
  void TearDown() override;

  TestLogger logger_;
  Context context_{"notification-sink-conformance", logger_};
  SinkUnderTest target_;
};

namespace detail {
int notificationSinkConformanceAnchor();
} // namespace detail

} // namespace pier::testing

// Runs the suite on each target: PIER_NOTIFICATION_SINK_CONFORMANCE(Prefix, target...).
// gtest pastes the suite's name into identifiers and matches it, as text,
// with the TEST_P of the library: hence the alias of the same name. The
// anchor's call links the object file holding the tests.
#define PIER_NOTIFICATION_SINK_CONFORMANCE(prefix, ...)                                                      \
  using NotificationSinkConformance = ::pier::testing::NotificationSinkConformance;                          \
  INSTANTIATE_TEST_SUITE_P(prefix, NotificationSinkConformance, ::testing::Values(__VA_ARGS__),              \
                           ::pier::testing::ByName());                                                       \
  [[maybe_unused]] static const int pier_notification_sink_conformance_anchor_##prefix =                     \
      ::pier::testing::detail::notificationSinkConformanceAnchor()
