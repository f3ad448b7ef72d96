#pragma once

#include <chrono>
#include <istream>
#include <memory>
#include <string>

#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>

#include <pier/storage_driver.hpp>

#include "http/server/Connection.hpp"
#include "http/server/RequestBody.hpp"
#include "http/server/RequestHead.hpp"

namespace pier::http {

// One request as the connection layer hands it to the registry: the parsed
// head (as Poco's message type), the response to fill, the body as a stream,
// and the ways to answer. Responses are queued on the connection; the
// server sends them without holding the worker when the socket would block.
class ServerRequest {
public:
  ServerRequest(Connection& connection, const RequestHead& head, BodyLimits bodyLimits,
                std::chrono::milliseconds sendTimeout);

  Poco::Net::HTTPRequest& request() { return request_; }
  const Poco::Net::HTTPRequest& request() const { return request_; }
  Poco::Net::HTTPResponse& response() { return response_; }
  const std::string& clientAddress() const { return connection_.peer; }
  std::istream& body() { return bodyStream_; }
  RequestBody& bodyReader() { return body_; }
  bool isHead() const { return isHead_; }

  // The response's head (with Content-Length as set) and body; a HEAD request gets no body.
  void send(std::string_view body);
  // The head, then length bytes of the reader from its position: with
  // sendfile from the event loop when the reader has a file descriptor.
  void sendFile(std::unique_ptr<FileReader> reader, std::int64_t length);
  bool responded() const { return responded_; }

private:
  void queueHead();

  Connection& connection_;
  Poco::Net::HTTPRequest request_;
  Poco::Net::HTTPResponse response_;
  RequestBody body_;
  std::istream bodyStream_;
  std::chrono::milliseconds sendTimeout_;
  bool isHead_;
  bool responded_ = false;
};

// Writes all of data, waiting up to timeout for each bit of progress; throws
// Poco::Net::NetException when the client is gone or stalls.
void writeWithDeadline(Connection& connection, const char* data, std::size_t size,
                       std::chrono::milliseconds timeout);

} // namespace pier::http
