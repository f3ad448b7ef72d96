#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <Poco/Net/HTTPServer.h>
#include <Poco/ThreadPool.h>

namespace pier {

class App;
class Dispatcher;

// The registry's HTTP server: Poco's HTTPServer on the configured address,
// with a thread pool and queue sized from the config and the cores.
class HttpServer {
public:
  explicit HttpServer(App& app);
  ~HttpServer();

  void start();
  // Stops accepting, lets requests in flight finish for up to http.draintimeout, then closes every
  // connection.
  void stop();

  std::string address() const; // the bound host:port, with the real port when 0 was asked for
  std::uint16_t port() const;

private:
  App& app_;
  std::atomic<int> inFlight_{0};
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<Poco::ThreadPool> threads_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  std::string host_;
};

// Splits "host:port", ":port" or "[v6]:port" into host and port; throws ConfigError naming http.addr.
std::pair<std::string, std::uint16_t> parseListenAddress(const std::string& addr);

} // namespace pier
