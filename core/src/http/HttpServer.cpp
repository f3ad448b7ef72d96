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
#include "http/Exchange.hpp"
#include "http/Router.hpp"
#include "util/Uuid.hpp"

namespace pier {

namespace {

class RegistryRequestHandler final : public Poco::Net::HTTPRequestHandler {
public:
  explicit RegistryRequestHandler(App& app) : app_(app) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    auto started = std::chrono::steady_clock::now();
    Exchange exchange(app_, request, response, newUuid());
    try {
      route(exchange);
    } catch (const errcode::Exception& e) {
      respondWithError(exchange, e.errors(), e.what());
    } catch (const CancelledError& e) {
      respondWithError(exchange, errcode::Error{errcode::Unavailable, e.what(), {}}, e.what());
    } catch (const Poco::Net::NetException& e) {
      // The client went away or the connection broke: nothing can be sent.
      // Clients abort downloads all the time; this is no server trouble.
      app_.logger().write(LogLevel::info, "connection closed",
                          {{"error", e.displayText()}, {"request_id", exchange.requestId()}});
    } catch (const std::exception& e) {
      app_.logger().write(LogLevel::error, "request failed",
                          {{"error", e.what()}, {"request_id", exchange.requestId()}});
      respondWithError(exchange, errcode::Error{errcode::Unknown, "internal error", exchange.requestId()},
                       e.what());
    }
    if (exchange.responded()) exchange.finishRequestBody();
    if (!app_.config().log.accessLogDisabled) {
      auto micros =
          std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started)
              .count();
      char duration[32];
      std::snprintf(duration, sizeof duration, "%.3f", static_cast<double>(micros) / 1000.0);
      app_.logger().write(LogLevel::info, "request",
                          {{"method", request.getMethod()},
                           {"path", exchange.path()},
                           {"status", std::to_string(exchange.status())},
                           {"bytes", std::to_string(exchange.bytesSent())},
                           {"duration_ms", duration},
                           {"request_id", exchange.requestId()},
                           {"remote", request.clientAddress().toString()}});
    }
  }

private:
  void respondWithError(Exchange& exchange, const errcode::Errors& errors, const std::string& what) {
    if (exchange.responded()) {
      // Headers are out: the body cannot change any more; close the connection.
      app_.logger().write(LogLevel::warn, "error after the response started",
                          {{"error", what}, {"request_id", exchange.requestId()}});
      exchange.response().setKeepAlive(false);
      return;
    }
    try {
      exchange.sendErrors(errors);
    } catch (const std::exception& e) {
      app_.logger().write(LogLevel::warn, "cannot send error response",
                          {{"error", e.what()}, {"request_id", exchange.requestId()}});
    }
  }

  App& app_;
};

class RegistryRequestHandlerFactory final : public Poco::Net::HTTPRequestHandlerFactory {
public:
  explicit RegistryRequestHandlerFactory(App& app) : app_(app) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new RegistryRequestHandler(app_);
  }

private:
  App& app_;
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
  threads_ = std::make_unique<Poco::ThreadPool>(2, threads, 60);
  server_ = std::make_unique<Poco::Net::HTTPServer>(new RegistryRequestHandlerFactory(app), *threads_, socket,
                                                    params);
}

HttpServer::~HttpServer() {
  if (server_) server_->stopAll(true);
}

void HttpServer::start() {
  server_->start();
}

void HttpServer::stop() {
  server_->stop();
  auto drain = app_.config().http.drainTimeout;
  auto deadline = std::chrono::steady_clock::now() + drain;
  while (server_->currentConnections() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
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
