#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "pier/context.hpp"

namespace pier {

// A registry event, as in Distribution's notifications package.
struct Event {
  std::string id;
  std::chrono::system_clock::time_point timestamp;
  std::string action; // "push", "pull", "mount", "delete"
  struct Target {
    std::string mediaType;
    std::int64_t size = 0;
    std::string digest;
    std::string repository;
    std::string url;
    std::string tag;
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
