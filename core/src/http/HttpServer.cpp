#include "http/HttpServer.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <Poco/Net/SocketAddress.h>

#include "app/App.hpp"
#include "http/Dispatcher.hpp"
#include "http/server/Connection.hpp"
#include "http/server/Listener.hpp"
#include "http/server/RequestHead.hpp"
#include "http/server/ServerRequest.hpp"
#include "http/server/Tls.hpp"
#include "util/ThreadHandoff.hpp"

namespace pier {

using http::Connection;

namespace {

// Lingering close: what still comes after an answer to an unread body is
// dropped for at most this long and this many bytes (why: ARCHITECTURE.md).
constexpr std::int64_t kLingerMilliseconds = 5000;
constexpr std::int64_t kLingerMaxBytes = std::int64_t(64) << 20;
constexpr std::size_t kLingerBytesPerWake = 1 << 20; // then the connection goes back to epoll: fair to others
constexpr int kAcceptBatch = 256;
constexpr std::int64_t kSendfileChunk = std::int64_t(1) << 30;
constexpr auto kTimerTick = std::chrono::milliseconds(100);
// After the drain timeout, how long cancelled requests get to send their answer.
constexpr auto kCancelledAnswerTime = std::chrono::seconds(1);
constexpr int kTlsCheckTicks = 10;                // certificate files are looked at once a second
constexpr std::size_t kTlsFileChunk = 256 * 1024; // a file sent through user-space TLS, a piece at a time
constexpr unsigned char kTlsHandshakeRecord = 0x16;

// Markers in epoll's data for the two descriptors that are no connection.
char listenerTag;
char wakeTag;

std::string errorJson(const errcode::Code& code, const std::string& message) {
  return errcode::Errors(errcode::Error{code, message, {}}).toJson();
}

// A complete response for requests that never reach the dispatcher.
std::string cannedResponse(int status, const std::string& reason, const std::string& json,
                           const std::string& extraHeaders) {
  return "HTTP/1.1 " + std::to_string(status) + ' ' + reason +
         "\r\nContent-Type: application/json\r\nDocker-Distribution-API-Version: registry/2.0\r\n" +
         extraHeaders + "Content-Length: " + std::to_string(json.size()) + "\r\nConnection: close\r\n\r\n" +
         json;
}

std::pair<const errcode::Code*, std::string> headErrorCode(int status) {
  switch (status) {
  case 431:
    return {&errcode::HeadersTooLarge, "Request Header Fields Too Large"};
  case 501:
    return {&errcode::NotImplemented, "Not Implemented"};
  case 505:
    return {&errcode::VersionUnsupported, "HTTP Version Not Supported"};
  default:
    return {&errcode::RequestInvalid, "Bad Request"};
  }
}

} // namespace

HttpServer::HttpServer(App& app) : app_(app), limits_(app.config().http.limits) {
  const Config::Http& http = app.config().http;
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  threadCount_ = http.threads > 0 ? http.threads : static_cast<int>(std::max(64u, 16 * cores));
  rlim_t files = http::raiseOpenFileLimit();
  // Descriptors beyond connections: blob files being sent, storage, plugins, logs.
  long long available = std::max<long long>(64, static_cast<long long>(files) - 1024);
  if (limits_.maxConnections <= 0) limits_.maxConnections = available;
  if (limits_.maxConnectionsPerClient <= 0)
    limits_.maxConnectionsPerClient = std::max(1LL, limits_.maxConnections / 2);
  if (limits_.maxUploads <= 0) limits_.maxUploads = std::max(1, threadCount_ / 2);
  if (!http.tls.certificate.empty() || !http.tls.key.empty()) {
    tls_ = std::make_unique<http::TlsContext>(http.tls);
    app.logger().write(LogLevel::info, "tls",
                       {{"certificate", http.tls.certificate},
                        {"minimum", http.tls.minimumTls.empty() ? "tls1.2" : http.tls.minimumTls},
                        {"client_cas", std::to_string(http.tls.clientCAs.size())}});
  }
  app.logger().write(LogLevel::info, "connection limits",
                     {{"open_files", std::to_string(files)},
                      {"max_connections", std::to_string(limits_.maxConnections)},
                      {"max_connections_per_client", std::to_string(limits_.maxConnectionsPerClient)},
                      {"max_uploads", std::to_string(limits_.maxUploads)},
                      {"threads", std::to_string(threadCount_)}});

  http::Listener listener = http::openListener(http.addr, http.queue > 0 ? http.queue : 4096);
  listener_ = listener.fd;
  host_ = listener.host;
  port_ = listener.port;

  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  reserve_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  epoll_event listenEvent{EPOLLIN | EPOLLONESHOT, {.ptr = &listenerTag}};
  epoll_event wakeEvent{EPOLLIN, {.ptr = &wakeTag}}; // level-triggered: every worker sees it
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, listener_, &listenEvent);
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &wakeEvent);
  dispatcher_ = std::make_unique<Dispatcher>(app, host_ + ":" + std::to_string(port_), limits_.maxUploads);
}

