#include "http/HttpServer.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>

#include "app/App.hpp"
#include "http/Dispatcher.hpp"

namespace pier {

namespace {

// Counts the requests in flight, so that shutdown can wait for them (and not for idle connections).
class RegistryRequestHandler final : public Poco::Net::HTTPRequestHandler {
public:
  RegistryRequestHandler(Dispatcher& dispatcher, std::atomic<int>& inFlight)
      : dispatcher_(dispatcher), inFlight_(inFlight) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    ++inFlight_;
    try {
      dispatcher_.serve(request, response);
    } catch (...) {
      --inFlight_;
      throw;
    }
    --inFlight_;
  }

private:
  Dispatcher& dispatcher_;
  std::atomic<int>& inFlight_;
};

class RegistryRequestHandlerFactory final : public Poco::Net::HTTPRequestHandlerFactory {
public:
  RegistryRequestHandlerFactory(Dispatcher& dispatcher, std::atomic<int>& inFlight)
      : dispatcher_(dispatcher), inFlight_(inFlight) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new RegistryRequestHandler(dispatcher_, inFlight_);
  }

private:
  Dispatcher& dispatcher_;
  std::atomic<int>& inFlight_;
};

} // namespace

std::pair<std::string, std::uint16_t> parseListenAddress(const std::string& addr) {
  std::size_t colon = addr.rfind(':');
  if (colon == std::string::npos) throw ConfigError("http.addr: \"" + addr + "\" is not host:port");
  std::string host = addr.substr(0, colon);
  std::string port = addr.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) > 65535)
    throw ConfigError("http.addr: \"" + addr + "\" has no valid port");
  return {host, static_cast<std::uint16_t>(std::stoi(port))};
}

HttpServer::HttpServer(App& app) : app_(app) {
  const Config::Http& http = app.config().http;
  auto [host, port] = parseListenAddress(http.addr);
  host_ = host;
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  // Poco serves a keep-alive connection on one thread, so the pool must hold
  // as many threads as clients keep connections open.
  int threads = http.threads > 0 ? http.threads : static_cast<int>(std::max(128u, 32 * cores));
  int queue = http.queue > 0 ? http.queue : 4 * threads;

  Poco::Net::ServerSocket socket;
  try {
    socket.bind(Poco::Net::SocketAddress(host, port), true,
                false); // no SO_REUSEPORT: a second server must fail
    socket.listen(std::max(64, queue));
  } catch (const Poco::Exception& e) {
    throw ConfigError("http.addr: cannot listen on " + http.addr + ": " + e.displayText());
  }

  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(threads);
  params->setMaxQueued(queue);
  params->setKeepAlive(true);
  params->setKeepAliveTimeout(Poco::Timespan(30, 0));
  params->setTimeout(Poco::Timespan(60, 0));
  params->setServerName("pier");
  // Poco's connection dispatchers wait this long for work before they end, and
  // shutdown joins them: a dispatcher its stop notice missed held exit up to
  // the default 10 s (seen as a killed server in tests under load).
  params->setThreadIdleTime(Poco::Timespan(1, 0));
  threads_ = std::make_unique<Poco::ThreadPool>(2, threads, 60);
  dispatcher_ = std::make_unique<Dispatcher>(app, host + ":" + std::to_string(socket.address().port()));
  server_ = std::make_unique<Poco::Net::HTTPServer>(
      new RegistryRequestHandlerFactory(*dispatcher_, inFlight_), *threads_, socket, params);
}

HttpServer::~HttpServer() {
  if (server_) server_->stopAll(true);
}

void HttpServer::start() {
  server_->start();
}

void HttpServer::stop() {
  // Requests in flight may finish within the drain timeout; idle keep-alive
  // connections are not waited for. Then every connection is shut down.
  server_->stop();
  auto deadline = std::chrono::steady_clock::now() + app_.config().http.drainTimeout;
  while (inFlight_.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  server_->stopAll(true);
}

std::uint16_t HttpServer::port() const {
  return server_->port();
}

std::string HttpServer::address() const {
  bool v6 = host_.find(':') != std::string::npos;
  return (v6 ? "[" + host_ + "]" : host_) + ":" + std::to_string(port());
}

} // namespace pier
