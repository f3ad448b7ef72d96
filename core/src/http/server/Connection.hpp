#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <pier/storage_driver.hpp>

namespace pier::http {

// One client connection. Owned by one worker at a time: the one that took its
// event from epoll (EPOLLONESHOT), until it arms the connection again. The
// timer thread only reads `armed` and `deadline` and may shut the socket down.
struct Connection {
  int fd = -1;
  std::string peer;     // "ip:port", for logs and events
  std::string peerHost; // "ip", the key of the per-client limit

  std::string input; // received bytes not yet parsed (a partial head, pipelined requests)
  bool headStarted = false;

  // What is left of the response when the socket would block: bytes, then a file region.
  std::string output;
  std::size_t outputSent = 0;
  std::unique_ptr<FileReader> file;
  std::int64_t fileOffset = 0;
  std::int64_t fileLeft = 0;
  bool corked = false;
  bool closeWhenSent = false;
  bool requestInFlight = false; // counted in the server's in-flight requests

  std::atomic<bool> armed{false};        // waiting in epoll: the timer may expire it
  std::atomic<std::int64_t> deadline{0}; // steady-clock milliseconds; 0 for none

  bool sending() const { return outputSent < output.size() || fileLeft > 0; }
};

// Milliseconds on the steady clock, the unit of Connection::deadline.
std::int64_t steadyMilliseconds();

} // namespace pier::http