HttpServer::~HttpServer() {
  if (!stopping_) stop();
  for (Connection* connection : connections_) {
    connection->tls.reset();
    ::close(connection->fd);
    delete connection;
  }
  if (listener_ >= 0) ::close(listener_);
  ::close(epoll_);
  ::close(wake_);
  if (reserve_ >= 0) ::close(reserve_);
}

void HttpServer::start() {
  for (int i = 0; i < threadCount_; ++i) workers_.emplace_back([this] { workerLoop(); });
  timer_ = std::thread([this] { timerLoop(); });
}

std::string HttpServer::address() const {
  bool v6 = host_.find(':') != std::string::npos;
  return (v6 ? "[" + host_ + "]" : host_) + ":" + std::to_string(port_);
}

void HttpServer::workerLoop() {
  while (true) {
    epoll_event event{};
    int ready;
    {
      // One worker at a time waits in epoll, the others on this lock: with
      // every worker in epoll_wait, each event woke them all (measured: most
      // of the server's CPU in the kernel's epoll locks).
      std::lock_guard lead(pollMutex_);
      ready = ::epoll_wait(epoll_, &event, 1, -1);
    }
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0 || event.data.ptr == &wakeTag) return;
    util::takeOver(event.data.ptr);
    if (event.data.ptr == &listenerTag) {
      acceptConnections();
      continue;
    }
    auto* connection = static_cast<Connection*>(event.data.ptr);
    connection->armed = false;
    if (connection->lingering)
      onLingering(connection);
    else if (connection->tls && !connection->tls->established())
      onHandshake(connection);
    else if (connection->sending())
      onWritable(connection);
    else
      onReadable(connection);
  }
}

