#include "http/Exchange.hpp"

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include "http/server/ServerRequest.hpp"

namespace pier {

namespace {

// http.prefix as "/a/b" (a leading slash, no trailing one), or "" for none.
std::string pathPrefix(const Config::Http& http) {
  std::string prefix = http.prefix;
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (!prefix.empty() && prefix.front() != '/') prefix.insert(prefix.begin(), '/');
  return prefix;
}

} // namespace

Exchange::Exchange(const Config::Http& http, Logger& logger, http::ServerRequest& serverRequest,
                   std::string requestId, std::shared_ptr<const std::atomic<bool>> cancelled)
    : http_(http), serverRequest_(serverRequest), request_(serverRequest.request()),
      response_(serverRequest.response()),
      context_(std::move(requestId), logger, Context::Clock::time_point::max(), std::move(cancelled)) {
  std::string_view uri = request_.getURI();
  // HTTP/1.1 servers take the absolute form too: "GET http://host/v2/ HTTP/1.1".
  for (std::string_view scheme : {"http://", "https://"}) {
    if (uri.substr(0, scheme.size()) == scheme) {
      std::size_t slash = uri.find('/', scheme.size());
      uri = slash == std::string_view::npos ? std::string_view("/") : uri.substr(slash);
      break;
    }
  }
  std::size_t question = uri.find('?');
  path_ = std::string(uri.substr(0, question));
  if (question != std::string_view::npos) query_ = std::string(uri.substr(question + 1));
  // Under http.prefix the API lives at <prefix>/v2/...; other paths find no
  // API endpoint.
  const std::string base = pathPrefix(http);
  if (!base.empty()) {
    if (path_.size() > base.size() && path_.compare(0, base.size(), base) == 0 && path_[base.size()] == '/')
      path_.erase(0, base.size());
    else
      outsidePrefix_ = true;
  }

  response_.set("Docker-Distribution-API-Version", "registry/2.0");
  for (const auto& [name, values] : http.headers) {
    for (const auto& value : values) response_.add(name, value);
  }
}

std::string Exchange::urlFor(std::string_view apiPath) const {
  std::string url = http_.relativeUrls ? std::string() : http_.host;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url + pathPrefix(http_) + std::string(apiPath);
}

std::optional<std::string> Exchange::queryParameter(std::string_view name) const {
  std::string_view query = query_;
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    std::size_t equals = pair.find('=');
    std::string key, value;
    try {
      Poco::URI::decode(std::string(pair.substr(0, equals)), key, true);
      if (key == name) {
        if (equals != std::string_view::npos)
          Poco::URI::decode(std::string(pair.substr(equals + 1)), value, true);
        return value;
      }
    } catch (const Poco::SyntaxException&) {
      // A pair with a malformed escape is dropped, as Go's query parser does.
    }
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  return std::nullopt;
}

std::optional<std::int64_t> Exchange::contentLength() const {
  if (!request_.hasContentLength()) return std::nullopt;
  return request_.getContentLength64();
}

std::vector<std::pair<std::string, std::string>> Exchange::requestHeaders() const {
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& [name, value] : request_) headers.emplace_back(name, value);
  return headers;
}

const std::string& Exchange::clientAddress() const {
  return serverRequest_.clientAddress();
}

bool Exchange::hasBody() const {
  return serverRequest_.bodyReader().hasBody();
}

std::istream& Exchange::body() const {
  return serverRequest_.body();
}

http::RequestBody::Failure Exchange::bodyFailure() const {
  return serverRequest_.bodyReader().failure();
}

std::int64_t Exchange::bytesReceived() const {
  return serverRequest_.bodyReader().bytesRead();
}

bool Exchange::responded() const {
  return serverRequest_.responded();
}

void Exchange::begin(int status) {
  status_ = status;
  response_.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
}

void Exchange::send(int status, std::string_view body, std::string_view contentType) {
  begin(status);
  response_.setContentType(std::string(contentType));
  response_.setContentLength64(static_cast<Poco::Int64>(body.size()));
  serverRequest_.send(body);
  if (!isHead()) bytesSent_ += static_cast<std::int64_t>(body.size());
}

void Exchange::sendEmpty(int status) {
  begin(status);
  response_.setContentLength64(0);
  serverRequest_.send({});
}

void Exchange::sendHeaders(int status) {
  begin(status);
  serverRequest_.send({});
}

void Exchange::sendFile(int status, std::unique_ptr<FileReader> reader, std::int64_t length) {
  begin(status);
  response_.setContentLength64(length);
  // Counted before the bytes leave: the event loop sends them after the handler.
  if (!isHead()) bytesSent_ += length;
  serverRequest_.sendFile(std::move(reader), length);
}

void Exchange::sendErrors(const errcode::Errors& errors) {
  sendJson(errors.httpStatus(), errors.toJson());
}

} // namespace pier
