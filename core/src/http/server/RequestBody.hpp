#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <streambuf>

#include "http/server/ChunkedDecoder.hpp"
#include "http/server/Connection.hpp"

namespace pier::http {

// What a body must bring: at least minRate bytes per second over every
// window, else it has timed out (408); the window also bounds each wait.
struct BodyLimits {
  std::chrono::milliseconds window{30000};
  long long minRate = 1024;
};

// The request body as a stream: first what the connection buffered after the
// head, then the socket, waited for with poll; Content-Length or chunked
// framing. Read on the worker that handles the request. A failure (too slow,
// malformed chunk, disconnect) ends the stream with an error; the stream's
// reader sees a bad stream and failure() says why.
class RequestBody final : public std::streambuf {
public:
  enum class Failure { none, timedOut, malformed, disconnected };

  // contentLength: the declared length (none and not chunked: no body).
  // sendContinue: answer "100 Continue" before the first wait for body bytes.
  RequestBody(Connection& connection, std::optional<std::int64_t> contentLength, bool chunked,
              bool sendContinue, BodyLimits limits);

  bool hasBody() const { return chunked_ || (contentLength_ && *contentLength_ > 0); }
  bool complete() const { return done_; }
  Failure failure() const { return failure_; }
  std::int64_t bytesRead() const { return bytesRead_; } // body bytes, without chunked framing
  // An unread body up to this is read and dropped after the answer, keeping the connection.
  static constexpr std::int64_t kDrainLimit = 256 * 1024;
  // False when drain() will not be tried: a longer, chunked, failed or
  // 100-continue body (the client waits to be told to send it) closes the
  // connection after the answer, which then says Connection: close.
  bool drainable() const;
  // Reads and drops the rest of a drainable body; true when the body then ended.
  bool drain();

protected:
  int_type underflow() override;
  std::streamsize xsgetn(char* out, std::streamsize size) override;

private:
  std::size_t read(char* out, std::size_t size);    // body bytes; 0 at the end
  std::size_t readRaw(char* out, std::size_t size); // wire bytes; waits; throws on failure
  [[noreturn]] void fail(Failure failure, const char* what);

  Connection& connection_;
  std::optional<std::int64_t> contentLength_;
  bool chunked_;
  bool sendContinue_;
  BodyLimits limits_;
  std::int64_t left_ = 0; // Content-Length bytes still to come
  std::int64_t bytesRead_ = 0;
  ChunkedDecoder decoder_;
  std::string raw_; // wire bytes the chunked decoder has not used
  bool done_ = false;
  Failure failure_ = Failure::none;
  std::chrono::steady_clock::time_point windowStart_;
  long long windowBytes_ = 0;
  char buffer_[16 * 1024];
};

} // namespace pier::http
