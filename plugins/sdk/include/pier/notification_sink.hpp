#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <Poco/JSON/Object.h>

#include "pier/blob_descriptor_cache.hpp"
#include "pier/context.hpp"
#include "pier/errors.hpp"

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

// A delivery that did not succeed; status is the receiver's answer (an HTTP
// status) when there was one, 0 when it never answered.
class PIER_SDK_API DeliveryError : public Error {
public:
  explicit DeliveryError(const std::string& what, int status = 0) : Error(what), status_(status) {}
  int status() const noexcept { return status_; }

private:
  int status_;
};

// Receives batches of events, in order, from the server's delivery thread for
// its endpoint (never from a request, never two batches at once). The server
// keeps every event on disk until write() returns, so a sink gets retries
// with backoff and durability across restarts without writing either.
class PIER_SDK_API NotificationSink {
public:
  virtual ~NotificationSink() = default;
  // Delivers the batch or throws (DeliveryError, or any exception: a
  // failure, retried). Returning means delivered, whatever the number: it is
  // the receiver's status (e.g. 200) or 0 when it has none, for the figures.
  virtual int write(const Context& context, const std::vector<Event>& events) = 0;
  virtual void close() {}
};

} // namespace pier
