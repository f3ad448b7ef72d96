#include "events/EventSink.hpp"

namespace pier {

void LoggingEventSink::publish(const Event& event) {
  if (!logger_.enabled(LogLevel::debug)) return;
  logger_.write(LogLevel::debug, "event",
                {{"action", event.action},
                 {"repository", event.target.repository},
                 {"digest", event.target.digest},
                 {"tag", event.target.tag},
                 {"media_type", event.target.mediaType},
                 {"size", std::to_string(event.target.size)},
                 {"actor", event.actor.name},
                 {"request_id", event.request.id},
                 {"method", event.request.method}});
}

} // namespace pier
