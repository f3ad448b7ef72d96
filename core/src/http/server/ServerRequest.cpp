#include "http/server/ServerRequest.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>
#include <sstream>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <Poco/Net/NetException.h>

namespace pier::http {

namespace {

constexpr std::size_t kStreamChunk = 1 << 20;

// The Date header's value, formatted once a second.
std::string httpDate() {
  static std::mutex mutex;
  static std::time_t last = 0;
  static std::string text;
  std::time_t now = std::time(nullptr);
  std::lock_guard lock(mutex);
  if (now != last) {
    std::tm utc{};
    gmtime_r(&now, &utc);
    char buffer[64];
    std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &utc);
    text = buffer;
    last = now;
  }
  return text;
}

} // namespace

void writeWithDeadline(Connection& connection, const char* data, std::size_t size,
                       std::chrono::milliseconds timeout) {
  std::size_t sent = 0;
  while (sent < size) {
    ssize_t n = sendSome(connection, data + sent, size - sent);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
      throw Poco::Net::ConnectionResetException(std::strerror(errno));
    pollfd wait{connection.fd, waitEvents(connection, POLLOUT), 0};
    int ready = ::poll(&wait, 1, static_cast<int>(timeout.count()));
    if (ready == 0) throw Poco::Net::ConnectionResetException("the client stopped reading the response");
    if (ready < 0 && errno != EINTR) throw Poco::Net::ConnectionResetException(std::strerror(errno));
  }
}

ServerRequest::ServerRequest(Connection& connection, const RequestHead& head, BodyLimits bodyLimits,
                             std::chrono::milliseconds sendTimeout)
    : connection_(connection),
      request_(head.method, head.target,
               head.versionMinor == 0 ? Poco::Net::HTTPMessage::HTTP_1_0 : Poco::Net::HTTPMessage::HTTP_1_1),
      body_(connection, head.contentLength, head.chunked, head.expectContinue, bodyLimits),
      bodyStream_(&body_), sendTimeout_(sendTimeout), isHead_(head.method == "HEAD") {
  for (const auto& [name, value] : head.headers) request_.add(name, value);
  response_.setVersion(Poco::Net::HTTPMessage::HTTP_1_1);
  response_.setKeepAlive(head.keepAlive);
}

void ServerRequest::queueHead() {
  responded_ = true;
  response_.set("Date", httpDate());
  response_.set("Server", "pier");
  // Answered before its body was read and too much of it is left: the client is told the connection ends.
  if (!body_.drainable()) response_.setKeepAlive(false);
  if (!response_.getKeepAlive()) connection_.closeWhenSent = true;
  std::ostringstream head;
  response_.write(head);
  connection_.output += head.str();
}

void ServerRequest::send(std::string_view body) {
  queueHead();
  if (!isHead_) connection_.output.append(body.data(), body.size());
}

void ServerRequest::sendFile(std::unique_ptr<FileReader> reader, std::int64_t length) {
  queueHead();
  if (isHead_ || length == 0) return;
  int fileDescriptor = reader->fileDescriptor();
  if (fileDescriptor >= 0) {
    // The event loop sends it (sendfile from the page cache), corked as
    // nginx's tcp_nopush: the head leaves with the first bytes, the rest in full segments.
    off_t position = ::lseek(fileDescriptor, 0, SEEK_CUR);
    connection_.fileOffset = position < 0 ? 0 : position;
    connection_.fileLeft = length;
    connection_.file = std::move(reader);
    int on = 1;
    ::setsockopt(connection_.fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
    connection_.corked = true;
    return;
  }
  // A reader without a descriptor is streamed from this worker.
  writeWithDeadline(connection_, connection_.output.data() + connection_.outputSent,
                    connection_.output.size() - connection_.outputSent, sendTimeout_);
  connection_.output.clear();
  connection_.outputSent = 0;
  std::unique_ptr<char[]> buffer(new char[kStreamChunk]);
  std::int64_t left = length;
  while (left > 0) {
    std::size_t got =
        reader->read(buffer.get(), static_cast<std::size_t>(std::min<std::int64_t>(left, kStreamChunk)));
    if (got == 0) throw std::runtime_error("blob ended before its size");
    writeWithDeadline(connection_, buffer.get(), got, sendTimeout_);
    left -= static_cast<std::int64_t>(got);
  }
}

} // namespace pier::http
