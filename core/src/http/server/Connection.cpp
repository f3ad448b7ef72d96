#include "http/server/Connection.hpp"

#include <cerrno>
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

long long dropArrived(Connection& connection, std::size_t max) {
  char buffer[16 * 1024];
  long long dropped = 0;
  while (static_cast<std::size_t>(dropped) < max) {
    ssize_t got = ::recv(connection.fd, buffer, sizeof buffer, 0);
    if (got > 0) {
      dropped += got;
      continue;
    }
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return -1;
  }
  return dropped;
}

std::int64_t steadyMilliseconds() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

} // namespace pier::http
