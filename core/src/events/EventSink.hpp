#pragma once

#include <string>

#include <pier/notification_sink.hpp>

#include "app/LineLogger.hpp"

namespace pier {

// Where the registry's events go once produced: the Notifier (the
// broadcaster to the configured endpoints) or, without endpoints, the log.
class EventSink {
public:
  virtual ~EventSink() = default;
  // Must not block the request on a receiver: queue and return.
  virtual void publish(const Event& event) = 0;
  // Why writes (pushes, mounts, deletes) must be refused now, "" when they may
  // go on: a full queue whose policy is to refuse rather than lose events.
  virtual std::string writeRefusal() const { return {}; }
};

class LoggingEventSink final : public EventSink {
public:
  explicit LoggingEventSink(LineLogger& logger) : logger_(logger) {}
  void publish(const Event& event) override;

private:
  LineLogger& logger_;
};

} // namespace pier
