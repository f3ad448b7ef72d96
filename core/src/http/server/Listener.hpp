#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include <sys/resource.h>

namespace pier::http {

// Splits "host:port", ":port" or "[v6]:port" into host and port; throws ConfigError naming `key`.
std::pair<std::string, std::uint16_t> parseListenAddress(const std::string& addr,
                                                         const std::string& key = "http.addr");

// A non-blocking listening socket on `addr`, its host and the port it got
// (for ":0"); throws ConfigError naming `key` when it cannot listen.
struct Listener {
  int fd = -1;
  std::string host;
  std::uint16_t port = 0;
};
Listener openListener(const std::string& addr, int backlog, const std::string& key = "http.addr");

// Raises the process's open file limit to its hard limit; returns the limit now in force.
rlim_t raiseOpenFileLimit();

} // namespace pier::http
