#pragma once

// A real HTTP receiver of notifications on 127.0.0.1, for the webhook sink's
// tests and the end-to-end notification tests: it records every request
// (method, target, headers, body, the client's address), answers a chosen
// status, can hold requests unanswered, and can be stopped and started again
// on the same port. With a certificate it speaks HTTPS.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <Poco/JSON/Object.h>

#include "TestPki.hpp"

namespace Poco {
class ThreadPool;
namespace Net {
class HTTPServer;
class HTTPServerRequest;
class HTTPServerResponse;
} // namespace Net
} // namespace Poco

namespace pier::test {

struct ReceivedRequest {
  std::string method;
  std::string target; // path and query, as sent
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string peer; // the client's address and port: one per connection
  int answered = 0; // the status it was answered, 0 while held or when never answered

  // The first value of a header (names compared without case), "" if absent.
  std::string header(const std::string& name) const;
  std::vector<std::string> headerValues(const std::string& name) const;
  // The events of a {"events": [...]} body; empty when the body is not one.
  std::vector<Poco::JSON::Object::Ptr> events() const;
};

class EventReceiver {
public:
  EventReceiver();                        // plain HTTP
  explicit EventReceiver(Credential tls); // HTTPS with this certificate and key
  ~EventReceiver();
  EventReceiver(const EventReceiver&) = delete;
  EventReceiver& operator=(const EventReceiver&) = delete;

  // Listens on an ephemeral port the first time, on the same port after stop().
  void start();
  // Stops listening and closes every connection; held requests are released
  // without an answer.
  void stop();
  bool running() const;

  std::uint16_t port() const;
  // http(s)://127.0.0.1:<port><path>
  std::string url(const std::string& path = "/events") const;

  // Every request so far, in arrival order (held ones included), as copies.
  std::vector<ReceivedRequest> requests() const;
  // The events of the requests answered 2xx, in arrival order: what a sender
  // may count as delivered.
  std::vector<Poco::JSON::Object::Ptr> acceptedEvents() const;
  // Waits until at least count events were accepted (true) or limit passed (false).
  bool waitForEvents(std::size_t count, std::chrono::milliseconds limit) const;
  // Waits until at least count requests arrived (answered or held).
  bool waitForRequests(std::size_t count, std::chrono::milliseconds limit) const;
  void clear();

  // The status of every answer from now on (default 200).
  void setStatus(int status);
  // While silent, requests are recorded and held unanswered until silence
  // ends (they are then answered) or the receiver stops.
  void setSilent(bool silent);

private:
  class Handler;
  class HandlerFactory;
  void handle(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response);

  std::optional<Credential> tls_;
  std::uint16_t port_ = 0;
  std::unique_ptr<Poco::ThreadPool> threads_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<std::pair<std::uint64_t, ReceivedRequest>>
      requests_; // with a serial: clear() may run while one is held
  std::uint64_t nextSerial_ = 0;
  int status_ = 200;
  bool silent_ = false;
  bool stopping_ = false;
};

} // namespace pier::test