void HttpServer::refuse(int fd, const char* why) {
  static const std::string response = cannedResponse(
      503, "Service Unavailable", errorJson(errcode::Unavailable, "too many connections; retry later"),
      "Retry-After: 1\r\n");
  // A TLS client could not read a plain answer before its handshake: it is only closed.
  if (!tls_) (void)::send(fd, response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::close(fd);
  app_.logger().write(LogLevel::warn, "connection refused", {{"reason", why}});
}

void HttpServer::acceptConnections() {
  for (int i = 0; i < kAcceptBatch && accepting_; ++i) {
    sockaddr_storage peer{};
    socklen_t peerLength = sizeof peer;
    int fd =
        ::accept4(listener_, reinterpret_cast<sockaddr*>(&peer), &peerLength, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE) && reserve_ >= 0) {
        // Out of descriptors: take the connection with the spare one to refuse it, not to spin.
        ::close(reserve_);
        int refused = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (refused >= 0) refuse(refused, "out of file descriptors");
        reserve_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      }
      break; // EAGAIN: nothing more to accept
    }
    Poco::Net::SocketAddress address(reinterpret_cast<sockaddr*>(&peer), peerLength);
    std::string peerHost = address.host().toString();
    bool overTotal, overClient;
    {
      std::lock_guard lock(connectionsMutex_);
      overTotal = static_cast<long long>(connections_.size()) >= limits_.maxConnections;
      overClient = !overTotal && perClient_[peerHost] >= limits_.maxConnectionsPerClient;
      if (!overTotal && !overClient)
        ++perClient_[peerHost];
      else if (perClient_[peerHost] == 0)
        perClient_.erase(peerHost);
    }
    if (overTotal || overClient) {
      refuse(fd, overTotal ? "http.maxconnections reached" : "http.maxconnectionsperclient reached");
      continue;
    }
    int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    auto* connection = new Connection;
    connection->fd = fd;
    connection->peer = address.toString();
    connection->peerHost = std::move(peerHost);
    std::int64_t deadline = http::steadyMilliseconds() + limits_.idleTimeout.count();
    if (tls_) {
      SSL* session = tls_->newSession(fd);
      if (session) connection->tls = std::make_unique<http::TlsSession>(session);
      // The handshake is part of the head: it must arrive within the head deadline.
      deadline = http::steadyMilliseconds() + limits_.headTimeout.count();
    }
    {
      std::lock_guard lock(connectionsMutex_);
      connections_.insert(connection);
    }
    if (tls_ && !connection->tls) {
      close(connection);
      continue;
    }
    epoll_event event{EPOLLIN | EPOLLONESHOT | EPOLLRDHUP, {.ptr = connection}};
    connection->deadline = deadline;
    connection->armed = true;
    util::handOff(connection);
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event) != 0) close(connection);
  }
  if (accepting_) {
    epoll_event event{EPOLLIN | EPOLLONESHOT, {.ptr = &listenerTag}};
    util::handOff(&listenerTag);
    ::epoll_ctl(epoll_, EPOLL_CTL_MOD, listener_, &event);
  }
}

void HttpServer::arm(Connection* connection, std::uint32_t events, std::int64_t deadline) {
  // The last touch of this worker: from here on another may own the connection.
  // TLS may need the other direction first (a read that must write, or the reverse).
  if (connection->tls) events = connection->tls->waitEvents();
  connection->deadline = deadline;
  connection->armedToSend = connection->sending();
  connection->armed = true;
  // Half-closed peers matter only to a reader: a writer waiting for room
  // with EPOLLRDHUP set would be woken at once, again and again (seen: a
  // worker spinning after clients that shut down their side mid-download).
  std::uint32_t halfClose = (events & EPOLLIN) ? static_cast<std::uint32_t>(EPOLLRDHUP) : 0u;
  epoll_event event{events | EPOLLONESHOT | halfClose, {.ptr = connection}};
  const int fd = connection->fd; // the connection is not touched after the handoff unless it failed
  util::handOff(connection);
  if (::epoll_ctl(epoll_, EPOLL_CTL_MOD, fd, &event) != 0) {
    connection->armed = false;
    close(connection);
  }
}

void HttpServer::waitToWrite(Connection* connection) {
  arm(connection, EPOLLOUT, http::steadyMilliseconds() + limits_.sendTimeout.count());
}

void HttpServer::close(Connection* connection) {
  if (connection->requestInFlight) --inFlight_;
  {
    std::lock_guard lock(connectionsMutex_);
    connections_.erase(connection);
    auto client = perClient_.find(connection->peerHost);
    if (client != perClient_.end() && --client->second <= 0) perClient_.erase(client);
  }
  connection->tls.reset(); // its close_notify needs the socket
  ::close(connection->fd);
  delete connection;
}

