#include "http/server/RequestBody.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace pier::http {

RequestBody::RequestBody(Connection& connection, std::optional<std::int64_t> contentLength, bool chunked,
                         bool sendContinue, BodyLimits limits)
    : connection_(connection), contentLength_(contentLength), chunked_(chunked), sendContinue_(sendContinue),
      limits_(limits), left_(chunked ? 0 : contentLength.value_or(0)),
      windowStart_(std::chrono::steady_clock::now()) {
  done_ = !hasBody();
  setg(buffer_, buffer_, buffer_);
}

void RequestBody::fail(Failure failure, const char* what) {
  failure_ = failure;
  throw std::runtime_error(what);
}

std::size_t RequestBody::readRaw(char* out, std::size_t size) {
  using Clock = std::chrono::steady_clock;
  while (true) {
    ssize_t got = receiveSome(connection_, out, size);
    if (got > 0) {
      windowBytes_ += got;
      return static_cast<std::size_t>(got);
    }
    if (got == 0) fail(Failure::disconnected, "the client closed the connection during the body");
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) fail(Failure::disconnected, std::strerror(errno));
    if (sendContinue_) {
      // The client waits for this before it sends the body.
      static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      (void)sendSome(connection_, kContinue, sizeof kContinue - 1);
      sendContinue_ = false;
    }
    // Each window must bring minRate bytes per second; a wait never outlasts the window.
    auto windowEnd = windowStart_ + limits_.window;
    auto now = Clock::now();
    if (now >= windowEnd) {
      auto seconds = std::chrono::duration<double>(limits_.window).count();
      if (static_cast<double>(windowBytes_) < static_cast<double>(limits_.minRate) * seconds)
        fail(Failure::timedOut, "the request body arrived more slowly than the minimum rate");
      windowStart_ = now;
      windowBytes_ = 0;
      windowEnd = now + limits_.window;
    }
    pollfd wait{connection_.fd, waitEvents(connection_, POLLIN), 0};
    int timeout =
        static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(windowEnd - now).count()) + 1;
    if (::poll(&wait, 1, timeout) < 0 && errno != EINTR) fail(Failure::disconnected, std::strerror(errno));
  }
}

std::size_t RequestBody::read(char* out, std::size_t size) {
  if (done_ || failure_ != Failure::none || size == 0) return 0;
  std::string& input = connection_.input;
  if (!chunked_) {
    std::size_t want =
        static_cast<std::size_t>(std::min<std::int64_t>(left_, static_cast<std::int64_t>(size)));
    std::size_t got;
    if (!input.empty()) {
      got = std::min(want, input.size());
      std::memcpy(out, input.data(), got);
      input.erase(0, got);
    } else {
      got = readRaw(out, want);
    }
    left_ -= static_cast<std::int64_t>(got);
    bytesRead_ += static_cast<std::int64_t>(got);
    done_ = left_ == 0;
    return got;
  }
  // Chunked: wire bytes go through the connection's input, so that what
  // follows the body (a pipelined request) stays there.
  while (true) {
    if (!input.empty()) {
      ChunkedDecoder::Result result;
      try {
        result = decoder_.decode(input.data(), input.size(), out, size);
      } catch (const ChunkedError& e) {
        fail(Failure::malformed, e.what());
      }
      input.erase(0, result.consumed);
      bytesRead_ += static_cast<std::int64_t>(result.produced);
      if (result.done) done_ = true;
      if (result.produced > 0 || done_) return result.produced;
    }
    char wire[16 * 1024];
    std::size_t got = readRaw(wire, sizeof wire);
    input.append(wire, got);
  }
}

RequestBody::int_type RequestBody::underflow() {
  if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
  std::size_t got = read(buffer_, sizeof buffer_);
  if (got == 0) return traits_type::eof();
  setg(buffer_, buffer_, buffer_ + got);
  return traits_type::to_int_type(*gptr());
}

std::streamsize RequestBody::xsgetn(char* out, std::streamsize size) {
  std::streamsize total = 0;
  // What underflow buffered first, then straight into the caller's buffer.
  if (gptr() < egptr()) {
    std::streamsize buffered = std::min<std::streamsize>(egptr() - gptr(), size);
    std::memcpy(out, gptr(), static_cast<std::size_t>(buffered));
    gbump(static_cast<int>(buffered));
    total = buffered;
  }
  while (total < size) {
    std::size_t got = read(out + total, static_cast<std::size_t>(size - total));
    if (got == 0) break;
    total += static_cast<std::streamsize>(got);
  }
  return total;
}

bool RequestBody::drainable() const {
  return done_ || (failure_ == Failure::none && !chunked_ && !sendContinue_ && left_ <= kDrainLimit);
}

bool RequestBody::drain() {
  if (done_) return true;
  if (!drainable()) return false;
  setg(buffer_, buffer_, buffer_);
  try {
    while (!done_) read(buffer_, sizeof buffer_);
  } catch (const std::exception&) {
    return false;
  }
  return done_;
}

} // namespace pier::http
