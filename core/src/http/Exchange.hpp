#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <pier/context.hpp>

#include "config/Config.hpp"
#include "errcode/ErrorCode.hpp"

namespace pier {

// One request and its response: the request's Context, its path below
// http.prefix, and response writers that set the common headers (http.headers)
// and count what was sent for the access log. It knows the http settings and
// nothing else of the server.
class Exchange {
public:
  Exchange(const Config::Http& http, Logger& logger, Poco::Net::HTTPServerRequest& request,
           Poco::Net::HTTPServerResponse& response, std::string requestId);

  Poco::Net::HTTPServerRequest& request() const { return request_; }
  Poco::Net::HTTPServerResponse& response() const { return response_; }
  const Context& context() const { return context_; }
  Context& context() { return context_; }
  const std::string& requestId() const { return context_.requestId(); }
  const std::string& path() const { return path_; }   // the URI's path below http.prefix, not decoded
  const std::string& query() const { return query_; } // the URI's query, without '?'
  // The URL clients are told to use for an API path ("/v2/..."): under
  // http.prefix, and absolute on http.host when that is configured.
  std::string urlFor(std::string_view apiPath) const;

  const std::string& method() const { return request_.getMethod(); }
  // The first value of a query parameter, percent-decoded.
  std::optional<std::string> queryParameter(std::string_view name) const;
  // The request's Content-Length, when it sent one.
  std::optional<std::int64_t> contentLength() const;
  // True when http.prefix is set and the path is not below it.
  bool outsidePrefix() const { return outsidePrefix_; }
  bool isHead() const { return request_.getMethod() == Poco::Net::HTTPRequest::HTTP_HEAD; }

  void send(int status, std::string_view body, std::string_view contentType);
  void sendJson(int status, std::string_view json) { send(status, json, "application/json"); }
  void sendEmpty(int status); // Content-Length: 0
  void sendErrors(const errcode::Errors& errors);

  // For handlers that write the response themselves (e.g. blob streaming):
  // record the status they set and the body bytes they sent.
  void markResponded(int status) { begin(status); }
  void countSent(std::int64_t bytes) { bytesSent_ += bytes; }

  // After the handler: drops what is left of a short request body, or
  // closes the connection after this response when too much is left.
  void finishRequestBody();

  bool responded() const { return responded_; }
  int status() const { return status_; }
  std::int64_t bytesSent() const { return bytesSent_; }

private:
  void begin(int status);

  const Config::Http& http_;
  Poco::Net::HTTPServerRequest& request_;
  Poco::Net::HTTPServerResponse& response_;
  Context context_;
  std::string path_;
  std::string query_;
  bool outsidePrefix_ = false;
  bool responded_ = false;
  int status_ = 0;
  std::int64_t bytesSent_ = 0;
};

} // namespace pier