void HttpServer::closeAfterAnswer(Connection* connection) {
  // Closing with unread bytes in the receive buffer makes the kernel send a
  // reset, which can destroy the answer before the client has read it (a
  // client that writes its whole body first never sees it). So: no more
  // writing, read and drop for a bounded time, then close.
  if (!connection->lingerOnClose || stopping_) return close(connection);
  connection->lingerOnClose = false;
  connection->lingering = true;
  connection->tls.reset(); // its close_notify goes out first; what follows is read as raw bytes
  ::shutdown(connection->fd, SHUT_WR);
  connection->lingerUntil = http::steadyMilliseconds() + kLingerMilliseconds;
  arm(connection, EPOLLIN, connection->lingerUntil);
}

void HttpServer::onLingering(Connection* connection) {
  // Ended by the client closing, or by the timer shutting the socket down at lingerUntil.
  long long dropped = http::dropArrived(*connection, kLingerBytesPerWake);
  if (dropped < 0 || (connection->lingered += dropped) > kLingerMaxBytes) return close(connection);
  arm(connection, EPOLLIN, connection->lingerUntil);
}

bool HttpServer::answeredPlainHttp(Connection* connection) {
  unsigned char first = 0;
  ssize_t got = ::recv(connection->fd, &first, 1, MSG_PEEK);
  if (got != 1 || first == kTlsHandshakeRecord || !std::isalpha(first)) return false;
  connection->tls.reset();
  answerMalformed(connection, 400, "this port speaks HTTPS: the client sent plain HTTP");
  return true;
}

void HttpServer::onHandshake(Connection* connection) {
  if (answeredPlainHttp(connection)) return;
  std::string error;
  switch (connection->tls->handshake(error)) {
  case http::TlsSession::Handshake::done:
    // What came with the handshake's last flight is in OpenSSL's buffer, not the socket: read it now.
    return onReadable(connection);
  case http::TlsSession::Handshake::wantRead:
  case http::TlsSession::Handshake::wantWrite:
    return arm(connection, 0, connection->deadline);
  case http::TlsSession::Handshake::failed:
    app_.logger().write(LogLevel::info, "tls handshake failed",
                        {{"error", error}, {"remote", connection->peer}});
    return close(connection);
  }
}

void HttpServer::onReadable(Connection* connection) {
  if (!readAvailable(connection)) return close(connection);
  serveInput(connection);
}

bool HttpServer::readAvailable(Connection* connection) {
  // The head's size bounds what a partial head may hold.
  char buffer[16 * 1024];
  while (true) {
    ssize_t got = http::receiveSome(*connection, buffer, sizeof buffer);
    if (got > 0) {
      connection->input.append(buffer, static_cast<std::size_t>(got));
      if (connection->input.size() > limits_.maxHeadSize + sizeof buffer) break;
      continue;
    }
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    // Closed by the client (or reset, or shut down by the timer): what it
    // sent before a half-close is still answered.
    if (got < 0 || connection->input.empty()) return false;
    connection->closeWhenSent = true;
    break;
  }
  return true;
}

void HttpServer::serveInput(Connection* connection) {
  while (true) {
    if (connection->input.empty()) {
      // A body read through TLS may leave the next request in OpenSSL's buffer, where epoll cannot see it.
      if (connection->tls && connection->tls->hasBuffered() && !connection->closeWhenSent) {
        if (!readAvailable(connection)) return close(connection);
        if (!connection->input.empty()) continue;
      }
      if (connection->closeWhenSent) return closeAfterAnswer(connection);
      return waitForInput(connection);
    }
    http::HeadParse parse = http::parseRequestHead(connection->input, limits_.maxHeadSize);
    if (parse.status == http::HeadStatus::incomplete) {
      if (!connection->headStarted) {
        // The head deadline runs from its first byte.
        connection->headStarted = true;
        return arm(connection, EPOLLIN, http::steadyMilliseconds() + limits_.headTimeout.count());
      }
      return arm(connection, EPOLLIN, connection->deadline);
    }
    if (parse.status == http::HeadStatus::error)
      return answerMalformed(connection, parse.errorStatus, parse.errorMessage);
    connection->input.erase(0, parse.consumed);
    connection->headStarted = false;
    serveRequest(connection, parse.head);
    if (connection->sending()) {
      if (!flush(connection)) return waitToWrite(connection);
    }
    afterResponse(connection);
    if (connection->closeWhenSent) return closeAfterAnswer(connection);
  }
}

