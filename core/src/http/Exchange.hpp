#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>

#include <pier/context.hpp>
#include <pier/storage_driver.hpp>

#include "config/Config.hpp"
#include "errcode/ErrorCode.hpp"
#include "http/server/RequestBody.hpp"

namespace pier {

namespace http {
class ServerRequest;
}

// One request and its response: the request's Context, its path below
// http.prefix, and response writers that set the common headers (http.headers)
// and count what was sent for the access log and the metrics. It knows the http settings and
// the connection layer's request, nothing else of the server.
class Exchange {
public:
  // cancelled: the server's flag that marks the request's Context done (at shutdown).
  Exchange(const Config::Http& http, Logger& logger, http::ServerRequest& serverRequest,
           std::string requestId, std::shared_ptr<const std::atomic<bool>> cancelled);

  const Poco::Net::HTTPRequest& request() const { return request_; }
  Poco::Net::HTTPResponse& response() const { return response_; }
  const Context& context() const { return context_; }
  Context& context() { return context_; }
  const std::string& requestId() const { return context_.requestId(); }
  const std::string& path() const { return path_; }   // the URI's path below http.prefix, not decoded
  const std::string& query() const { return query_; } // the URI's query, without '?'
  // The URL clients are told to use for an API path ("/v2/..."): under
  // http.prefix, and absolute on http.host when that is configured.
  std::string urlFor(std::string_view apiPath) const;

  const std::string& method() const { return request_.getMethod(); }
  const std::string& clientAddress() const; // "ip:port"
  // The request's headers in order, as plugins see them (AuthRequest, RedirectRequest).
  std::vector<std::pair<std::string, std::string>> requestHeaders() const;
  // The first value of a query parameter, percent-decoded.
  std::optional<std::string> queryParameter(std::string_view name) const;
  // The request's Content-Length, when it sent one.
  std::optional<std::int64_t> contentLength() const;
  bool hasBody() const;
  std::istream& body() const;
  // Why the body stopped short, when it did (too slow, malformed, disconnect).
  http::RequestBody::Failure bodyFailure() const;
  // True when http.prefix is set and the path is not below it.
  bool outsidePrefix() const { return outsidePrefix_; }
  bool isHead() const { return request_.getMethod() == Poco::Net::HTTPRequest::HTTP_HEAD; }

  void send(int status, std::string_view body, std::string_view contentType);
  void sendJson(int status, std::string_view json) { send(status, json, "application/json"); }
  void sendEmpty(int status); // Content-Length: 0
  void sendErrors(const errcode::Errors& errors);
  // The headers as set (Content-Length included) without a body: a HEAD answer.
  void sendHeaders(int status);
  // The headers, then length bytes of the reader from its position.
  void sendFile(int status, std::unique_ptr<FileReader> reader, std::int64_t length);

  bool responded() const;
  int status() const { return status_; }
  std::int64_t bytesSent() const { return bytesSent_; }
  std::int64_t bytesReceived() const; // body bytes read so far

private:
  void begin(int status);

  const Config::Http& http_;
  http::ServerRequest& serverRequest_;
  const Poco::Net::HTTPRequest& request_;
  Poco::Net::HTTPResponse& response_;
  Context context_;
  std::string path_;
  std::string query_;
  bool outsidePrefix_ = false;
  int status_ = 0;
  std::int64_t bytesSent_ = 0;
};

} // namespace pier
