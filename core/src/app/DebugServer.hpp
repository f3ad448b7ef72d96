#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "app/LineLogger.hpp"

namespace Poco::Net {
class HTTPServer;
}

namespace pier {

// The debug listener on http.debug.addr (Distribution's debug server): a few
// GET pages of JSON for operators, /debug/notifications first; /metrics and
// /debug/health come with their issues. Poco's HTTPServer with two threads:
// the port sees a request now and then, so it stays apart from the main
// server's event loop, whose workers and limits are tuned for the registry's traffic.
class DebugServer {
public:
  // Answers a GET with a JSON document.
  using Page = std::function<std::string()>;

  // Binds the address; throws ConfigError naming http.debug.addr.
  DebugServer(const std::string& addr, LineLogger& logger);
  ~DebugServer();
  DebugServer(const DebugServer&) = delete;
  DebugServer& operator=(const DebugServer&) = delete;

  void addPage(const std::string& path, Page page); // before start()
  void start();
  void stop();
  std::string address() const; // host:port as bound

private:
  LineLogger& logger_;
  std::map<std::string, Page> pages_;
  std::string address_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

} // namespace pier