void HttpServer::serveRequest(Connection* connection, const http::RequestHead& head) {
  connection->requestInFlight = true;
  ++inFlight_;
  http::ServerRequest request(*connection, head, http::BodyLimits{limits_.bodyTimeout, limits_.minBodyRate},
                              limits_.sendTimeout);
  try {
    dispatcher_->serve(request);
  } catch (...) {
    // The dispatcher answers every std::exception; anything else ends the connection, not the worker.
    connection->closeWhenSent = true;
  }
  // Unanswered, or failed after the head went out (a storage read that broke
  // off): only closing tells the client its body is short of Content-Length.
  if (!request.responded() || !request.response().getKeepAlive()) connection->closeWhenSent = true;
  if (stopping_) connection->closeWhenSent = true;
  // A body left unread would be read as the next request: drop a short one,
  // or close, lingering while the rest of it arrives.
  http::RequestBody& body = request.bodyReader();
  if (!connection->closeWhenSent && !body.drain()) connection->closeWhenSent = true;
  if (connection->closeWhenSent && !body.complete()) connection->lingerOnClose = true;
}

void HttpServer::answerMalformed(Connection* connection, int status, const std::string& message) {
  auto [code, reason] = headErrorCode(status);
  connection->output += cannedResponse(status, reason, errorJson(*code, message), "");
  connection->closeWhenSent = true;
  connection->lingerOnClose = true; // the rest of the request may still be coming
  connection->input.clear();
  app_.logger().write(LogLevel::info, "malformed request",
                      {{"status", std::to_string(status)}, {"error", message}, {"remote", connection->peer}});
  if (!flush(connection)) return waitToWrite(connection);
  closeAfterAnswer(connection);
}

