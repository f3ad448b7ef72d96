#include "http/server/Listener.hpp"

#include <cerrno>
#include <cstring>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <Poco/Net/SocketAddress.h>

#include <pier/errors.hpp>

namespace pier::http {

std::pair<std::string, std::uint16_t> parseListenAddress(const std::string& addr, const std::string& key) {
  std::size_t colon = addr.rfind(':');
  if (colon == std::string::npos) throw ConfigError(key + ": \"" + addr + "\" is not host:port");
  std::string host = addr.substr(0, colon);
  std::string port = addr.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) > 65535)
    throw ConfigError(key + ": \"" + addr + "\" has no valid port");
  return {host, static_cast<std::uint16_t>(std::stoi(port))};
}

Listener openListener(const std::string& addr, int backlog, const std::string& key) {
  auto [host, port] = parseListenAddress(addr, key);
  Poco::Net::SocketAddress address;
  try {
    address = Poco::Net::SocketAddress(host, port);
  } catch (const Poco::Exception& e) {
    throw ConfigError(key + ": cannot listen on " + addr + ": " + e.displayText());
  }
  Listener listener;
  listener.host = host;
  listener.fd = ::socket(address.family() == Poco::Net::SocketAddress::IPv6 ? AF_INET6 : AF_INET,
                         SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int on = 1;
  // No SO_REUSEPORT: a second server on the address must fail.
  ::setsockopt(listener.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (listener.fd < 0 || ::bind(listener.fd, address.addr(), address.length()) != 0 ||
      ::listen(listener.fd, backlog) != 0) {
    std::string error = std::strerror(errno);
    if (listener.fd >= 0) ::close(listener.fd);
    throw ConfigError(key + ": cannot listen on " + addr + ": " + error);
  }
  sockaddr_storage bound{};
  socklen_t boundLength = sizeof bound;
  ::getsockname(listener.fd, reinterpret_cast<sockaddr*>(&bound), &boundLength);
  listener.port = Poco::Net::SocketAddress(reinterpret_cast<sockaddr*>(&bound), boundLength).port();
  return listener;
}

rlim_t raiseOpenFileLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised{limit.rlim_max, limit.rlim_max};
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur;
}

} // namespace pier::http
