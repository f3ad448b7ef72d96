// HTTP to one bucket: SigV4-signed requests over a pool of kept-alive Poco
// sessions shared by every thread, with bounded retries of throttling and
// transient failures. Answers that are not retried come back to the caller,
// which knows what a 404 means for its operation.
#pragma once

#include <chrono>
#include <istream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>

#include <pier/context.hpp>

#include "S3Options.hpp"
#include "SigV4.hpp"

namespace pier::s3 {

struct S3Request {
  std::string method;
  std::string key; // the object's key; empty for requests on the bucket
  Parameters query;
  Parameters headers; // besides host, date, payload hash and authorization
  std::string_view body;
  bool unsignedPayload = false; // sign UNSIGNED-PAYLOAD instead of hashing the body
};

struct S3Response {
  int status = 0;
  std::map<std::string, std::string> headers; // lower-cased names
  std::string body;

  std::string header(const std::string& lowerName) const {
    auto it = headers.find(lowerName);
    return it != headers.end() ? it->second : std::string();
  }
};

class SessionPool;

// A response whose body is read as it arrives. Its connection goes back to the
// pool when the body was read to its end, and is closed otherwise.
class S3Stream {
public:
  S3Stream(std::shared_ptr<SessionPool> pool, std::unique_ptr<Poco::Net::HTTPClientSession> session,
           std::istream& body, S3Response head);
  ~S3Stream();
  S3Stream(const S3Stream&) = delete;
  S3Stream& operator=(const S3Stream&) = delete;

  const S3Response& head() const { return head_; }
  // Reads up to size bytes; 0 at the end. Throws Poco exceptions on a broken connection.
  std::size_t read(char* buffer, std::size_t size);

private:
  std::shared_ptr<SessionPool> pool_;
  std::unique_ptr<Poco::Net::HTTPClientSession> session_;
  std::istream* body_;
  S3Response head_;
  bool ended_ = false;
};

class S3Client {
public:
  explicit S3Client(const S3Options& options);

  // Sends the request and reads the whole answer. Retries 5xx, 429 and
  // connection failures with exponential backoff; when they persist, throws
  // StorageUnavailableError.
  S3Response send(const Context& context, const S3Request& request);
  // As send, but a successful answer's body stays to be read from the stream;
  // any other answer is read whole into head().body.
  std::unique_ptr<S3Stream> open(const Context& context, const S3Request& request);

  // A presigned URL for method on the key, valid for `expires`.
  std::string presignedURL(const std::string& method, const std::string& key,
                           std::chrono::seconds expires) const;

  // Throws the StorageError that an unexpected answer to `what` deserves.
  [[noreturn]] void fail(const S3Response& response, const std::string& what) const;

  const S3Options& options() const { return options_; }

private:
  template <class Result, class Attempt>
  Result withRetries(const Context& context, const S3Request& request, Attempt attempt);
  std::string requestPath(const std::string& key) const;
  std::string hostHeader() const;
  std::unique_ptr<Poco::Net::HTTPClientSession> newSession() const;

  S3Options options_;
  SigV4Signer signer_;
  Poco::Net::Context::Ptr tls_;
  std::shared_ptr<SessionPool> pool_;
};

} // namespace pier::s3
