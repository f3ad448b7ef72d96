#include "http/server/Connection.hpp"

#include <chrono>

#include <sys/socket.h>

namespace pier::http {

ssize_t receiveSome(Connection& connection, char* out, std::size_t size) {
  if (connection.tls) return connection.tls->read(out, size);
  return ::recv(connection.fd, out, size, 0);
}

ssize_t sendSome(Connection& connection, const char* data, std::size_t size) {
  if (connection.tls) return connection.tls->write(data, size);
  return ::send(connection.fd, data, size, MSG_NOSIGNAL);
}

short waitEvents(const Connection& connection, short wanted) {
  return connection.tls ? static_cast<short>(connection.tls->waitEvents()) : wanted;
}

std::int64_t steadyMilliseconds() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

} // namespace pier::http
