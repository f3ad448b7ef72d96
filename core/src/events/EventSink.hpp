#pragma once

#include <pier/notification_sink.hpp>

#include "app/LineLogger.hpp"

namespace pier {

// Where the registry's events go once produced. The notifications issue
// puts the broadcaster to the configured sink plugins behind this; until
// then the server logs each event at debug level and delivers it nowhere.
class EventSink {
public:
  virtual ~EventSink() = default;
  // Must not block the request: queue and return.
  virtual void publish(const Event& event) = 0;
};

class LoggingEventSink final : public EventSink {
public:
  explicit LoggingEventSink(LineLogger& logger) : logger_(logger) {}
  void publish(const Event& event) override;

private:
  LineLogger& logger_;
};

} // namespace pier
