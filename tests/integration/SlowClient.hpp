#pragma once

// A client that sends a request body slowly, from its own thread: the head
// at once, then one byte every `interval`, as a trickling (or stalled)
// client does; with an interval of 0, the whole body at once, as a blocking
// client that reads only after it has written everything. For tests of
// locks, minimum rates, shutdown and raw bytes on the wire.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include <Poco/Net/StreamSocket.h>

#include "PierProcess.hpp"

namespace pier::test {

class SlowRequest {
public:
  // Sends `head` and then body, one byte per interval, from a connection
  // whose source address is sourceHost (another loopback address for
  // per-client limits; the server is always 127.0.0.1).
  SlowRequest(std::uint16_t port, std::string head, std::string body, std::chrono::milliseconds interval,
              const std::string& sourceHost = "127.0.0.1");
  ~SlowRequest();
  SlowRequest(const SlowRequest&) = delete;
  SlowRequest& operator=(const SlowRequest&) = delete;

  // True once every byte of the body is sent.
  bool bodySent() const { return bodySent_.load(); }
  // True once a send failed: the server closed (or reset) the connection before the body was out.
  bool sendFailed() const { return sendFailed_.load(); }
  // Waits (at most limit) for the response head; status 0 when none came.
  HttpResponse response(std::chrono::milliseconds limit);
  // Shuts down the sending side (a half-close); the connection still reads.
  void shutdownSend() { socket_.shutdownSend(); }
  // Everything the server sends until it closes the connection (at most limit).
  std::string readUntilClosed(std::chrono::milliseconds limit);
  // Waits (at most limit) until the server closes the connection; true when it did.
  bool closedByServer(std::chrono::milliseconds limit);
  // Whether the last read ended because the server closed (or reset) the connection.
  bool closed() const { return closed_; }

private:
  // Receives until enough(bytes so far), the server closes, or limit.
  std::string receive(std::chrono::milliseconds limit, const std::function<bool(const std::string&)>& enough);

  Poco::Net::StreamSocket socket_;
  bool closed_ = false; // the last receive ended because the server closed or reset
  std::string body_;
  std::chrono::milliseconds interval_;
  std::atomic<bool> bodySent_{false};
  std::atomic<bool> sendFailed_{false};
  std::atomic<bool> stop_{false};
  std::thread sender_;
};

// "PATCH <target> HTTP/1.1" with a Content-Length of length and an octet-stream body.
std::string patchHead(const std::string& target, std::size_t length);

// The number of threads of a process (/proc/<pid>/status).
int threadCount(int pid);
// The CPU seconds (user + system) a process has used (/proc/<pid>/stat).
double cpuSeconds(int pid);

} // namespace pier::test
