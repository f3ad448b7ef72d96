#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <sys/types.h>

#include <pier/storage_driver.hpp>

#include "http/server/Tls.hpp"

namespace pier::http {

// One client connection. Owned by one worker at a time: the one that took its
// event from epoll (EPOLLONESHOT), until it arms the connection again. The
// timer thread only reads `armed` and `deadline` and may shut the socket down.
struct Connection {
  int fd = -1;
  std::unique_ptr<TlsSession> tls; // on a TLS listener; destroyed before fd is closed
  std::string peer;                // "ip:port", for logs and events
  std::string peerHost;            // "ip", the key of the per-client limit

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
  bool lingerOnClose = false; // the client may still be sending a request that was answered unread
  bool lingering = false;     // answered and shut down for writing; what arrives is dropped until lingerUntil
  std::int64_t lingerUntil = 0;
  std::int64_t lingered = 0;    // bytes dropped while lingering
  bool requestInFlight = false; // counted in the server's in-flight requests

  std::atomic<bool> armed{false};        // waiting in epoll: the timer may expire it
  std::atomic<bool> armedToSend{false};  // armed with a response still going out (stop() spares it)
  std::atomic<std::int64_t> deadline{0}; // steady-clock milliseconds; 0 for none

  bool sending() const { return outputSent < output.size() || fileLeft > 0; }
};

// The connection's socket I/O, through TLS when it has it, with the
// contract of recv and send: bytes, 0 when the peer closed, or -1 with errno
// (EAGAIN: wait for the poll events waitEvents names, POLLIN or POLLOUT,
// which under TLS may be the other direction).
ssize_t receiveSome(Connection& connection, char* out, std::size_t size);
ssize_t sendSome(Connection& connection, const char* data, std::size_t size);
short waitEvents(const Connection& connection, short wanted);

// Reads and drops up to max bytes of what has arrived, straight from the socket (a lingering close);
// the bytes dropped, or -1 when the peer closed or the socket failed.
long long dropArrived(Connection& connection, std::size_t max);

// Milliseconds on the steady clock, the unit of Connection::deadline.
std::int64_t steadyMilliseconds();

} // namespace pier::http
