#include "RedisConnection.hpp"

#include <sys/socket.h>

#include <Poco/Net/NetException.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Redis/Command.h>
#include <Poco/Redis/Error.h>
#include <Poco/Redis/Exception.h>
#include <Poco/Timespan.h>

namespace pier::redis {

namespace {

Poco::Timespan timespan(std::chrono::milliseconds duration) {
  return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(duration.count()) * 1000);
}

} // namespace

RedisConnection::RedisConnection(const RedisOptions& options) : createdAt_(Clock::now()) {
  socket_.connect(Poco::Net::SocketAddress(options.host, options.port), timespan(options.dialTimeout));
  socket_.setNoDelay(true);
  socket_.setSendTimeout(timespan(options.writeTimeout));
  socket_.setReceiveTimeout(timespan(options.readTimeout));
  input_ = std::make_unique<Poco::Redis::RedisInputStream>(socket_);
  // Make every short read throw instead of leaving a half-read reply: the
  // stream rethrows the socket's own exception (e.g. a TimeoutException).
  input_->exceptions(std::ios::badbit | std::ios::failbit | std::ios::eofbit);

  std::vector<Poco::Redis::Array> handshake;
  if (!options.password.empty()) {
    Poco::Redis::Command auth("AUTH");
    if (!options.username.empty()) auth << options.username;
    auth << options.password;
    handshake.push_back(auth);
  }
  if (options.db != 0) {
    Poco::Redis::Command select("SELECT");
    select << std::to_string(options.db);
    handshake.push_back(select);
  }
  if (!options.clientName.empty()) {
    Poco::Redis::Command setName("CLIENT");
    setName << "SETNAME" << options.clientName;
    handshake.push_back(setName);
  }
  if (handshake.empty()) return;
  for (const auto& reply : roundTrip(handshake)) {
    if (reply->isError())
      throw HandshakeError(
          static_cast<const Poco::Redis::Type<Poco::Redis::Error>&>(*reply).value().getMessage());
  }
}

RedisConnection::~RedisConnection() {
  input_.reset();
  try {
    socket_.close();
  } catch (...) {
    // Closing a socket that is already gone is not worth reporting.
  }
}

std::vector<Poco::Redis::RedisType::Ptr>
RedisConnection::roundTrip(const std::vector<Poco::Redis::Array>& commands) {
  std::string payload;
  for (const auto& command : commands) payload += command.toString();
  const char* data = payload.data();
  std::size_t remaining = payload.size();
  while (remaining > 0) {
    int chunk = static_cast<int>(std::min<std::size_t>(remaining, 1 << 20));
    // MSG_NOSIGNAL: a server that went away is an error here, not a SIGPIPE.
    int sent = socket_.sendBytes(data, chunk, MSG_NOSIGNAL);
    if (sent <= 0) throw Poco::Net::ConnectionResetException("redis connection closed while writing");
    data += sent;
    remaining -= static_cast<std::size_t>(sent);
  }
  std::vector<Poco::Redis::RedisType::Ptr> replies;
  replies.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) replies.push_back(readReply());
  return replies;
}

Poco::Redis::RedisType::Ptr RedisConnection::readReply() {
  int marker = input_->get();
  Poco::Redis::RedisType::Ptr reply = Poco::Redis::RedisType::createRedisType(static_cast<char>(marker));
  if (reply.isNull()) throw Poco::Redis::RedisException("unexpected reply from redis");
  reply->read(*input_);
  return reply;
}

bool RedisConnection::hasUnexpectedInput() {
  try {
    if (input_->rdbuf()->in_avail() > 0) return true;
    return socket_.poll(Poco::Timespan(0), Poco::Net::Socket::SELECT_READ | Poco::Net::Socket::SELECT_ERROR);
  } catch (...) {
    return true;
  }
}

} // namespace pier::redis
