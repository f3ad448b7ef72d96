#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <Poco/JSON/Object.h>

#include "pier/blob_descriptor_cache.hpp"
#include "pier/context.hpp"

namespace pier {

// A registry event, as in Distribution's notifications package. Fields that
// later SDK versions add arrive in `extensions` first (serialized as they
// are), so that a new field does not break the ABI of plugins built before it.
struct Event {
  std::string id; // the same id on every delivery of this event
  std::chrono::system_clock::time_point timestamp;
  std::string action; // "push", "pull", "mount", "delete"
  struct Target {
    std::string mediaType;
    std::int64_t size = 0;
    std::int64_t length = 0; // as size (Distribution sends both)
    std::string digest;
    std::string repository;
    std::string fromRepository; // a mount's source
    std::string url;
    std::string tag;
    std::vector<Descriptor> references; // a manifest's config, layers or children (events.includereferences)
  } target;
  struct Request {
    std::string id;
    std::string addr;
    std::string host;
    std::string method;
    std::string userAgent;
  } request;
  struct Actor {
    std::string name;
  } actor;
  struct Source {
    std::string addr;
    std::string instanceId;
  } source;
  Poco::JSON::Object::Ptr extensions; // null or further members of the event's JSON
};

// Receives batches of events off the request path. write() may block and may
// throw; the server retries with backoff and never loses a request to it.
class PIER_SDK_API NotificationSink {
public:
  virtual ~NotificationSink() = default;
  virtual void write(const Context& context, const std::vector<Event>& events) = 0;
  virtual void close() {}
};

} // namespace pier
