#include <cerrno>
#include <cstring>
#include <memory>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/StreamSocket.h>

#include "http/Exchange.hpp"
#include "http/Handlers.hpp"
#include "http/RequestParts.hpp"
#include "storage/Repository.hpp"

namespace pier {

namespace {

constexpr std::size_t kStreamBuffer = 1 << 20;
constexpr std::int64_t kSendfileChunk = std::int64_t(1) << 30;

int socketOf(Exchange& exchange) {
  return dynamic_cast<Poco::Net::HTTPServerRequestImpl&>(exchange.request()).socket().impl()->sockfd();
}

// TCP_CORK holds partial segments back, as nginx's tcp_nopush does: the
// headers leave with the first bytes of the body, and a large send goes out
// in full segments, which on loopback is both faster and steadier.
void setCork(int socket, bool on) {
  int value = on ? 1 : 0;
  ::setsockopt(socket, IPPROTO_TCP, TCP_CORK, &value, sizeof value);
}

// Sends length bytes of the file straight from the page cache to the socket,
// without copying them through user space.
void sendFileRegion(int socket, int fileDescriptor, std::int64_t length) {
  off_t* noOffset = nullptr; // the descriptor is positioned at the range's start
  std::int64_t left = length;
  while (left > 0) {
    ssize_t sent = ::sendfile(socket, fileDescriptor, noOffset,
                              static_cast<std::size_t>(std::min<std::int64_t>(left, kSendfileChunk)));
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0)
      throw Poco::Net::NetException(std::string("sendfile stopped: ") +
                                    (sent < 0 ? std::strerror(errno) : "end of file"));
    left -= sent;
  }
}

void streamBlob(Exchange& exchange, FileReader& reader, std::int64_t length) {
  std::ostream& out = exchange.response().send();
  if (exchange.isHead()) return;
  int fileDescriptor = reader.fileDescriptor();
  if (fileDescriptor >= 0) {
    int socket = socketOf(exchange);
    setCork(socket, true);
    out.flush(); // the headers
    sendFileRegion(socket, fileDescriptor, length);
    setCork(socket, false);
    return;
  }
  std::unique_ptr<char[]> buffer(new char[kStreamBuffer]);
  std::int64_t left = length;
  while (left > 0) {
    std::size_t got =
        reader.read(buffer.get(), static_cast<std::size_t>(std::min<std::int64_t>(left, kStreamBuffer)));
    if (got == 0) throw std::runtime_error("blob ended before its size");
    out.write(buffer.get(), static_cast<std::streamsize>(got));
    if (!out) throw Poco::Net::NetException("client connection closed");
    left -= static_cast<std::int64_t>(got);
  }
  out.flush();
}

} // namespace

void getBlob(Exchange& exchange, Repository& repository, const std::string& reference) {
  Digest digest = requireDigest(reference);
  auto descriptor = repository.statBlob(digest);
  if (!descriptor) throw errcode::Exception(errcode::BlobUnknown, "", digest.toString());

  auto& response = exchange.response();
  // '"', not "\"": GCC 12 -Wrestrict misfires at -O3 on "literal" + a temporary string.
  const std::string etag = '"' + digest.toString() + '"';
  response.set("Docker-Content-Digest", digest.toString());
  response.set("ETag", etag);
  response.set("Cache-Control", "max-age=31536000");
  response.set("Accept-Ranges", "bytes");
  if (exchange.request().get("If-None-Match", "") == etag) return exchange.sendEmpty(304);

  if (!exchange.isHead()) {
    if (auto url = repository.blobRedirect(*descriptor, exchange.method())) {
      response.set("Location", *url);
      return exchange.sendEmpty(307);
    }
  }

  const std::int64_t size = descriptor->size;
  ByteRange range{0, size};
  int status = 200;
  if (auto header = exchange.request().get("Range", ""); !header.empty()) {
    auto parsed = parseRangeHeader(header, size);
    if (parsed.unsatisfiable) {
      response.set("Content-Range", "bytes */" + std::to_string(size));
      throw errcode::Exception(errcode::RangeInvalid, "range " + header + " is outside the blob's " +
                                                          std::to_string(size) + " bytes");
    }
    if (parsed.range) {
      range = *parsed.range;
      status = 206;
      response.set("Content-Range", "bytes " + std::to_string(range.start) + "-" +
                                        std::to_string(range.start + range.length - 1) + "/" +
                                        std::to_string(size));
    }
  }
  response.setContentType("application/octet-stream");
  response.setContentLength64(range.length);
  if (exchange.isHead()) {
    exchange.markResponded(status);
    response.send();
    return;
  }
  // Opened before anything is sent: a blob gone since the stat still gets a proper 404.
  auto blob = repository.openBlob(*descriptor, range.start);
  exchange.markResponded(status);
  streamBlob(exchange, *blob.reader, range.length);
  exchange.countSent(range.length);
}

void deleteBlob(Exchange& exchange, Repository& repository, const std::string& reference) {
  repository.deleteBlob(requireDigest(reference));
  exchange.sendEmpty(202);
}

} // namespace pier
