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
// GET pages for operators, /debug/notifications (JSON) and the Prometheus
// metrics (http.debug.prometheus.path). Poco's HTTPServer with two threads:
// the port sees a request now and then, so it stays apart from the main
// server's event loop, whose workers and limits are tuned for the registry's traffic.
class DebugServer {
public:
  // Answers a GET with a document of the page's content type.
  using Page = std::function<std::string()>;
  struct PageEntry {
    Page page;
    std::string contentType;
  };
  using Pages = std::map<std::string, PageEntry>; // by path

  // Binds the address; throws ConfigError naming http.debug.addr.
  DebugServer(const std::string& addr, LineLogger& logger);
  ~DebugServer();
  DebugServer(const DebugServer&) = delete;
  DebugServer& operator=(const DebugServer&) = delete;

  void addPage(const std::string& path, Page page,
               std::string contentType = "application/json"); // before start()
  void start();
  void stop();
  std::string address() const; // host:port as bound

private:
  LineLogger& logger_;
  Pages pages_;
  std::string address_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

} // namespace pier