HttpServer::Sent HttpServer::sendOutput(Connection* connection) {
  while (connection->outputSent < connection->output.size()) {
    ssize_t sent = http::sendSome(*connection, connection->output.data() + connection->outputSent,
                                  connection->output.size() - connection->outputSent);
    if (sent > 0) {
      connection->outputSent += static_cast<std::size_t>(sent);
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Sent::blocked;
    return Sent::clientGone;
  }
  connection->output.clear();
  connection->outputSent = 0;
  return Sent::all;
}

bool HttpServer::flush(Connection* connection) {
  auto giveUp = [connection] {
    // The client went away, or the file ended early: the response cannot be completed.
    connection->closeWhenSent = true;
    connection->fileLeft = 0;
    connection->output.clear();
    connection->outputSent = 0;
  };
  while (true) {
    Sent output = sendOutput(connection);
    if (output == Sent::blocked) return false;
    if (output == Sent::clientGone) giveUp();
    if (connection->fileLeft <= 0) break;
    int fileFd = connection->file->fileDescriptor();
    if (connection->tls && !connection->tls->kernelSend()) {
      // TLS in user space: the file is encrypted from the output buffer, a piece at a time.
      std::size_t piece =
          static_cast<std::size_t>(std::min<std::int64_t>(connection->fileLeft, kTlsFileChunk));
      connection->output.resize(piece);
      ssize_t got = ::pread(fileFd, connection->output.data(), piece, connection->fileOffset);
      if (got <= 0) {
        giveUp();
        break;
      }
      connection->output.resize(static_cast<std::size_t>(got));
      connection->fileOffset += got;
      connection->fileLeft -= got;
      continue;
    }
    std::size_t piece = static_cast<std::size_t>(std::min(connection->fileLeft, kSendfileChunk));
    ssize_t sent;
    if (connection->tls) {
      sent = connection->tls->sendFile(fileFd, connection->fileOffset, piece);
      if (sent > 0) connection->fileOffset += sent;
    } else {
      off_t offset = connection->fileOffset;
      sent = ::sendfile(connection->fd, fileFd, &offset, piece);
      if (sent > 0) connection->fileOffset = offset;
    }
    if (sent > 0) {
      connection->fileLeft -= sent;
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
    giveUp();
  }
  connection->file.reset();
  if (connection->corked) {
    int off = 0;
    ::setsockopt(connection->fd, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
    connection->corked = false;
  }
  return true;
}

void HttpServer::afterResponse(Connection* connection) {
  if (connection->requestInFlight) {
    connection->requestInFlight = false;
    --inFlight_;
  }
}

void HttpServer::onWritable(Connection* connection) {
  if (!flush(connection)) return waitToWrite(connection);
  afterResponse(connection);
  if (connection->closeWhenSent) return closeAfterAnswer(connection);
  serveInput(connection);
}

void HttpServer::waitForInput(Connection* connection) {
  if (stopping_) return close(connection);
  arm(connection, EPOLLIN, http::steadyMilliseconds() + limits_.idleTimeout.count());
}

void HttpServer::reloadTls() {
  if (tls_) loadTls(true);
}

void HttpServer::loadTls(bool force) {
  try {
    if (tls_->reload(force))
      app_.logger().write(LogLevel::info, "tls certificate loaded",
                          {{"certificate", app_.config().http.tls.certificate}});
  } catch (const std::exception& e) {
    app_.logger().write(LogLevel::error, "tls certificate not reloaded; the previous one stays",
                        {{"error", e.what()}});
  }
}

void HttpServer::timerLoop() {
  for (int tick = 1; !stopping_; ++tick) {
    std::this_thread::sleep_for(kTimerTick);
    if (tls_ && tick % kTlsCheckTicks == 0) loadTls(false);
    std::int64_t now = http::steadyMilliseconds();
    std::lock_guard lock(connectionsMutex_);
    for (Connection* connection : connections_) {
      std::int64_t deadline = connection->deadline;
      // Shutting the socket down wakes the connection's epoll entry; its worker then closes it.
      if (connection->armed && deadline > 0 && deadline < now) {
        connection->deadline = 0;
        ::shutdown(connection->fd, SHUT_RDWR);
      }
    }
  }
}

void HttpServer::stop() {
  if (stopping_.exchange(true)) return;
  // No new connections; requests in flight may finish within the drain timeout.
  accepting_ = false;
  ::epoll_ctl(epoll_, EPOLL_CTL_DEL, listener_, nullptr);
  // Shut down, not closed: a worker may be inside accept4 on it, and a closed
  // number could be reused by the next open. It is closed once they are joined.
  ::shutdown(listener_, SHUT_RDWR);
  auto deadline = std::chrono::steady_clock::now() + app_.config().http.drainTimeout;
  {
    // Idle connections are not waited for.
    std::lock_guard lock(connectionsMutex_);
    for (Connection* connection : connections_)
      if (connection->armed && !connection->armedToSend) ::shutdown(connection->fd, SHUT_RDWR);
  }
  while (inFlight_.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (inFlight_.load() > 0) {
    // Past the drain timeout: the requests' Contexts say done, and a driver
    // that checks between steps gives up; a moment to send the 503 each ends with.
    dispatcher_->cancelRequests();
    const auto answered = std::chrono::steady_clock::now() + kCancelledAnswerTime;
    while (inFlight_.load() > 0 && std::chrono::steady_clock::now() < answered)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  {
    std::lock_guard lock(connectionsMutex_);
    for (Connection* connection : connections_) ::shutdown(connection->fd, SHUT_RDWR);
  }
  // Workers finish what they hold (a cut body fails at once), then see the wake.
  std::uint64_t one = 1;
  (void)::write(wake_, &one, sizeof one);
  for (auto& worker : workers_) worker.join();
  if (timer_.joinable()) timer_.join();
  workers_.clear();
  ::close(listener_);
  listener_ = -1;
}

} // namespace pier
