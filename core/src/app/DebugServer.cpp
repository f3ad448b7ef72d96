#include "app/DebugServer.hpp"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/URI.h>

#include "http/server/Listener.hpp"
#include "pier/errors.hpp"

namespace pier {

namespace {

using Poco::Net::HTTPResponse;
using Pages = DebugServer::Pages;

class PageHandler final : public Poco::Net::HTTPRequestHandler {
public:
  PageHandler(const Pages& pages, LineLogger& logger) : pages_(pages), logger_(logger) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    std::string body;
    std::string contentType = "application/json"; // of the error answers
    std::string path = Poco::URI(request.getURI()).getPath();
    auto page = pages_.find(path);
    if (page == pages_.end()) {
      response.setStatus(HTTPResponse::HTTP_NOT_FOUND);
      body = "{\"error\":\"not found\"}";
    } else if (request.getMethod() != "GET" && request.getMethod() != "HEAD") {
      response.setStatus(HTTPResponse::HTTP_METHOD_NOT_ALLOWED);
      response.set("Allow", "GET, HEAD");
      body = "{\"error\":\"method not allowed\"}";
    } else {
      try {
        body = page->second.page();
        contentType = page->second.contentType;
      } catch (const std::exception& e) {
        logger_.write(LogLevel::error, "debug page failed", {{"path", path}, {"error", e.what()}});
        response.setStatus(HTTPResponse::HTTP_INTERNAL_SERVER_ERROR);
        body = "{\"error\":\"internal error\"}";
      }
    }
    response.setContentType(contentType);
    response.setContentLength(static_cast<std::streamsize>(body.size()));
    if (request.getMethod() == "HEAD") {
      response.send();
      return;
    }
    response.send() << body;
  }

private:
  const Pages& pages_;
  LineLogger& logger_;
};

class PageFactory final : public Poco::Net::HTTPRequestHandlerFactory {
public:
  PageFactory(const Pages& pages, LineLogger& logger) : pages_(pages), logger_(logger) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new PageHandler(pages_, logger_);
  }

private:
  const Pages& pages_;
  LineLogger& logger_;
};

} // namespace

DebugServer::DebugServer(const std::string& addr, LineLogger& logger) : logger_(logger) {
  auto [host, port] = http::parseListenAddress(addr, "http.debug.addr");
  Poco::Net::ServerSocket socket;
  try {
    socket.bind(Poco::Net::SocketAddress(host, port), true);
    socket.listen(64);
  } catch (const Poco::Exception& e) {
    throw ConfigError("http.debug.addr: cannot listen on " + addr + ": " + e.displayText());
  }
  address_ = host + ":" + std::to_string(socket.address().port());
  Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(2);
  params->setMaxQueued(16);
  params->setTimeout(Poco::Timespan(10, 0));
  server_ = std::make_unique<Poco::Net::HTTPServer>(new PageFactory(pages_, logger_), socket, params);
}

DebugServer::~DebugServer() {
  stop();
}

void DebugServer::addPage(const std::string& path, Page page, std::string contentType) {
  pages_[path] = PageEntry{std::move(page), std::move(contentType)};
}

void DebugServer::start() {
  server_->start();
  logger_.write(LogLevel::info, "debug listening", {{"addr", address_}});
}

void DebugServer::stop() {
  if (server_) server_->stopAll(true);
}

std::string DebugServer::address() const {
  return address_;
}

} // namespace pier
