#pragma once

#include <chrono>
#include <memory>
#include <stdexcept>
#include <vector>

#include <Poco/Net/StreamSocket.h>
#include <Poco/Redis/Array.h>
#include <Poco/Redis/RedisStream.h>
#include <Poco/Redis/Type.h>

#include "RedisOptions.hpp"

namespace pier::redis {

// Redis answered a connection's handshake (AUTH, SELECT, CLIENT SETNAME) with an error.
class HandshakeError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// One connection to Redis speaking RESP through Poco::Redis's types and
// streams. It owns its socket (Poco::Redis::Client keeps its own private) so
// that the dial, read and write timeouts all apply, writes never raise
// SIGPIPE, and a connection the server closed while idle can be told apart.
//
// Errors: Poco::TimeoutException when Redis does not answer in time; another
// Poco::Exception or std::ios_base::failure when the connection is lost or the
// reply cannot be read. Either way the connection is no longer usable.
class RedisConnection {
public:
  using Clock = std::chrono::steady_clock;

  // Connects within dialTimeout and authenticates, selects the database and
  // names the client as the options say.
  explicit RedisConnection(const RedisOptions& options);
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;
  ~RedisConnection();

  // Sends the commands in one write and reads one reply per command. A Redis
  // error reply is returned as such: it leaves the connection usable.
  std::vector<Poco::Redis::RedisType::Ptr> roundTrip(const std::vector<Poco::Redis::Array>& commands);

  // True when the connection has input nobody asked for: the server closed it
  // (it restarted, or its idle timeout passed) or the protocol is out of step.
  bool hasUnexpectedInput();

  Clock::time_point createdAt() const { return createdAt_; }

private:
  Poco::Redis::RedisType::Ptr readReply();

  Poco::Net::StreamSocket socket_;
  std::unique_ptr<Poco::Redis::RedisInputStream> input_; // reads from socket_: destroyed first
  Clock::time_point createdAt_;
};

} // namespace pier::redis
